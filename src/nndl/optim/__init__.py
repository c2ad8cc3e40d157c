"""Optimizers, regularizers, constraints and learning-rate schedules: what the trainer applies each step."""
from nndl.optim.constraints import CONSTRAINTS, Constraint, MaxNorm, get_constraint
from nndl.optim.optimizers import (COST_OPTIMIZERS, OPTIMIZERS, SGD, Adadelta, Adagrad, Adam, AdaptiveGains, Momentum,
                                   Nesterov, Optimizer, Quickprop, RMSprop, Rprop, default_hyperparameters,
                                   get_optimizer)
from nndl.optim.regularizers import L1, L2, REGULARIZERS, ElasticNet, Regularizer, get_regularizer
from nndl.optim.schedules import (SCHEDULES, Cosine, DecaySchedule, ExponentialDecay, HalveOnPlateau, InverseTime,
                                  OneCycle, Schedule, StepDecay, get_schedule)

__all__ = ["OPTIMIZERS", "COST_OPTIMIZERS", "SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSprop", "Adam",
           "Rprop", "AdaptiveGains", "Quickprop",
           "Optimizer", "default_hyperparameters", "get_optimizer",
           "L1", "L2", "ElasticNet", "REGULARIZERS", "Regularizer", "get_regularizer",
           "CONSTRAINTS", "Constraint", "MaxNorm", "get_constraint",
           "SCHEDULES", "Schedule", "DecaySchedule", "HalveOnPlateau", "StepDecay", "ExponentialDecay",
           "InverseTime", "Cosine", "OneCycle", "get_schedule"]
