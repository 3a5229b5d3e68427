"""nn.Parameter: a leaf tensor that a Module registers as learnable."""
from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that requires grad (by default) and is registered by Modules.  It shares
    the memory of the tensor it is made from, as in PyTorch."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        from .._creation import empty

        if data is None:
            data = empty(0)
        p = object.__new__(cls)
        p._h = data.detach()._h
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
