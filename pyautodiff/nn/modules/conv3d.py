"""3-d convolution and pooling layers (their functional forms: nn/_layers_3d.py)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..._tensor import Tensor
from .. import functional as F
from .._layers_3d import _triple
from .conv import _ConvNd
from .module import Module
from .more import _ConvTransposeNd
from .pooling import _AvgPoolNd, _MaxPoolNd

if TYPE_CHECKING:  # annotation-only aliases
    from ..._creation import _DType

__all__ = ["Conv3d", "ConvTranspose3d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"]


class Conv3d(_ConvNd):
    """3-d convolution over (N, C, D, H, W) or (C, D, H, W) input, as torch.nn.Conv3d:
    weight (out_channels, in_channels // groups, kD, kH, kW) and bias initialised as
    PyTorch's (kaiming-uniform with a = sqrt(5), bias uniform in ±1/sqrt(fan_in))."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device: Any = None, dtype: _DType | None = None) -> None:
        super().__init__("Conv3d", _triple, in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-d convolution, as torch.nn.ConvTranspose3d; forward(input, output_size=None)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 output_padding: Any = 0, groups: int = 1, bias: bool = True, dilation: Any = 1,
                 padding_mode: str = "zeros", device: Any = None, dtype: _DType | None = None) -> None:
        super().__init__(3, in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, padding_mode, dtype)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return F.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups, self.dilation)


class MaxPool3d(_MaxPoolNd):
    """Max over kernel_size windows of (N, C, D, H, W) or (C, D, H, W), as torch.nn.MaxPool3d."""

    def forward(self, input: Tensor) -> Any:
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class AvgPool3d(_AvgPoolNd):
    """Average over kernel_size windows, as torch.nn.AvgPool3d."""

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(Module):
    """Average pooling to a fixed output_size (int or triple; None entries keep the input's)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(Module):
    """Max pooling to a fixed output_size, as torch.nn.AdaptiveMaxPool3d."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
