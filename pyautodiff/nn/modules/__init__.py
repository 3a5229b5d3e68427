from .activation import GELU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleList, Sequential
from .linear import Identity, Linear
from .loss import CrossEntropyLoss, L1Loss, MSELoss
from .module import Module
from .flatten import Flatten

__all__ = ["Module", "Linear", "Identity", "Sequential", "ModuleList", "ReLU", "Sigmoid", "Tanh",
           "GELU", "Softmax", "LogSoftmax", "CrossEntropyLoss", "MSELoss", "L1Loss", "Flatten"]
