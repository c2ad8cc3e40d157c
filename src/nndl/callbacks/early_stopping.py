"""Early stopping: keep the weights of the best epoch, stop when the monitored figure stops improving.

After every epoch the monitored figure (``"validation_accuracy"``, ``"validation_cost"``,
``"validation_r2"``, ...: any key of the epoch's record) is compared with the best so
far; "better" is larger for ``mode="max"`` and smaller for ``mode="min"`` (by default:
min for costs and errors, max otherwise).  With ``patience = n`` training stops after n
epochs without improvement (the book's "no improvement in n epochs");
``patience=None`` never stops but still keeps the best.  ``restore_best`` puts the
best epoch's weights (and batch-norm averages) back when training ends.
"""
from __future__ import annotations

from nndl import validation
from nndl.callbacks.base import Callback
from nndl.errors import NndlError

#: Figures that are better when smaller (the default ``mode`` is "min" for names ending so).
_SMALLER_IS_BETTER = ("cost", "mse", "mae", "loss", "error")


def default_mode(monitor: str) -> str:
    """``"min"`` for costs and errors, ``"max"`` for accuracies, R² and the like."""
    return "min" if monitor.endswith(_SMALLER_IS_BETTER) else "max"


class EarlyStopping(Callback):
    """Track the best epoch by ``monitor``; stop after ``patience`` epochs without improvement."""

    def __init__(self, monitor: str = "validation_accuracy", mode: str | None = None, patience: int | None = None,
                 restore_best: bool = True):
        if not isinstance(monitor, str) or not monitor:
            raise NndlError(f"early stopping needs the name of a figure to monitor, got {monitor!r}")
        self.monitor = monitor
        self.mode = default_mode(monitor) if mode is None else validation.choice("early stopping mode", mode,
                                                                                    ("max", "min"))
        self.patience = None if patience is None else validation.whole("early stopping patience", patience, low=1)
        self.restore_best = validation.boolean("restore_best", restore_best)
        self.best, self.best_epoch, self.waited, self.best_state = None, None, 0, None

    def on_train_begin(self):
        self.trainer.check_figure(self.monitor, "early stopping")

    def improved(self, value) -> bool:
        return self.best is None or (value > self.best if self.mode == "max" else value < self.best)

    def on_epoch_end(self, epoch, record):
        value = record.get(self.monitor)
        if value is None:
            raise NndlError(f"early stopping monitors {self.monitor!r}, which epoch {epoch} did not measure")
        if self.improved(value):
            # One statement: a Ctrl-C (nndl train saves the best epoch then) cannot fall between
            # the new best epoch and its weights.
            state = self.model.network.get_state() if self.restore_best else None
            self.best, self.best_epoch, self.waited, self.best_state = value, epoch, 0, state
        else:
            self.waited += 1
        if self.patience is not None and self.waited >= self.patience:
            self.trainer.stop(f"no improvement in {self.patience} epochs")

    def on_train_end(self, final):
        if self.restore_best and self.best_state is not None:
            self.model.network.set_state(self.best_state)
        if self.best_epoch is not None:
            final["best_epoch"] = self.best_epoch
            final[f"best_{self.monitor}"] = self.best

    def state(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "waited": self.waited,
                "best_state": list(self.best_state) if self.best_state is not None else None}

    def load_state(self, state):
        self.best, self.best_epoch, self.waited = state["best"], state["best_epoch"], int(state["waited"])
        best = state.get("best_state")
        self.best_state = list(best) if best is not None else None

    def __repr__(self):
        return f"EarlyStopping({self.monitor!r}, mode={self.mode!r}, patience={self.patience})"
