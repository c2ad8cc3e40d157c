"""Callbacks: what runs around the training loop (see ``base`` for the hooks)."""
from nndl.callbacks.base import Callback, LambdaCallback
from nndl.callbacks.diagnostics import DeadUnits, GradientNorms
from nndl.callbacks.early_stopping import EarlyStopping
from nndl.callbacks.evaluate import Evaluate
from nndl.callbacks.guards import DivergenceGuard, NaNGuard, TrainingDiverged
from nndl.callbacks.output import Checkpoint, JSONLines
from nndl.callbacks.progress import PrintEpochs, ProgressBar
from nndl.callbacks.schedule import LearningRateSchedule

__all__ = ["Callback", "Checkpoint", "DeadUnits", "DivergenceGuard", "EarlyStopping", "Evaluate", "GradientNorms", "JSONLines",
           "LambdaCallback", "LearningRateSchedule", "NaNGuard", "PrintEpochs", "ProgressBar", "TrainingDiverged"]
