"""The report: one Markdown page with every experiment's figures and a "book vs nndl" table.

It is written only from the ``result.json`` files that ``nndl book run`` left behind,
so every number on the page was measured by the command named beside it.  The book's
own figures are not copied (they are the book's); each section links to the place in
the book where its figure is, and shows ours.
"""
from __future__ import annotations

import os
from pathlib import Path

from nndl.errors import NndlError
from nndl.experiments.registry import BOOK, EXPERIMENTS, load_results, write_text

CHAPTERS = {
    1: ("Using neural nets to recognize handwritten digits", f"{BOOK}/chap1.html"),
    2: ("How the backpropagation algorithm works", f"{BOOK}/chap2.html"),
    3: ("Improving the way neural networks learn", f"{BOOK}/chap3.html"),
    4: ("A visual proof that neural nets can compute any function", f"{BOOK}/chap4.html"),
    5: ("Why are deep neural networks hard to train?", f"{BOOK}/chap5.html"),
    6: ("Deep learning", f"{BOOK}/chap6.html"),
    7: ("Course notes: recurrent networks", "https://www.deeplearningbook.org/contents/rnn.html"),
}


def fmt(value, unit: str = "") -> str:
    """A table cell: numbers trimmed, lists joined, None as a dash, the unit appended to numbers."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:.4g}" if abs(value) < 1e-3 and value != 0 else f"{value:,.4f}".rstrip("0").rstrip(".")
    elif isinstance(value, int):
        text = f"{value:,}" if abs(value) >= 10000 else str(value)
    elif isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value) + (f" {unit}" if unit and unit != "%" else unit)
    else:
        return _cell(str(value))
    if unit == "%":
        return text + "%"
    return f"{text} {unit}" if unit else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _seconds(s) -> str:
    if s is None:
        return "—"
    s = float(s)
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.2f} h"


def _link(path: Path, start: Path) -> str:
    return os.path.relpath(path, start).replace(os.sep, "/")


def render(results: list[dict], out: Path) -> str:
    """The Markdown page for ``results`` (as :func:`load_results` returns them), with links relative to ``out``;
    chapter by chapter (an experiment registered later for an earlier chapter goes with its chapter)."""
    results = sorted(results, key=lambda r: r["chapter"])
    env = results[0].get("environment", {})
    quick = [r["name"] for r in results if r.get("quick")]
    total = sum(float(r.get("seconds") or 0) for r in results)
    lines = [
        "# *Neural Networks and Deep Learning*, reproduced with nndl",
        "",
        "Each section below is one experiment of Michael Nielsen's book, run by `nndl book run` and written "
        "into this page by `nndl book report`.  The **book** column quotes the book; the **nndl** column was "
        "measured by the command shown in the section, on the machine named here.  The book's figures are not "
        "copied: each section links to the place in the book where its figure is, and shows ours.",
        "",
        f"Machine: {env.get('platform', '?')}, {env.get('cpus', '?')} CPUs; nndl {env.get('nndl', '?')}, "
        f"NumPy {env.get('numpy', '?')}, Python {env.get('python', '?')}.  "
        f"Experiments: {len(results)}, total wall time {_seconds(total)}.",
        "",
    ]
    if quick:
        lines += [f"> **Quick runs** (reduced data and epochs, not the book's settings): {', '.join(quick)}.  "
                  "Their numbers are not comparable with the book's.", ""]
    missing = [name for name in EXPERIMENTS if name not in {r["name"] for r in results}]
    if missing:
        lines += [f"> Not run yet: {', '.join(missing)}.", ""]

    lines += ["## Book vs nndl", "", "| chapter | experiment | quantity | book | nndl | wall time |",
              "|---|---|---|---|---|---|"]
    for r in results:
        anchor = r["name"]
        rows = r.get("rows") or [{"quantity": "—"}]
        for i, rw in enumerate(rows):
            first = i == 0
            lines.append("| {} | {} | {} | {} | {} | {} |".format(
                r["chapter"] if first else "", f"[{r['name']}](#{anchor})" + (" (quick)" if r.get("quick") else "")
                if first else "", _cell(rw.get("quantity", "")), fmt(rw.get("book"), rw.get("unit", "")),
                fmt(rw.get("nndl"), rw.get("unit", "")), _seconds(r.get("seconds")) if first else ""))
    lines.append("")

    chapter = None
    for r in results:
        if r["chapter"] != chapter:
            chapter = r["chapter"]
            title, url = CHAPTERS.get(chapter, (f"Chapter {chapter}", BOOK))
            lines += [f"## Chapter {chapter}. {title}", "", f"The book: <{url}>", ""]
        lines += _section(r, out)
    return "\n".join(lines).rstrip() + "\n"


def _section(r: dict, out: Path) -> list[str]:
    folder = Path(r["_dir"])
    lines = [f'<a id="{r["name"]}"></a>', "", f"### {r['name']}: {r['title']}", ""]
    if r.get("summary"):
        lines += [f"*What the book shows:* {r['summary']}", ""]
    lines += [f"**The book's figure:** [{r['book_url'].removeprefix(BOOK + '/')}]({r['book_url']}) "
              "(not copied here) · **ours:**", ""]
    for fig in r.get("figures", []):
        lines += [f"![{r['name']}: {fig}]({_link(folder / fig, out)})", ""]
    lines += ["| quantity | book | nndl |", "|---|---|---|"]
    for rw in r.get("rows", []):
        note = f" ({_cell(rw['note'])})" if rw.get("note") else ""
        lines.append(f"| {_cell(rw['quantity'])}{note} | {fmt(rw.get('book'), rw.get('unit', ''))} | "
                     f"{fmt(rw.get('nndl'), rw.get('unit', ''))} |")
    lines.append("")
    mode = "quick run (reduced settings)" if r.get("quick") else "full run (the book's settings)"
    lines += [f"Measured by `{r.get('command', '?')}`: {mode}, wall time {_seconds(r.get('seconds'))}, "
              f"finished {r.get('finished', '?')}.  Numbers: [result.json]({_link(folder / 'result.json', out)}).", ""]
    settings = r.get("settings") or {}
    if settings:
        lines += ["<details><summary>Settings</summary>", ""]
        lines += [f"- {key}: {_setting(value)}" for key, value in settings.items()]
        lines += ["", "</details>", ""]
    for note in r.get("notes", []):
        lines += [f"*Note:* {note}", ""]
    return lines


def _setting(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_setting(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_setting(v) for v in value) if not any(isinstance(v, (dict, list)) for v in value) \
            else "; ".join(_setting(v) for v in value)
    return str(value)


def write_report(out, results_dir=None, filename: str = "README.md") -> Path:
    """Write ``<out>/<filename>`` from the results in ``results_dir`` (default ``out``); return its path."""
    out = Path(out)
    results_dir = Path(results_dir) if results_dir is not None else out
    results = load_results(results_dir)
    if not results:
        raise NndlError(f"no experiment results in {results_dir}; run `nndl book run all --out {results_dir}` first")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NndlError(f"cannot create the folder {out}: {exc.strerror or exc}") from None
    path = out / filename
    write_text(path, render(results, out))
    return path
