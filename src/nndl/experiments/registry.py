"""The registry of the book's experiments, and running one of them.

An experiment is a function ``run(out_dir: Path, quick: bool, seed: int) -> dict``
registered with :func:`experiment`: its name, chapter, title, the section of the book
it reproduces and the book's reference numbers.  It writes its figures (PNG) into
``out_dir`` and returns its numbers:

``settings``  what was run (sizes, epochs, η, λ, ...), full or quick;
``book``      the book's numbers, as registered (copied in by :func:`run_experiment`);
``nndl``      ours, measured by this run;
``rows``      the "book vs nndl" table: dicts made by :func:`row`;
``figures``   the PNG file names written into ``out_dir``;
``notes``     sentences a reader needs (what differs from the book, what was skipped).

:func:`run_experiment` times the call and adds the experiment's identity, the command
that reproduces it, the machine and the wall time, then writes it all to
``out_dir/result.json`` — so every number of the report comes from the run that wrote it.
"""
from __future__ import annotations

import inspect
import json
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from nndl.errors import NndlError
from nndl.files import atomic_write

BOOK = "http://neuralnetworksanddeeplearning.com"
RESULT_FILE = "result.json"
#: BLAS threads while an experiment runs (the Trainer still picks its own for big conv products).
BLAS_THREADS = 1


@dataclass
class Experiment:
    """One registered experiment."""

    name: str
    chapter: int
    title: str
    func: object
    url: str                       # the book's section with the figure or numbers
    book: dict = field(default_factory=dict)
    summary: str = ""              # what the experiment shows, one sentence
    full_minutes: float = 0.0      # rough wall time of the full run on a 2-core laptop

    def options(self) -> set[str]:
        """Keyword options the function takes beyond (out_dir, quick, seed)."""
        params = inspect.signature(self.func).parameters
        return {name for name in params if name not in ("out_dir", "quick", "seed")}


#: name -> Experiment, in registration order (chapter by chapter).
EXPERIMENTS: dict[str, Experiment] = {}


def experiment(name: str, chapter: int, title: str, url: str, book: dict | None = None, summary: str = "",
               full_minutes: float = 0.0):
    """Decorator: register ``run(out_dir, quick, seed) -> dict`` under ``name``."""
    def register(func):
        if name in EXPERIMENTS:
            raise ValueError(f"experiment {name!r} registered twice")
        EXPERIMENTS[name] = Experiment(name, int(chapter), title, func, url if url.startswith("http") else
                                       f"{BOOK}/{url}", dict(book or {}), summary, float(full_minutes))
        return func
    return register


def get(name: str) -> Experiment:
    """The experiment called ``name``; a one-line error listing them all otherwise."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in EXPERIMENTS:
        raise NndlError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)} (or 'all')")
    return EXPERIMENTS[key]


def by_chapter() -> dict[int, list[Experiment]]:
    chapters: dict[int, list[Experiment]] = {}
    for e in EXPERIMENTS.values():
        chapters.setdefault(e.chapter, []).append(e)
    return dict(sorted(chapters.items()))


def row(quantity: str, book=None, nndl=None, unit: str = "", note: str | None = None) -> dict:
    """One line of a "book vs nndl" table.  ``book``/``nndl`` are numbers, text, or None (not given)."""
    r = {"quantity": quantity, "book": _plain(book), "nndl": _plain(nndl), "unit": unit}
    if note:
        r["note"] = note
    return r


# -- running ------------------------------------------------------------------------------------
def environment() -> dict:
    import numpy

    from nndl import __version__
    from nndl.backend import BACKEND, usable_cores

    return {"nndl": __version__, "numpy": numpy.__version__, "python": platform.python_version(),
            "platform": platform.platform(terse=True), "machine": platform.machine(),
            "cpus": usable_cores(), "backend": BACKEND, "blas_threads": BLAS_THREADS}


#: Experiment options whose command-line flag is not simply --option-name.
CLI_FLAGS = {"results_dir": "--ch6-results"}


def command_line(name: str, quick: bool, seed: int, out, options: dict) -> str:
    parts = ["nndl", "book", "run", name]
    if quick:
        parts.append("--quick")
    parts += ["--seed", str(seed), "--out", str(out)]
    for key, value in sorted(options.items()):
        flag = CLI_FLAGS.get(key, "--" + key.replace("_", "-"))
        if value is True:
            parts.append(flag)
        elif value not in (None, False):
            parts += [flag, str(value)]
    return " ".join(parts)


def run_experiment(name: str, out, quick: bool = False, seed: int = 0, **options) -> dict:
    """Run one experiment into ``<out>/<name>/``; write and return its result (see the module docstring).

    ``options`` are passed on to experiments that take them (e.g. ``results_dir`` and
    ``retrain`` for the chapter 6 ladder) and ignored by the others.
    """
    exp = get(name)
    out = Path(out)
    folder = out / exp.name
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NndlError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None
    _remove_previous_figures(folder)
    accepted = exp.options()
    used = {k: v for k, v in options.items() if k in accepted and v is not None}
    from nndl.backend import blas_threads

    started = time.perf_counter()
    with blas_threads(BLAS_THREADS):   # small products: one thread is fastest, and steady (the Trainer may raise it)
        result = exp.func(folder, bool(quick), int(seed), **used)
    seconds = time.perf_counter() - started
    figures = list(result.get("figures", []))
    for fig in figures:
        path = folder / fig
        if not path.is_file() or path.stat().st_size == 0:
            raise NndlError(f"experiment {exp.name} listed the figure {fig} but did not write it")
    full = {
        "name": exp.name, "chapter": exp.chapter, "title": exp.title, "book_url": exp.url,
        "summary": exp.summary, "quick": bool(quick), "seed": int(seed),
        "settings": result.get("settings", {}),
        "book": {**exp.book, **result.get("book", {})},
        "nndl": result.get("nndl", {}),
        "rows": result.get("rows", []),
        "figures": figures,
        "notes": list(result.get("notes", [])),
        "seconds": round(seconds, 3),
        "command": command_line(exp.name, quick, seed, out, used),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "environment": environment(),
    }
    for key, value in result.items():
        full.setdefault(key, value)
    write_json(folder / RESULT_FILE, full)
    return json.loads(json.dumps(full, default=_json_default))


def _remove_previous_figures(folder: Path) -> None:
    """Delete the figures an earlier run of this experiment listed, so none go stale."""
    try:
        previous = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for fig in previous.get("figures", []) if isinstance(previous, dict) else []:
        if isinstance(fig, str) and "/" not in fig and fig.endswith(".png"):
            (folder / fig).unlink(missing_ok=True)


# -- results ------------------------------------------------------------------------------------
def load_results(folder) -> list[dict]:
    """Every ``<folder>/<name>/result.json`` of a registered experiment, in registry order.

    Each result gets ``_dir``, the folder it was read from (for relative figure links).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NndlError(f"no results folder {folder}; run `nndl book run all --out {folder}` first")
    results = []
    for name in EXPERIMENTS:
        path = folder / name / RESULT_FILE
        if not path.is_file():
            continue
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise NndlError(f"{path}: not a readable result ({exc})") from None
        if not isinstance(result, dict) or result.get("name") != name:
            raise NndlError(f"{path}: not the result of experiment {name}")
        result["_dir"] = str(path.parent)
        results.append(result)
    return results


def write_json(path, obj) -> Path:
    """Write ``obj`` as indented JSON, atomically (temporary file, then rename)."""
    path = Path(path)
    text = json.dumps(_plain(obj), indent=1, default=_json_default, allow_nan=False, ensure_ascii=False)
    write_text(path, text + "\n")
    return path


def write_text(path, text: str) -> Path:
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def _plain(value):
    """numpy scalars and arrays as plain Python; NaN/inf as None (JSON has no NaN)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _json_default(o):
    if hasattr(o, "item") and getattr(o, "ndim", 0) == 0:
        v = o.item()
        return _plain(v)
    if hasattr(o, "tolist"):
        return _plain(o.tolist())
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON-serializable: {type(o).__name__}")


_verbose = False


def set_verbose(on: bool) -> None:
    """Print progress lines of long runs on stderr (the command line switches this on)."""
    global _verbose
    _verbose = bool(on)


def log(message: str) -> None:
    """A progress line on stderr, when :func:`set_verbose` is on."""
    if _verbose:
        print(message, file=sys.stderr, flush=True)
