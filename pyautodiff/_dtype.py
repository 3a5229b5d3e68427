"""dtypes: `float32` (the default), `float64`, `int64` and `bool`, as in PyTorch."""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ._ffi import lib

__all__ = ["dtype", "float32", "float64", "int64", "bool", "from_code", "to_dtype"]


class dtype:
    """A tensor element type (`torch.float32`, ...)."""

    __slots__ = ("name", "code", "itemsize", "numpy", "typestr", "is_floating_point")
    name: str
    code: int
    itemsize: int
    numpy: np.dtype
    typestr: str
    is_floating_point: builtins.bool  # (the module's `bool` is the dtype)

    def __init__(self, name: str, code: int, np_dtype: Any) -> None:
        self.name = name
        self.code = code
        self.numpy = np.dtype(np_dtype)
        self.itemsize = self.numpy.itemsize
        self.typestr = self.numpy.str
        self.is_floating_point = self.numpy.kind == "f"

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (to_dtype, (self.name,))


float32 = dtype("float32", lib.PA_FLOAT32, np.float32)
float64 = dtype("float64", lib.PA_FLOAT64, np.float64)
int64 = dtype("int64", lib.PA_INT64, np.int64)
bool = dtype("bool", lib.PA_BOOL, np.bool_)  # noqa: A001 - the PyTorch name

_BY_CODE = {d.code: d for d in (float32, float64, int64, bool)}
_BY_NAME = {"float32": float32, "float": float32, "float64": float64, "double": float64,
            "int64": int64, "long": int64, "bool": bool}


def from_code(code: int) -> dtype:
    return _BY_CODE[code]


def from_numpy_dtype(np_dtype: Any) -> dtype | None:
    """The dtype for a NumPy dtype, or None if pyautodiff has no such dtype."""
    np_dtype = np.dtype(np_dtype)
    for d in _BY_CODE.values():
        if d.numpy == np_dtype:
            return d
    return None


def to_dtype(x: Any) -> dtype:
    """Accepts a dtype, its name, a NumPy dtype or a Python type (float/int/bool)."""
    if isinstance(x, dtype):
        return x
    if isinstance(x, str) and x.replace("torch.", "") in _BY_NAME:
        return _BY_NAME[x.replace("torch.", "")]
    import builtins

    if x is builtins.float:
        return float32
    if x is builtins.int:
        return int64
    if x is builtins.bool:
        return bool
    try:
        d = from_numpy_dtype(x)
    except TypeError:
        d = None
    if d is None:
        raise TypeError(f"unsupported dtype {x!r}: pyautodiff has float32, float64, int64 and bool")
    return d
