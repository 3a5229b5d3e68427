"""More activation layers."""
from .. import functional as F
from .module import Module

__all__ = ["LeakyReLU"]


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x, as torch.nn.LeakyReLU."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"
