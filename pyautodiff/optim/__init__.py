"""Optimizers (as torch.optim): the update of all parameters runs in one fused C call."""
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD"]
