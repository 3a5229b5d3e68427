"""dtypes: `float32` (the default), `float64`, `int64` and `bool`, as in PyTorch.  PyTorch's
other dtypes (`uint8 int8 int16 int32 float16 bfloat16`) exist as names, so that programs
can compare with them and ask `finfo`/`iinfo` about them, but no tensor has them: any use
that would make one raises a TypeError that says so (never a silent change of dtype)."""
from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ._ffi import lib

__all__ = ["dtype", "float32", "float64", "int64", "bool", "uint8", "int8", "int16", "int32", "float16",
           "bfloat16", "from_code", "to_dtype"]


class dtype:
    """A tensor element type (`torch.float32`, ...)."""

    __slots__ = ("name", "code", "itemsize", "numpy", "typestr", "is_floating_point", "is_signed", "supported")
    name: str
    code: int
    itemsize: int
    numpy: np.dtype
    typestr: str
    is_floating_point: builtins.bool  # (the module's `bool` is the dtype)
    is_signed: builtins.bool
    supported: builtins.bool  # False: a name only (no tensor has this dtype)

    def __init__(self, name: str, code: int, np_dtype: Any, supported: builtins.bool = True) -> None:
        self.name = name
        self.code = code
        self.numpy = np.dtype(np_dtype)
        self.itemsize = 2 if name == "bfloat16" else self.numpy.itemsize
        self.typestr = self.numpy.str
        self.is_floating_point = self.numpy.kind == "f"
        self.is_signed = self.numpy.kind in "fi"
        self.supported = supported

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_by_name, (self.name,))


float32 = dtype("float32", lib.PA_FLOAT32, np.float32)
float64 = dtype("float64", lib.PA_FLOAT64, np.float64)
int64 = dtype("int64", lib.PA_INT64, np.int64)
bool = dtype("bool", lib.PA_BOOL, np.bool_)  # noqa: A001 - the PyTorch name

# Names only (see the module docstring).  bfloat16 has no NumPy dtype: float32 stands in
# for its `numpy` field, which nothing reads for an unsupported dtype.
uint8 = dtype("uint8", -1, np.uint8, supported=False)
int8 = dtype("int8", -1, np.int8, supported=False)
int16 = dtype("int16", -1, np.int16, supported=False)
int32 = dtype("int32", -1, np.int32, supported=False)
float16 = dtype("float16", -1, np.float16, supported=False)
bfloat16 = dtype("bfloat16", -1, np.float32, supported=False)

_BY_CODE = {d.code: d for d in (float32, float64, int64, bool)}
_BY_NAME = {"float32": float32, "float": float32, "float64": float64, "double": float64,
            "int64": int64, "long": int64, "bool": bool, "uint8": uint8, "int8": int8, "int16": int16,
            "short": int16, "int32": int32, "int": int32, "float16": float16, "half": float16,
            "bfloat16": bfloat16}


def _by_name(name: str) -> dtype:
    """The dtype of that name, named-only ones included (unpickling)."""
    return _BY_NAME[name]


def _unsupported(d: dtype) -> TypeError:
    return TypeError(f"pyautodiff has no {d.name} tensors: its dtypes are float32, float64, int64 and bool "
                     f"(convert with .float(), .double(), .long() or .bool(), or NumPy's astype, first)")


def from_code(code: int) -> dtype:
    return _BY_CODE[code]


def from_numpy_dtype(np_dtype: Any) -> dtype | None:
    """The dtype for a NumPy dtype, or None if pyautodiff has no such dtype."""
    np_dtype = np.dtype(np_dtype)
    for d in _BY_CODE.values():
        if d.numpy == np_dtype:
            return d
    return None


def to_dtype(x: Any, allow_unsupported: builtins.bool = False) -> dtype:
    """Accepts a dtype, its name, a NumPy dtype or a Python type (float/int/bool).  A dtype
    pyautodiff only names (int32, uint8, float16, ...) raises a TypeError, unless
    allow_unsupported (finfo, iinfo and comparisons ask about the dtype itself)."""
    if isinstance(x, str) and x.replace("torch.", "") in _BY_NAME:
        x = _BY_NAME[x.replace("torch.", "")]
    if isinstance(x, dtype):
        if not (x.supported or allow_unsupported):
            raise _unsupported(x)
        return x
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
    if d is None and allow_unsupported:
        try:
            d = next((u for u in (uint8, int8, int16, int32, float16) if u.numpy == np.dtype(x)), None)
        except TypeError:
            d = None
    if d is None:
        raise TypeError(f"unsupported dtype {x!r}: pyautodiff has float32, float64, int64 and bool")
    return d
