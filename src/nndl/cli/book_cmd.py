"""``nndl book``: the book's experiments — list them, run them, write the report.

    nndl book list                                   # name, chapter, title
    nndl book run overfitting --quick                # runs/book/overfitting/*.png + result.json
    nndl book run all --out docs/book                # every experiment, the book's settings
    nndl book report --out docs/book                 # docs/book/README.md from the result files
"""
from __future__ import annotations

from nndl.cli.common import info, print_json

DEFAULT_OUT = "runs/book"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "book", help="reproduce the book's experiments and figures",
        description="Run the experiments of Nielsen's Neural Networks and Deep Learning, chapter by chapter, "
                    "and compare our numbers with the book's.")
    sub = p.add_subparsers(dest="book_command", metavar="ACTION")
    p.set_defaults(func=lambda args: _usage(p))

    ls = sub.add_parser("list", help="list the experiments by chapter")
    ls.add_argument("--json", action="store_true", help="one JSON object per experiment")
    ls.set_defaults(func=run_list)

    r = sub.add_parser("run", help="run experiments: figures (PNG) and result.json into OUT/NAME/")
    r.add_argument("names", nargs="+", metavar="NAME", help="experiment name(s), or 'all'")
    r.add_argument("--quick", action="store_true", help="a reduced version (small data, few epochs): seconds")
    r.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    r.add_argument("--seed", type=int, default=0, help="seed for weights and shuffling (default 0)")
    r.add_argument("--ch6-results", dest="ch6_results", metavar="DIR",
                   help="conv-ladder: folder of the saved ch6-*.json runs and models (default: the checkout's "
                        "docs/results, whatever the current folder)")
    r.add_argument("--retrain", action="store_true", help="conv-ladder: train the missing ladder runs (hours)")
    r.add_argument("--json", action="store_true", help="print each result as one JSON object")
    r.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    r.set_defaults(func=run_experiments)

    rep = sub.add_parser("report", help="write a Markdown page with every figure and a book-vs-nndl table")
    rep.add_argument("--out", default=DEFAULT_OUT, help=f"where to write the page (default {DEFAULT_OUT})")
    rep.add_argument("--results", help="folder with the experiments' results (default: --out)")
    rep.add_argument("--name", default="README.md", help="file name of the page (default README.md)")
    rep.set_defaults(func=run_report)


def _usage(parser) -> int:
    parser.print_help()
    return 1


def run_list(args) -> int:
    from nndl.experiments import by_chapter

    for chapter, experiments in by_chapter().items():
        if not args.json:
            print(f"Chapter {chapter}")
        for e in experiments:
            if args.json:
                print_json({"name": e.name, "chapter": e.chapter, "title": e.title, "book_url": e.url,
                            "book": e.book, "full_minutes": e.full_minutes})
            else:
                print(f"  {e.name:<22} {e.title}")
    return 0


def run_experiments(args) -> int:
    from nndl.experiments import EXPERIMENTS, get, run_experiment, set_verbose

    names = list(EXPERIMENTS) if any(n.lower() == "all" for n in args.names) else [get(n).name for n in args.names]
    set_verbose(not (args.quiet or args.json))
    for name in names:
        if not (args.quiet or args.json):
            info(f"running {name}{' (quick)' if args.quick else ''} ...")
        result = run_experiment(name, args.out, quick=args.quick, seed=args.seed, results_dir=args.ch6_results,
                                retrain=args.retrain or None)
        if args.json:
            print_json(result)
        else:
            _print_summary(result, args.out)
    return 0


def _print_summary(result: dict, out) -> None:
    from nndl.experiments.report import fmt

    print(f"{result['name']} (chapter {result['chapter']}{', quick' if result['quick'] else ''}): "
          f"{result['seconds']:.1f} s -> {out}/{result['name']}/ ({len(result['figures'])} figures, result.json)")
    for rw in result.get("rows", []):
        unit = rw.get("unit", "")
        print(f"  {rw['quantity']}: book {fmt(rw.get('book'), unit)} | nndl {fmt(rw.get('nndl'), unit)}")
    for note in result.get("notes", []):
        print(f"  note: {note}")


def run_report(args) -> int:
    from nndl.experiments.report import write_report

    path = write_report(args.out, args.results, args.name)
    print(f"wrote {path}")
    return 0
