"""Linear layers."""
from __future__ import annotations

import math

from typing import TYPE_CHECKING, Any

from ..._tensor import Tensor
from .. import functional as F
from .. import init
from .module import Module

if TYPE_CHECKING:  # annotation-only aliases
    from ..._creation import _DType

__all__ = ["Linear", "Identity", "Bilinear"]


class Linear(Module):
    """y = x @ weight.T + bias, with weight (out_features, in_features) initialised as in
    PyTorch: kaiming-uniform with a = sqrt(5), bias uniform in ±1/sqrt(in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: _DType | None = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        init._add_weight_and_bias(self, (out_features, in_features), out_features, bias, dtype)

    def reset_parameters(self) -> None:
        init._reset_layer(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        # NOTE: self.weight is a Module.__getattr__ call (~0.5 us on Python 3.11, a fifth of
        # the layer's cost on a small batch); a plain Linear reads its registry directly.
        # Subclasses, parametrized layers and weight_norm may hold weight elsewhere.
        params = self._parameters
        if type(self) is Linear and "weight" in params and "bias" in params:
            return F.linear(input, params["weight"], params["bias"])  # type: ignore[arg-type]
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Bilinear(Module):
    """y = x1^T A x2 + b for each output feature, weight (out, in1, in2) and bias (out)
    uniform in +-1/sqrt(in1), as torch.nn.Bilinear."""

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: _DType | None = None) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        from ..parameter import Parameter
        from ..._creation import empty

        self.weight = Parameter(empty(out_features, in1_features, in2_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
