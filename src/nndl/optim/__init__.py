"""Optimizers, regularizers and learning-rate schedules: what the trainer applies each step."""
from nndl.optim.optimizers import OPTIMIZERS, SGD, Momentum, Optimizer, get_optimizer
from nndl.optim.regularizers import L1, L2, REGULARIZERS, Regularizer, get_regularizer
from nndl.optim.schedules import SCHEDULES, HalveOnPlateau, Schedule, get_schedule

__all__ = ["OPTIMIZERS", "SGD", "Momentum", "Optimizer", "get_optimizer", "L1", "L2", "REGULARIZERS",
           "Regularizer", "get_regularizer", "SCHEDULES", "HalveOnPlateau", "Schedule", "get_schedule"]
