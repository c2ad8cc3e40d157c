"""A study's results: the best trials as a table, figures, and the best trials' saved models.

Figures (matplotlib, through Optuna's plotting functions):

* ``history.png``: each trial's objective and the best so far (the optimization history);
* ``curves.png``: the per-epoch reports of every trial, pruned ones included (where the
  pruner stopped them);
* ``importances.png``: how much each parameter explains of the objective (PED-ANOVA,
  Optuna's importance evaluator that needs no scikit-learn);
* ``pareto.png`` for two objectives: every trial, and the front of those no other beats
  on both.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from nndl.errors import NndlError


def best_trials(study, top: int | None = None) -> list:
    """The complete trials, best first (for two objectives: the Pareto front, by the first objective)."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if len(study.directions) > 1:
        front = {t.number for t in study.best_trials}
        done = [t for t in done if t.number in front]
    maximize = study.directions[0].name == "MAXIMIZE"
    done.sort(key=lambda t: (-t.values[0] if maximize else t.values[0], t.number))
    return done[:top] if top else done


def table(study, top: int = 10) -> str:
    """The best trials, one row each: number, value(s), seconds, parameters, then the study's counts."""
    from nndl.sweep.runner import tally

    rows = best_trials(study, top)
    if not rows:
        return f"{tally(study)}; no complete trial yet"
    names = study.user_attrs.get("nndl:objectives") or [f"value{k}" for k in range(len(study.directions))]
    params = sorted({name for t in rows for name in t.params})
    header = ["trial"] + list(names) + ["seconds", "epoch"] + params
    body = [[str(t.number)] + [_cell(v) for v in t.values] + [_cell(t.user_attrs.get("seconds")),
                                                             str(t.user_attrs.get("best_epoch", ""))] +
            [_cell(t.params.get(p, "")) for p in params] for t in rows]
    widths = [max(len(r[k]) for r in [header] + body) for k in range(len(header))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in [header] + body]
    lines.append(tally(study))
    if rows[0].user_attrs.get("model"):
        lines.append(f"best model: {rows[0].user_attrs['model']}")
    return "\n".join(lines)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_figures(study, folder) -> list[Path]:
    """The figures of the study in ``folder``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as plots

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = study.user_attrs.get("nndl:objectives") or None
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        raise NndlError(f"study {study.study_name} has no complete trial yet: nothing to plot")
    written = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jobs = []
        if len(study.directions) == 1:
            jobs.append(("history.png", lambda: plots.plot_optimization_history(study, target_name=names[0]
                                                                                if names else "Objective Value")))
            jobs.append(("curves.png", lambda: plots.plot_intermediate_values(study)))
            if len(complete) >= 2 and len({p for t in complete for p in t.params}) >= 1:
                jobs.append(("importances.png", lambda: plots.plot_param_importances(
                    study, evaluator=optuna.importance.PedAnovaImportanceEvaluator())))
        else:
            jobs.append(("pareto.png", lambda: plots.plot_pareto_front(study, target_names=names)))
            for k in range(len(study.directions)):
                jobs.append((f"history-{k + 1}.png", lambda k=k: plots.plot_optimization_history(
                    study, target=lambda t: t.values[k], target_name=names[k] if names else f"objective {k + 1}")))
        for filename, plot in jobs:
            try:
                axes = plot()
            except (ValueError, RuntimeError, ZeroDivisionError) as exc:
                from nndl.cli.common import info

                info(f"nndl sweep show: {filename} not drawn: {' '.join(str(exc).split())}")
                continue
            legend = axes.get_legend() if hasattr(axes, "get_legend") else None
            if legend is not None and len(legend.get_texts()) > 12:
                legend.remove()                 # one entry per trial: unreadable past a dozen
            figure = getattr(axes, "figure", None) or axes.flat[0].figure
            figure.set_size_inches(7, 4.5)
            figure.tight_layout()
            path = folder / filename
            figure.savefig(path, dpi=90)
            plt.close(figure)
            written.append(path)
    return written


def top_models(study, top: int) -> list[str]:
    """The saved models of the ``top`` best complete trials (each checked to exist on this machine)."""
    rows = best_trials(study, top)
    if not rows:
        raise NndlError(f"study {study.study_name} has no complete trial: no models to take")
    paths = []
    for t in rows:
        model = t.user_attrs.get("model")
        if not model:
            raise NndlError(f"trial {t.number} of study {study.study_name} kept no model")
        if not Path(model).is_file():
            host = t.user_attrs.get("host", "another machine")
            raise NndlError(f"trial {t.number}'s model {model} is not on this machine (it was trained on {host}); "
                            f"copy it here or run nndl ensemble there")
        paths.append(model)
    if len(paths) < top:
        from nndl.cli.common import info

        info(f"nndl ensemble: study {study.study_name} has {len(paths)} complete trial(s), fewer than --top {top}")
    return paths


def open_existing(name: str, storage_url, sweep_dir):
    """The study ``name`` of a finished or running sweep (its journal must exist already)."""
    from nndl.sweep.runner import quiet_optuna
    from nndl.sweep.storage import DEFAULT_JOURNAL, is_database, load_study, open_storage

    quiet_optuna()
    journal = Path(storage_url or Path(sweep_dir) / DEFAULT_JOURNAL)
    if not is_database(storage_url) and not journal.exists():
        raise NndlError(f"no sweep journal at {journal}; give --sweep-dir or --storage")
    return load_study(open_storage(storage_url, sweep_dir), name, storage_url)


def study_models(name: str, top: int, storage_url=None, sweep_dir="sweeps") -> list[str]:
    """The models of the ``top`` best trials of study ``name``, for ``nndl ensemble --from-study``."""
    if top < 1:
        raise NndlError(f"--top must be at least 1, got {top}")
    return top_models(open_existing(name, storage_url, sweep_dir), top)
