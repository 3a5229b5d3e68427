"""Flatten and Unflatten."""
from __future__ import annotations

import math
from typing import Sequence

from ..._tensor import Tensor
from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Flattens dims start_dim..end_dim (by default all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)


class Unflatten(Module):
    """Splits dim `dim` into `unflattened_size` (a tuple of ints; one may be -1), a view
    where the input's strides allow: Unflatten(1, (2, 3)) turns (N, 6) into (N, 2, 3)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple of ints, but found type "
                            f"{type(unflattened_size).__name__}")
        for i, size in enumerate(unflattened_size):
            if not isinstance(size, int) or isinstance(size, bool):
                raise TypeError(f"Unflatten: unflattened_size must be tuple of ints, but found element of type "
                                f"{type(size).__name__} at pos {i}")
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        shape = list(input.shape)
        ndim = len(shape)
        if not -ndim <= self.dim < ndim:
            raise IndexError(f"Unflatten: dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                             f"but got {self.dim})")
        dim = self.dim % ndim
        sizes = list(self.unflattened_size)
        if not sizes:
            raise RuntimeError("Unflatten: unflattened_size must be non-empty")
        if sizes.count(-1) > 1:
            raise RuntimeError(f"Unflatten: only one dimension can be inferred, got sizes {sizes}")
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes and known and shape[dim] % known == 0:
            sizes[sizes.index(-1)] = shape[dim] // known
        if math.prod(sizes) != shape[dim] or any(s < 0 for s in sizes):
            raise RuntimeError(f"Unflatten: provided sizes {list(self.unflattened_size)} don't multiply up to the "
                               f"size of dim {dim} ({shape[dim]}) in the input tensor")
        return input.reshape(shape[:dim] + sizes + shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
