"""The book's experiments, chapter by chapter: run them, compare with the book, write a report.

>>> from nndl.experiments import EXPERIMENTS, run_experiment
>>> result = run_experiment("universality-1d", "runs/book", quick=True)
>>> result["rows"][0]
{'quantity': '5 bumps: max error on [0, 1]', 'book': 'shrinks as N grows', 'nndl': ..., 'unit': ''}

Each experiment writes ``<out>/<name>/*.png`` and ``<out>/<name>/result.json``;
:func:`nndl.experiments.report.write_report` turns a folder of them into one
Markdown page.  ``quick=True`` runs a reduced version (a few thousand images, a few
epochs) in seconds; the full version uses the book's settings.  The command line
is ``nndl book list | run | report``.
"""
from nndl.experiments.registry import (EXPERIMENTS, Experiment, by_chapter, experiment, get, load_results, row,
                                       run_experiment, set_verbose)

# Importing the chapters registers their experiments, in this order.
from nndl.experiments import ch1, ch2, ch3, ch4, ch5, ch6  # noqa: E402,F401  isort: skip
from nndl.experiments import adaptive_gains  # noqa: E402,F401  isort: skip
from nndl.experiments import notes_recurrent  # noqa: E402,F401  isort: skip

__all__ = ["EXPERIMENTS", "Experiment", "by_chapter", "experiment", "get", "load_results", "row", "run_experiment",
           "set_verbose"]
