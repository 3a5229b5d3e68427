"""Tensor creation: from data, from NumPy (zero-copy), filled, ranges and random."""
from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

import numpy as np

from . import _dtype
from ._callbacks import forget, keep, release_handle
from ._device import check_device
from ._dtype import from_numpy_dtype, to_dtype
from ._generator import using
from ._ffi import ffi, lib, raise_error
from ._tensor import Tensor, call, shape_arg, wrap

if TYPE_CHECKING:  # annotation-only aliases
    _DType = Union[_dtype.dtype, str, type, np.dtype]  # what to_dtype accepts
    _Size = Union[int, Sequence[int]]
    _Number = Union[int, float, bool]

__all__ = ["tensor", "as_tensor", "from_numpy", "empty", "zeros", "ones", "full", "arange",
           "linspace", "eye", "rand", "randn", "randint", "randperm", "zeros_like", "ones_like",
           "empty_like", "full_like", "rand_like", "randn_like", "manual_seed", "initial_seed",
           "seed"]

def _default_dtype(arr):
    kind = arr.dtype.kind
    if kind == "f":
        return _dtype.float32
    if kind in "iu":
        return _dtype.int64
    if kind == "b":
        return _dtype.bool
    raise TypeError(f"tensor: cannot make a tensor from data of NumPy dtype {arr.dtype}")


def _finish(t, requires_grad):
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data: Any, dtype: Optional[_DType] = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (nested lists, numbers, arrays, tensors)."""
    check_device("tensor", device)
    if isinstance(data, Tensor):
        t = data.detach().clone()
        if dtype is not None:
            t = t.to(dtype)
        return _finish(t, requires_grad)
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat_first(data)):
        data = _tensors_to_nested(data)
    arr = np.asarray(data)
    if dtype is not None:
        dt = to_dtype(dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        dt = from_numpy_dtype(arr.dtype) or _default_dtype(arr)  # NumPy dtypes are kept
    else:
        dt = _default_dtype(arr)  # Python floats become float32, as in PyTorch
    arr = np.require(arr, dtype=dt.numpy, requirements="C")
    shape = arr.shape
    out = ffi.new("pa_tensor *[1]")
    status = lib.pa_from_data(ffi.from_buffer(arr) if arr.nbytes else ffi.NULL, arr.nbytes,
                              len(shape), ffi.new("int64_t[]", shape), dt.code, out)
    if status:
        raise_error(status)
    return _finish(wrap(out[0]), requires_grad)


def _flat_first(data):
    while isinstance(data, (list, tuple)) and data:
        if any(isinstance(x, Tensor) for x in data):
            return data
        data = data[0]
    return ()


def _tensors_to_nested(data):
    if isinstance(data, Tensor):
        return data.detach().numpy()
    return [_tensors_to_nested(x) for x in data]


def as_tensor(data: Any, dtype: Optional[_DType] = None, device: Any = None) -> Tensor:
    check_device("as_tensor", device)
    if isinstance(data, Tensor) and (dtype is None or to_dtype(dtype) is data.dtype):
        return data
    if isinstance(data, np.ndarray) and from_numpy_dtype(data.dtype) and dtype is None:
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing `arr`'s memory (float32, float64, int64 or bool)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(arr).__name__}")
    dt = from_numpy_dtype(arr.dtype)
    if dt is None:
        raise TypeError(f"from_numpy: can't convert np.ndarray of type {arr.dtype}. The only "
                        "supported types are: float64, float32, int64 and bool.")
    if any(s % arr.itemsize for s in arr.strides) or any(s < 0 for s in arr.strides):
        raise ValueError("from_numpy: arrays with negative or unaligned strides are not supported; "
                         "use arr.copy()")
    if not arr.flags.aligned:
        raise ValueError("from_numpy: the array is not aligned; use arr.copy()")
    # The span of memory the view may reach, from its first element.
    span = (sum((n - 1) * s for n, s in zip(arr.shape, arr.strides)) + arr.itemsize) if arr.size else 0
    handle = keep(arr)  # alive until the last view of the storage dies
    strides = [s // arr.itemsize for s in arr.strides]
    out = ffi.new("pa_tensor *[1]")
    data = ffi.cast("void *", arr.__array_interface__["data"][0])
    status = lib.pa_from_blob(data, arr.ndim, ffi.new("int64_t[]", arr.shape),
                              ffi.new("int64_t[]", strides), dt.code, span,
                              release_handle, handle, out)
    if status:
        forget(handle)
        raise_error(status)
    return wrap(out[0])


def _shape_dtype(size, dtype):
    shape = shape_arg(size)
    return shape, ffi.new("int64_t[]", shape), to_dtype(dtype if dtype is not None else _dtype.float32)


def empty(*size: _Size, dtype: Optional[_DType] = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    check_device("empty", device)
    shape, cshape, dt = _shape_dtype(size, dtype)
    return _finish(call(lib.pa_empty, len(shape), cshape, dt.code), requires_grad)


def full(size: _Size, fill_value: _Number, dtype: Optional[_DType] = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    check_device("full", device)
    if dtype is None:
        dtype = _dtype.bool if isinstance(fill_value, bool) else (
            _dtype.int64 if isinstance(fill_value, numbers.Integral) else _dtype.float32)
    shape, cshape, dt = _shape_dtype((size,), dtype)
    return _finish(call(lib.pa_full, len(shape), cshape, dt.code, float(fill_value)), requires_grad)


def zeros(*size: _Size, dtype: Optional[_DType] = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    check_device("zeros", device)
    shape, cshape, dt = _shape_dtype(size, dtype)
    return _finish(call(lib.pa_full, len(shape), cshape, dt.code, 0.0), requires_grad)


def ones(*size: _Size, dtype: Optional[_DType] = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    check_device("ones", device)
    shape, cshape, dt = _shape_dtype(size, dtype)
    return _finish(call(lib.pa_full, len(shape), cshape, dt.code, 1.0), requires_grad)


def zeros_like(t: Tensor, dtype: Optional[_DType] = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    check_device("zeros_like", device)
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Optional[_DType] = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    check_device("ones_like", device)
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Optional[_DType] = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    check_device("empty_like", device)
    return empty(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: _Number, dtype: Optional[_DType] = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    check_device("full_like", device)
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Optional[_DType] = None, device: Any = None) -> Tensor:
    check_device("rand_like", device)
    return rand(t.shape, dtype=dtype or t.dtype)


def randn_like(t: Tensor, dtype: Optional[_DType] = None, device: Any = None) -> Tensor:
    check_device("randn_like", device)
    return randn(t.shape, dtype=dtype or t.dtype)


def arange(start: _Number, end: Optional[_Number] = None, step: _Number = 1,
           dtype: Optional[_DType] = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    check_device("arange", device)
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = _dtype.int64 if is_int else _dtype.float32
    return _finish(call(lib.pa_arange, float(start), float(end), float(step), to_dtype(dtype).code),
                   requires_grad)


def linspace(start: _Number, end: _Number, steps: int, dtype: Optional[_DType] = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    check_device("linspace", device)
    dt = to_dtype(dtype if dtype is not None else _dtype.float32)
    return _finish(call(lib.pa_linspace, float(start), float(end), int(steps), dt.code), requires_grad)


def eye(n: int, m: Optional[int] = None, dtype: Optional[_DType] = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    check_device("eye", device)
    dt = to_dtype(dtype if dtype is not None else _dtype.float32)
    return _finish(call(lib.pa_eye, int(n), -1 if m is None else int(m), dt.code), requires_grad)


def rand(*size: _Size, generator: Any = None, dtype: Optional[_DType] = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    check_device("rand", device)
    shape, cshape, dt = _shape_dtype(size, dtype)
    with using(generator):
        return _finish(call(lib.pa_rand, len(shape), cshape, dt.code), requires_grad)


def randn(*size: _Size, generator: Any = None, dtype: Optional[_DType] = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    check_device("randn", device)
    shape, cshape, dt = _shape_dtype(size, dtype)
    with using(generator):
        return _finish(call(lib.pa_randn, len(shape), cshape, dt.code), requires_grad)


def randint(low: int, high: Any = None, size: Optional[Sequence[int]] = None,
            dtype: Optional[_DType] = None, device: Any = None, *, generator: Any = None) -> Tensor:
    check_device("randint", device)
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: size is required, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    shape = tuple(int(s) for s in size)
    with using(generator):
        t = call(lib.pa_randint, int(low), int(high), len(shape), ffi.new("int64_t[]", shape))
    return t if dtype is None else t.to(dtype)


def randperm(n: int, dtype: Optional[_DType] = None, device: Any = None, *, generator: Any = None) -> Tensor:
    check_device("randperm", device)
    with using(generator):
        t = call(lib.pa_randperm, int(n))
    return t if dtype is None else t.to(dtype)


def manual_seed(seed: int) -> Any:
    """Seeds the one generator behind rand/randn/randint/randperm, init, dropout and
    DataLoader shuffling; returns it (torch.default_generator), as PyTorch."""
    from ._generator import default_generator

    lib.pa_manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)
    return default_generator


def initial_seed() -> int:
    return int(lib.pa_initial_seed())


def seed() -> int:
    import os

    s = int.from_bytes(os.urandom(8), "little")
    manual_seed(s)
    return s
