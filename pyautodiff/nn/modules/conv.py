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


class _ConvNd(Module):
    """What Conv2d and Conv3d share: PyTorch's argument checks, the parameters (weight
    (out_channels, in_channels // groups, *kernel_size) and bias, initialised as PyTorch's:
    kaiming-uniform with a = sqrt(5), bias uniform in ±1/sqrt(fan_in)) and the repr.
    tuple_of(value, layer, name) makes the per-dimension tuples."""

    def __init__(self, layer: str, tuple_of: Any, in_channels: int, out_channels: int, kernel_size: Any,
                 stride: Any, padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 dtype: _DType | None) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{layer}: padding_mode {padding_mode!r} is not supported (only 'zeros')")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
            if padding == "same" and any(s != 1 for s in tuple_of(stride, layer, "stride")):
                raise ValueError("padding='same' is not supported for strided convolutions")
        else:
            padding = tuple_of(padding, layer, "padding")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = tuple_of(kernel_size, layer, "kernel_size")
        self.stride = tuple_of(stride, layer, "stride")
        self.padding = padding
        self.dilation = tuple_of(dilation, layer, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        init._add_weight_and_bias(self, (out_channels, in_channels // groups, *self.kernel_size), out_channels,
                                  bias, dtype)

    def reset_parameters(self) -> None:
        init._reset_layer(self.weight, self.bias)

    def extra_repr(self) -> str:
        n = len(self.kernel_size)
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
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
        super().__init__("Conv2d", _pair, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)
