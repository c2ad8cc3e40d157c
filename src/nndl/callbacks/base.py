"""What a callback is: code the trainer runs at fixed moments of training.

The hooks, in the order they run (each does nothing unless a callback overrides it):

``on_train_begin()``                 before the first epoch of a ``fit``
``on_epoch_begin(epoch)``            ``epoch`` = 1, 2, ... the epoch about to run
``on_batch_begin(step)``             ``step`` = 0, 1, ... within the epoch
``on_batch_end(step, logs)``         ``logs``: what the model's ``train_step`` returned
``on_epoch_end(epoch, record)``      ``record``: the epoch's figures (a dict a callback may add to)
``on_train_end(final)``              ``final``: the run's last figures (ditto)

Callbacks run in the order they are given; each sees ``self.trainer`` and
``self.model``.  A callback stops training with ``self.trainer.stop(reason)``.  One
that must survive a resumed run keeps its state in :meth:`Callback.state` (JSON values
and arrays) and takes it back in :meth:`Callback.load_state`.
"""
from __future__ import annotations


class Callback:
    """Base class: every hook does nothing."""

    trainer = None
    model = None

    def set_trainer(self, trainer) -> None:
        self.trainer, self.model = trainer, trainer.model

    def on_train_begin(self) -> None:
        pass

    def on_epoch_begin(self, epoch: int) -> None:
        pass

    def on_batch_begin(self, step: int) -> None:
        pass

    def on_batch_end(self, step: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, epoch: int, record: dict) -> None:
        pass

    def on_train_end(self, final: dict) -> None:
        pass

    def figures(self) -> tuple:
        """The names of the figures this callback adds to each epoch's record."""
        return ()

    def state(self) -> dict:
        """What a checkpoint keeps of this callback (JSON values and arrays)."""
        return {}

    def load_state(self, state: dict) -> None:
        pass

    def overrides(self, hook: str) -> bool:
        """True if this callback does something at ``hook`` (the trainer skips the others)."""
        return getattr(type(self), hook) is not getattr(Callback, hook)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda trainer, record: ...)``.

    Each function takes the trainer first, then the hook's arguments.
    """

    def __init__(self, **hooks):
        unknown = [name for name in hooks if not (name.startswith("on_") and hasattr(Callback, name))]
        if unknown:
            from nndl.errors import NndlError

            raise NndlError(f"LambdaCallback has no hook {unknown[0]!r}")
        self.hooks = hooks

    def overrides(self, hook):
        return hook in self.hooks

    def _call(self, hook, *args):
        function = self.hooks.get(hook)
        if function is not None:
            function(self.trainer, *args)

    def on_train_begin(self):
        self._call("on_train_begin")

    def on_epoch_begin(self, epoch):
        self._call("on_epoch_begin", epoch)

    def on_batch_begin(self, step):
        self._call("on_batch_begin", step)

    def on_batch_end(self, step, logs):
        self._call("on_batch_end", step, logs)

    def on_epoch_end(self, epoch, record):
        self._call("on_epoch_end", epoch, record)

    def on_train_end(self, final):
        self._call("on_train_end", final)
