"""The legacy typed constructors torch.FloatTensor, DoubleTensor, LongTensor and BoolTensor.

As in PyTorch they are classes of a special type (not Tensor subclasses): calling one
makes a plain Tensor of its dtype (FloatTensor(2, 3): uninitialised, of that shape;
FloatTensor([1, 2]): the data, cast; FloatTensor(t): t itself, viewed, when t has the
dtype), and `isinstance(x, torch.FloatTensor)` holds for the float32 tensors.
"""
from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _dtype
from ._tensor import Size, Tensor

__all__ = ["FloatTensor", "DoubleTensor", "LongTensor", "BoolTensor"]


def _size_or_none(args: tuple[Any, ...]) -> tuple[int, ...] | None:
    """args as a shape when every one is an integer (not a bool), else None."""
    out = []
    for a in args:
        if isinstance(a, (bool, np.bool_)):
            return None
        try:
            out.append(operator.index(a))
        except TypeError:
            return None
    return tuple(out)


class _TensorType(type):
    """The type of the legacy constructors (PyTorch's torch.tensortype)."""

    dtype: _dtype.dtype

    def __call__(cls, *args: Any, **kwargs: Any) -> Tensor:
        from ._creation import empty, tensor
        from ._device import check_device

        name = cls.__name__
        for key in kwargs:
            if key != "device":
                raise TypeError(f"{name}() got an unexpected keyword argument '{key}' (only device= is "
                                "taken; use torch.tensor for dtype= and requires_grad=)")
        check_device(name, kwargs.get("device"))
        if not args:
            return empty(0, dtype=cls.dtype)
        if len(args) == 1 and isinstance(args[0], Size):
            return empty(tuple(args[0]), dtype=cls.dtype)
        shape = _size_or_none(args)
        if shape is not None:
            if any(s < 0 for s in shape):
                raise RuntimeError(f"{name}: trying to create tensor with negative dimension: {list(shape)}")
            return empty(shape, dtype=cls.dtype)
        if len(args) > 1:
            raise TypeError(f"{name}(): expected a size (ints) or one data argument, got "
                            f"({', '.join(type(a).__name__ for a in args)})")
        data = args[0]
        if isinstance(data, Tensor):
            if data.dtype is not cls.dtype:
                raise TypeError(f"{name}(): expected a tensor of dtype {cls.dtype} (got {data.dtype})")
            return data.view(tuple(data.shape))  # (an alias, as in PyTorch: same memory and graph)
        if isinstance(data, (str, bytes)) or not isinstance(data, (list, tuple, np.ndarray)):
            raise TypeError(f"{name}(): data must be a sequence (got {type(data).__name__})")
        return tensor(data, dtype=cls.dtype)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _legacy(name: str, dt: _dtype.dtype) -> _TensorType:
    doc = (f"{name}(*size) / {name}(data): a tensor of dtype {dt} (the legacy constructor); "
           f"isinstance(x, {name}) tests the dtype.")
    return _TensorType(name, (), {"dtype": dt, "__module__": "pyautodiff", "__doc__": doc})


if TYPE_CHECKING:  # for type checkers: a call gives a Tensor, isinstance narrows to one
    class FloatTensor(Tensor): ...
    class DoubleTensor(Tensor): ...
    class LongTensor(Tensor): ...
    class BoolTensor(Tensor): ...
else:
    FloatTensor = _legacy("FloatTensor", _dtype.float32)
    DoubleTensor = _legacy("DoubleTensor", _dtype.float64)
    LongTensor = _legacy("LongTensor", _dtype.int64)
    BoolTensor = _legacy("BoolTensor", _dtype.bool)
