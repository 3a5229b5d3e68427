"""Optimizers (as torch.optim): SGD, Adam, AdamW, RMSprop and Adagrad update all parameters
in one fused C call; NAdam, RAdam, Adamax and Adadelta are composed of tensor ops."""
from . import lr_scheduler, swa_utils
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .composed import Adadelta, Adamax, NAdam, RAdam
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax", "Adadelta", "LBFGS",
           "lr_scheduler", "swa_utils"]
