"""Convolution layers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..._tensor import Tensor
from .. import functional as F
from .. import init
from .._layers import _pair
from .module import Module

if TYPE_CHECKING:  # annotation-only aliases
    from ..._creation import _DType
    from .._layers import _IntOrPair

__all__ = ["Conv2d"]


class Conv2d(Module):
    """2-d convolution over (N, C, H, W) or (C, H, W) input, as torch.nn.Conv2d.

    weight is (out_channels, in_channels // groups, kH, kW), bias (out_channels);
    both initialised as in PyTorch (kaiming-uniform with a = sqrt(5), bias uniform in
    ±1/sqrt(fan_in)).

    >>> conv = Conv2d(1, 8, 3, padding=1)
    >>> conv(torch.randn(2, 1, 28, 28)).shape
    torch.Size([2, 8, 28, 28])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: _IntOrPair, stride: _IntOrPair = 1,
                 padding: _IntOrPair | str = 0, dilation: _IntOrPair = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: _DType | None = None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv2d: padding_mode {padding_mode!r} is not supported "
                                      "(only 'zeros')")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and _pair(stride, "Conv2d", "stride") != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = _pair(padding, "Conv2d", "padding")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size, "Conv2d", "kernel_size")
        self.stride = _pair(stride, "Conv2d", "stride")
        self.padding = padding
        self.dilation = _pair(dilation, "Conv2d", "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        init._add_weight_and_bias(self, (out_channels, in_channels // groups, *self.kernel_size), out_channels,
                                  bias, dtype)

    def reset_parameters(self) -> None:
        init._reset_layer(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s
