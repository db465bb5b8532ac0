"""Optimizers and learning-rate schedulers with PyTorch's names and update rules."""

from engine.optim import lr_scheduler
from engine.optim.adagrad import Adadelta, Adagrad
from engine.optim.adam import Adam, AdamW
from engine.optim.adamax import Adamax, NAdam, RAdam
from engine.optim.lbfgs import LBFGS
from engine.optim.optimizer import Optimizer
from engine.optim.rmsprop import RMSprop
from engine.optim.rprop import ASGD, Rprop
from engine.optim.sgd import SGD
from engine.optim.sparse_adam import SparseAdam

__all__ = [
    "ASGD",
    "LBFGS",
    "SGD",
    "SparseAdam",
    "Adadelta",
    "Adagrad",
    "Adam",
    "Adamax",
    "AdamW",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "Rprop",
    "lr_scheduler",
]
