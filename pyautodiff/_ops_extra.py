"""More of PyTorch's tensor functions, composed from the core's differentiable ops (views,
index_select, gather, where, matmul) or, where a result is piecewise constant or needs an
ordering (floor, remainder, sort, cumsum), computed with NumPy and given its gradient by a
node of the graph.  Each is `torch.name(...)` and, where PyTorch has one, a Tensor method.
"""
from __future__ import annotations

import builtins
import functools
import math
from typing import TYPE_CHECKING, Any, Sequence, Union

import numpy as np

from ._ffi import ffi, lib
from ._tensor import MinMax, Tensor, call, matmul

if TYPE_CHECKING:
    _Number = Union[int, float, bool]
    _TensorOrNumber = Union[Tensor, int, float, bool]

__all__ = ["chunk", "split", "unbind", "isnan", "isinf", "isfinite", "isclose", "allclose", "equal",
           "any", "all", "dot", "outer", "ger", "bmm", "addmm", "tril", "triu", "flip", "roll",
           "floor", "ceil", "round", "trunc", "frac", "floor_divide", "remainder", "fmod", "sort",
           "argsort", "topk", "nonzero", "lerp", "norm", "cumsum"]


# ---- helpers ------------------------------------------------------------------------
def _dim(op: str, dim: int, ndim: int) -> int:
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _narrow(x: Tensor, dim: int, start: int, stop: int) -> Tensor:
    """x's elements [start, stop) along dim (in range, dim normalised), as one C view."""
    return call(lib.pa_slice, x._h, dim, start, stop, 1)


def _as_tensor(value: _TensorOrNumber, like: Tensor) -> Tensor:
    from ._creation import tensor

    return value if isinstance(value, Tensor) else tensor(value, dtype=like.dtype)


def _from_numpy(arr: np.ndarray) -> Tensor:
    from ._creation import from_numpy

    return from_numpy(np.ascontiguousarray(arr) if arr.ndim else np.array(arr))


def _values(x: Tensor) -> np.ndarray:
    return x.detach().numpy()


def _zero_gradient(values: np.ndarray, *inputs: Tensor) -> Tensor:
    """`values` as a piecewise-constant result of inputs (floor, round, //, ...): it
    requires grad when an input does, and sends each of them a zero gradient, as PyTorch."""
    if not builtins.any(t.requires_grad for t in inputs):
        return _from_numpy(values)
    from ._creation import zeros

    specs = [(tuple(t.shape), t.dtype) if t.requires_grad else None for t in inputs]
    return _recorded(values, inputs, lambda grad: tuple(
        zeros(spec[0], dtype=spec[1]) if spec else None for spec in specs))


def _recorded(values: np.ndarray, inputs: Sequence[Tensor], backward: Any) -> Tensor:
    """`values` as the result of a graph node over `inputs` (an autograd.Function
    whose forward hands back the values computed already); `backward(grad)` returns
    the gradient of each input (a tuple, None where not needed).

    NOTE: `backward` must not hold the input Tensors (nor NumPy views of their memory):
    an in-place op on an input can make this node its grad_fn, and a node that holds its
    own output through a Python closure is a cycle the collector cannot free (the node
    keeps the closure alive from C).  It takes what it needs at forward time instead
    (shapes, flags, copies of values), which also keeps the gradient that of the values
    the forward saw."""
    from .autograd import Function

    class _Node(Function):
        @staticmethod
        def forward(ctx: Any, *ts: Tensor) -> Tensor:
            return _from_numpy(values)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> Any:
            grads = backward(grad)
            return grads[0] if len(grads) == 1 else grads

    return _Node.apply(*inputs)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of `chunks` pieces of ceil(size / chunks) along dim (fewer when it divides
    out so), as torch.chunk."""
    if int(chunks) <= 0:
        raise ValueError(f"chunk: expected chunks to be greater than 0, got: {chunks}")
    d = _dim("chunk", dim, input.ndim)
    size = input.shape[d]
    step = builtins.max(1, -(-size // int(chunks)))
    return tuple(_narrow(input, d, i, builtins.min(i + step, size)) for i in range(0, size, step)) or (input,)


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Views of pieces of split_size along dim (the last one smaller), or of the given
    sizes, as torch.split."""
    d = _dim("split", dim, tensor.ndim)
    size = tensor.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step < 0 or (step == 0 and size):
            raise ValueError(f"split: split_size can only be 0 if dimension size is 0, but got "
                             f"dimension size of {size}" if step == 0 else
                             f"split: split_size must be non-negative, got {step}")
        if size == 0:
            return (tensor,)
        return tuple(_narrow(tensor, d, i, builtins.min(i + step, size)) for i in range(0, size, step))
    sizes = [int(s) for s in split_size_or_sections]
    if builtins.any(s < 0 for s in sizes) or sum(sizes) != size:
        raise ValueError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                         f"size at dimension {d}), but got split_sizes={sizes}")
    starts = np.cumsum([0] + sizes)
    return tuple(_narrow(tensor, d, int(a), int(b)) for a, b in zip(starts[:-1], starts[1:]))


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along dim, without that dim (views), as torch.unbind."""
    d = _dim("unbind", dim, input.ndim)
    if input.ndim == 0:
        raise IndexError("unbind: dimension specified as 0 but tensor has no dimensions")
    return tuple(call(lib.pa_select, input._h, d, i) for i in range(input.shape[d]))


# ---- tests of values ----------------------------------------------------------------
def isnan(input: Tensor) -> Tensor:
    if not input.dtype.is_floating_point:
        return _from_numpy(np.zeros(tuple(input.shape), dtype=bool))
    return input != input


def isinf(input: Tensor) -> Tensor:
    if not input.dtype.is_floating_point:
        return _from_numpy(np.zeros(tuple(input.shape), dtype=bool))
    return input.abs() == math.inf


def isfinite(input: Tensor) -> Tensor:
    if not input.dtype.is_floating_point:
        return _from_numpy(np.ones(tuple(input.shape), dtype=bool))
    return (input - input) == 0  # inf - inf and nan - nan are nan


def isclose(input: Tensor, other: _TensorOrNumber, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: builtins.bool = False) -> Tensor:
    """|input - other| <= atol + rtol * |other| elementwise (equal infinities are close;
    NaNs only with equal_nan), as torch.isclose."""
    a, b = _values(input), _values(_as_tensor(other, input))
    with np.errstate(invalid="ignore"):
        return _from_numpy(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: builtins.bool = False) -> builtins.bool:
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan).all().item())


def equal(input: Tensor, other: Tensor) -> builtins.bool:
    """True when both have the same shape and equal elements (NaN is never equal)."""
    return tuple(input.shape) == tuple(other.shape) and builtins.bool(
        np.array_equal(_values(input), _values(other)))


def any(input: Tensor, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:  # noqa: A001
    """Whether any element (along dim) is non-zero: a bool tensor, as torch.any."""
    nonzero = input if input.dtype.name == "bool" else input != 0
    if dim is None or nonzero.numel() == 0:  # (amax refuses an empty dim)
        # a bool tensor sums to int64 in C, without a widening copy
        return (nonzero.sum() if dim is None else nonzero.sum(dim, keepdim)) > 0
    return nonzero.amax(dim, keepdim)


def all(input: Tensor, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:  # noqa: A001
    """Whether every element (along dim) is non-zero: a bool tensor, as torch.all."""
    zero = input == 0
    if dim is None or zero.numel() == 0:
        return (zero.sum() if dim is None else zero.sum(dim, keepdim)) == 0
    return ~zero.amax(dim, keepdim)


# ---- products -----------------------------------------------------------------------
def dot(input: Tensor, other: Tensor) -> Tensor:
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        raise RuntimeError(f"dot: inconsistent tensor size, expected tensor [{input.shape[0]}] and src "
                           f"[{other.shape[0]}] to have the same number of elements, but got "
                           f"{input.shape[0]} and {other.shape[0]} elements respectively")
    return matmul(input, other)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    if input.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"outer: expected 1D tensors, but got {input.ndim}D and {vec2.ndim}D tensors")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


ger = outer


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: batch1 and batch2 must be 3D tensors, got {input.ndim}D and {mat2.ndim}D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: _Number = 1, alpha: _Number = 1) -> Tensor:
    """beta * input + alpha * (mat1 @ mat2), as torch.addmm (beta = 0 ignores input,
    NaN included)."""
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"addmm: mat1 and mat2 must be matrices, got {mat1.ndim}D and {mat2.ndim}D")
    product = matmul(mat1, mat2)
    product = product if alpha == 1 else product * alpha
    if beta == 0:
        return product + _from_numpy(np.zeros((), dtype=product.dtype.numpy))  # input's shape ignored
    return (input if beta == 1 else input * beta) + product


# ---- shapes -------------------------------------------------------------------------
def _triangle(input: Tensor, diagonal: int, lower: builtins.bool, op: str) -> Tensor:
    from ._creation import zeros
    from ._functions import where

    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    rows, cols = input.shape[-2], input.shape[-1]
    # (np.tri builds the bool mask directly: the int64 offsets it replaces took 1.3 of the
    # 1.6 ms of triu on 1024 x 1024)
    if lower:
        keep = np.tri(rows, cols, k=diagonal, dtype=bool)
    else:
        keep = ~np.tri(rows, cols, k=diagonal - 1, dtype=bool)
    return where(_from_numpy(keep), input, zeros((), dtype=input.dtype))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return _triangle(input, int(diagonal), True, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return _triangle(input, int(diagonal), False, "triu")


def _dims(op: str, dims: int | Sequence[int], ndim: int) -> list[int]:
    dims = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    out = [_dim(op, int(d), ndim) for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dims has duplicates, original flip dims size={len(dims)}, but unique "
                           f"flip dims size={len(set(out))}")
    return out


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    out = input
    for d in _dims("flip", dims, input.ndim):
        n = input.shape[d]
        out = out.index_select(d, _from_numpy(np.arange(n - 1, -1, -1, dtype=np.int64)))
    return out


def roll(input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Elements shifted along dims, wrapping around (with dims=None, over the flattened
    tensor, shape kept), as torch.roll."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            shifts = list(shifts)
            if len(shifts) != 1:
                raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
            shifts = shifts[0]
        return roll(input.flatten(), int(shifts), 0).reshape(tuple(input.shape))
    shift_list = [shifts] if isinstance(shifts, (int, np.integer)) else list(shifts)
    dim_list = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    if len(shift_list) != len(dim_list):
        raise RuntimeError(f"roll: shifts and dimensions must align. shifts: {len(shift_list)}, dims:"
                           f"{len(dim_list)}")
    out = input
    for s, d in zip(shift_list, dim_list):
        d = _dim("roll", int(d), input.ndim)
        n = input.shape[d]
        k = int(s) % n if n else 0
        if k:  # the last k slices, then the rest: two block copies
            from ._functions import cat

            out = cat([out.narrow(d, n - k, k), out.narrow(d, 0, n - k)], d)
    return out if out is not input else input.clone()


# ---- rounding and division ----------------------------------------------------------
def _rounded(input: Tensor, fn: Any) -> Tensor:
    if not input.dtype.is_floating_point:
        return input.clone()
    return _zero_gradient(np.asarray(fn(_values(input)), dtype=input.dtype.numpy), input)


def floor(input: Tensor) -> Tensor:
    return _rounded(input, np.floor)


def ceil(input: Tensor) -> Tensor:
    return _rounded(input, np.ceil)


def trunc(input: Tensor) -> Tensor:
    return _rounded(input, np.trunc)


def round(input: Tensor, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (decimals places), as torch.round."""
    if decimals == 0:
        return _rounded(input, np.rint)
    if not input.dtype.is_floating_point:
        raise RuntimeError("round: decimals is only supported for floating-point tensors")
    scale = 10.0 ** int(decimals)
    return _rounded(input, lambda a: (np.rint(a * scale) / scale).astype(a.dtype))


def frac(input: Tensor) -> Tensor:
    """input - trunc(input): its gradient is the identity."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"frac: not implemented for '{input.dtype}'")
    return input - trunc(input)


def _division_operands(op: str, input: _TensorOrNumber, other: _TensorOrNumber) -> tuple[Tensor, Tensor]:
    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    if a is None and b is None:
        raise TypeError(f"{op}: expected a tensor argument")
    ref = a if a is not None else b
    assert ref is not None
    a = a if a is not None else _scalar_operand(input, ref)
    b = b if b is not None else _scalar_operand(other, ref)
    return a, b


def _scalar_operand(value: Any, like: Tensor) -> Tensor:
    from ._creation import tensor
    from ._dtype import float32, int64

    if isinstance(value, builtins.bool) or isinstance(value, (int, np.integer)):
        dt = like.dtype if like.dtype.name != "bool" else int64
    else:
        dt = like.dtype if like.dtype.is_floating_point else float32
    return tensor(value, dtype=dt)


def _div_values(op: str, a: Tensor, b: Tensor, fn: Any) -> tuple[np.ndarray, Any]:
    """fn(a, b) in the dtype PyTorch's promotion gives a and b (found on one element of
    each), broadcast; integer division by zero raises as in PyTorch."""
    def sample(t: Tensor) -> Tensor:  # one element, keeping 0-d-ness (it matters to promotion)
        return t.detach() if t.ndim == 0 else t.detach().reshape(-1)[:1]

    promoted = (sample(a) + sample(b)).dtype
    av, bv = np.broadcast_arrays(_values(a).astype(promoted.numpy), _values(b).astype(promoted.numpy))
    if not promoted.is_floating_point and np.any(bv == 0):
        raise ZeroDivisionError(f"{op}: integer division by zero")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(fn(av, bv), dtype=promoted.numpy), promoted


def floor_divide(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    """Division rounded toward negative infinity (`//`), as torch.floor_divide; its
    gradient is zero."""
    a, b = _division_operands("floor_divide", input, other)
    return _zero_gradient(_div_values("floor_divide", a, b, np.floor_divide)[0], a, b)


def _remainder(op: str, a: Tensor, b: Tensor, fn: Any, quotient_fn: Any) -> Tensor:
    """remainder / fmod with PyTorch's gradients: d/da = 1, d/db = -q, q = a / b rounded
    as the op rounds it (floor for remainder, toward zero for fmod)."""
    values, promoted = _div_values(op, a, b, fn)
    if not ((a.requires_grad or b.requires_grad) and promoted.is_floating_point):
        return _from_numpy(values)
    need_a = a.requires_grad
    quotient = _div_values(op, a, b, quotient_fn)[0] if b.requires_grad else None

    # (the engine sums each gradient over broadcast dims and casts it to its input's dtype)
    def backward(grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        return (grad if need_a else None), (-grad * _from_numpy(quotient) if quotient is not None else None)

    return _recorded(values, (a, b), backward)


def remainder(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    """Python's modulus (`%`): the result has the sign of the divisor, as torch.remainder."""
    a, b = _division_operands("remainder", input, other)
    return _remainder("remainder", a, b, np.mod, np.floor_divide)


def fmod(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    """C's fmod: the result has the sign of the dividend, as torch.fmod."""
    a, b = _division_operands("fmod", input, other)
    return _remainder("fmod", a, b, np.fmod, lambda x, y: np.trunc(x / y))


# ---- ordering -----------------------------------------------------------------------
def _order(x: np.ndarray, axis: int, descending: builtins.bool) -> np.ndarray:
    """Indices that sort x along axis, stably, NaN counted as the largest value."""
    moved = np.moveaxis(x, axis, -1)
    if moved.dtype.kind == "b":
        moved = moved.astype(np.int64)
    if descending:
        nan = np.isnan(moved) if moved.dtype.kind == "f" else np.zeros(moved.shape, dtype=bool)
        key = np.where(nan, 0, -moved) if moved.dtype.kind == "f" else -moved
        idx = np.lexsort((key, ~nan)) if moved.ndim else np.zeros((), np.int64)
    else:
        idx = np.argsort(moved, axis=-1, kind="stable")
    return np.moveaxis(np.asarray(idx, dtype=np.int64), -1, axis)


def sort(input: Tensor, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False) -> MinMax:
    """(values, indices) along dim; ties keep their order (a stable sort, whatever
    `stable` says) and NaN sorts above everything, as torch.sort; values carry the
    gradient."""
    if input.ndim == 0:
        from ._creation import zeros
        from ._dtype import int64

        return MinMax(input.clone(), zeros((), dtype=int64))
    d = _dim("sort", dim, input.ndim)
    idx = _from_numpy(_order(_values(input), d, descending))
    return MinMax(input.gather(d, idx), idx)


def argsort(input: Tensor, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False) -> Tensor:
    return sort(input, dim, descending, stable)[1]


def _sort_key(moved: np.ndarray, descending: builtins.bool) -> np.ndarray:
    """Keys whose ascending order is _order's: NaN above everything, and for descending
    the order reversed.  Floats without NaN are their own keys (negated for descending:
    -0.0 and 0.0 still tie); otherwise int64 keys, reversed by bitwise not (no overflow)."""
    if moved.dtype.kind == "f" and not np.isnan(moved).any():
        return -moved if descending else moved
    if moved.dtype.kind == "f":  # (+ 0.0: -0.0 and 0.0 tie, as in the sort)
        bits = (np.where(np.isnan(moved), np.inf, moved).astype(np.float64) + 0.0).view(np.int64)
        key = np.where(bits < 0, np.int64(-2 ** 63) - bits - 1, bits)  # monotone in the value
        key = np.where(np.isnan(moved), np.iinfo(np.int64).max, key)
    else:
        key = moved.astype(np.int64)
    return ~key if descending else key


def _first_k(x: np.ndarray, axis: int, k: int, descending: builtins.bool) -> np.ndarray:
    """_order(x, axis, descending) cut to its first k along axis, without a full sort: a
    partition finds each line's k-th key; the keys below it and the first (by index) of
    those equal to it are the first k of the stable sort, which then orders just them.
    NOTE: topk(k=10) of 1e6 floats sorted them all: 122 ms, against 2.4 ms for PyTorch."""
    # (lines made contiguous first: partitioning a strided view along dim 0 of (1024, 512)
    # took 14 ms for k = 10, against PyTorch's 1.3)
    moved = np.ascontiguousarray(np.moveaxis(x, axis, -1))
    if moved.dtype.kind == "b":
        moved = moved.astype(np.int64)
    n = moved.shape[-1]
    if k >= n or 4 * k > n:  # most of the line: the sort itself is cheaper
        return np.moveaxis(np.moveaxis(_order(x, axis, descending), axis, -1)[..., :k], -1, axis)
    key = _sort_key(moved, descending)
    lead = key.shape[:-1]
    if k == 0:
        return np.moveaxis(np.zeros(lead + (0,), np.int64), -1, axis)
    kth = np.partition(key, k - 1, axis=-1)[..., k - 1:k]
    less = key < kth
    equal = key == kth
    need = k - less.sum(axis=-1, keepdims=True)
    chosen = less | (equal & (np.cumsum(equal, axis=-1) <= need))
    idx = np.nonzero(chosen.reshape(-1, n))[1].reshape(lead + (k,))  # ascending index per line
    order = np.argsort(np.take_along_axis(key, idx, -1), axis=-1, kind="stable")
    return np.moveaxis(np.take_along_axis(idx, order, -1).astype(np.int64), -1, axis)


def topk(input: Tensor, k: int, dim: int = -1, largest: builtins.bool = True, sorted: builtins.bool = True) -> MinMax:
    """The k largest (or smallest) elements along dim and their indices, in order: the
    first k of sort(descending=largest), ties in index order (values carry the gradient)."""
    d = _dim("topk", dim, input.ndim)
    size = input.shape[d] if input.ndim else 1
    if not 0 <= int(k) <= size:
        raise RuntimeError(f"topk: selected index k out of range (k = {k}, size along dim {d} is {size})")
    if input.ndim == 0:
        return sort(input, d, descending=largest)
    idx = _from_numpy(_first_k(_values(input), d, int(k), largest))
    return MinMax(input.gather(d, idx), idx)


def nonzero(input: Tensor, *, as_tuple: builtins.bool = False) -> Any:
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with as_tuple
    one 1-d tensor per dim."""
    where_ = np.nonzero(np.atleast_1d(_values(input)))
    if as_tuple:
        return tuple(_from_numpy(w.astype(np.int64)) for w in where_)
    return _from_numpy(np.stack(where_, axis=1).astype(np.int64).reshape(-1, builtins.max(input.ndim, 1))
                       if input.ndim else np.stack(where_, axis=1).astype(np.int64)[:, :0])


# ---- blends and norms ---------------------------------------------------------------
def lerp(input: Tensor, end: Tensor, weight: _TensorOrNumber) -> Tensor:
    """input + weight * (end - input), computed as PyTorch does: from `end` back when the
    weight is at least 0.5."""
    from ._functions import where

    diff = end - input
    if not isinstance(weight, Tensor):
        w = float(weight)
        return input + diff * w if builtins.abs(w) < 0.5 else end - diff * (1 - w)
    return where(weight.abs() < 0.5, input + weight * diff, end - diff * (1 - weight))


def norm(input: Tensor, p: Any = "fro", dim: int | Sequence[int] | None = None,
         keepdim: builtins.bool = False, dtype: Any = None) -> Tensor:
    """The p-norm over dim (all elements when None): p = 2 / 'fro', 1, inf, -inf, 0 or
    any other positive number, as torch.norm.  The 2-norm's gradient at a zero vector
    is zero (as PyTorch's), not NaN."""
    x = input if dtype is None else input.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"norm: expected a floating point tensor, got {x.dtype}")
    if p in ("fro", 1, 2):
        return _norm_1_or_2(x, 1.0 if p == 1 else 2.0, dim, builtins.bool(keepdim))
    dims: Any = dim if dim is None or isinstance(dim, (int, np.integer)) else tuple(dim)

    def reduce_sum(t: Tensor) -> Tensor:
        return t.sum() if dims is None and not keepdim else t.sum(
            tuple(range(t.ndim)) if dims is None else dims, keepdim)

    if p in (math.inf, "inf", -math.inf, "-inf"):
        largest = p in (math.inf, "inf")
        out = x.abs()
        for d in sorted((_dim("norm", int(d), x.ndim) for d in (
                range(x.ndim) if dims is None else [dims] if isinstance(dims, (int, np.integer)) else dims)),
                reverse=True):
            out = out.amax(d, keepdim) if largest else out.amin(d, keepdim)
        return out
    if p == 0:
        return reduce_sum((x != 0).to(x.dtype))
    if isinstance(p, str) or float(p) <= 0:
        raise RuntimeError(f"norm: p={p!r} is not supported")
    from ._functions import where

    if not x.requires_grad:
        powers = x.abs().pow(float(p))
    else:  # |x|^p's gradient is infinite at 0 when p < 1: a stand-in 1 there, then 0
        magnitude = x.abs()
        nonzero = magnitude > 0
        powers = where(nonzero, where(nonzero, magnitude, 1.0).pow(float(p)), 0.0)
    total = reduce_sum(powers)
    if not x.requires_grad:
        return total.pow(1.0 / float(p))
    # the root's gradient is infinite at 0: take it of a stand-in 1 there, and give 0
    positive = total > 0
    stand_in = where(positive, total, 1.0)
    return where(positive, stand_in.pow(1.0 / float(p)), 0.0)


def _norm_1_or_2(x: Tensor, p: float, dims: Any, keepdim: builtins.bool) -> Tensor:
    """The 1- or 2-norm of float x over dims (None: all), added in double as it is read
    (C: pa_norm).  The gradient, as PyTorch's: sign(x) * g for the 1-norm, x * g / norm
    for the 2-norm, 0 where the norm is 0 (a zero vector).
    NOTE: x * x was a tensor of its own, then summed (and the root's gradient went
    through where): float32 (1000, 1000) along dim 1 took 0.32 ms, forward and backward
    1.16 ms; now 0.088 and 0.64 ms (PyTorch 2.13: 0.082 and 1.32); (64, 128, 128) over
    (1, 2) 0.32 -> 0.073 ms, with backward 1.24 -> 0.64 (PyTorch 0.083, 1.52); 2 threads,
    medians of interleaved runs."""
    if dims is None:
        listed = []
    elif isinstance(dims, (int, np.integer)):
        listed = [int(dims)]
    else:  # (dim=() reduces over every dim, as PyTorch)
        listed = [int(d) for d in dims] or list(range(x.ndim))
    if x.requires_grad and lib.pa_is_grad_enabled():
        return _norm_function().apply(x, p, listed, keepdim)
    return _norm_values(x, p, listed, keepdim)


def _norm_values(x: Tensor, p: float, dims: list[int], keepdim: builtins.bool) -> Tensor:
    return call(lib.pa_norm, x._h, p, len(dims), ffi.new("int64_t[]", dims) if dims else ffi.NULL, keepdim)


@functools.lru_cache(maxsize=None)
def _norm_function() -> Any:
    """The graph node of _norm_1_or_2 (made on first use: autograd imports this module)."""
    from ._functions import where
    from .autograd import Function

    class NormOneOrTwo(Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, p: float, dims: list[int], keepdim: builtins.bool) -> Tensor:
            out = _norm_values(x, p, dims, keepdim)
            reduced = {_dim("norm", d, x.ndim) for d in dims} if dims else set(range(x.ndim))
            ctx.p, ctx.kept_shape = p, tuple(1 if d in reduced else n for d, n in enumerate(x.shape))
            ctx.save_for_backward(x, out if p == 2 else None)
            return out

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> Any:
            x, norm_ = ctx.saved_tensors
            if ctx.p == 1:
                return x.sign() * grad.reshape(ctx.kept_shape), None, None, None
            return x * where(norm_ == 0, 0.0, grad / norm_).reshape(ctx.kept_shape), None, None, None

    return NormOneOrTwo


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sums along dim, accumulated in double as PyTorch's CPU kernel does (so
    float32 results are its bits; integers and bools sum in int64); the gradient is the
    reversed running sum (C: pa_cumsum)."""
    x = input if dtype is None else input.to(dtype)
    if not x.dtype.is_floating_point and x.dtype != _int64():
        x = x.to(_int64())
    return call(lib.pa_cumsum, x._h, int(dim), 0)


def _int64() -> Any:
    from ._dtype import int64

    return int64


# ---- second batch: counts, diagonals, grids, statistics -----------------------------
__all__ += ["div", "divide", "count_nonzero", "diag", "diagonal", "trace", "meshgrid", "std_mean", "var_mean", "unique",
            "bincount", "median", "prod", "einsum", "scatter", "scatter_add", "index_add", "normal",
            "bernoulli", "cdist"]


def count_nonzero(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    nz = input if input.dtype.name == "bool" else input != 0  # bools sum to int64 in C
    return nz.sum() if dim is None else nz.sum(dim)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal (offset above it when > 0) of the dim1 x dim2 planes, as the last dim:
    a view, as PyTorch's, or, when the input requires grad, a differentiable copy (one
    index_select)."""
    d1, d2 = _dim("diagonal", dim1, input.ndim), _dim("diagonal", dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal: dimensions cannot be identical {dim1}, {dim2}")
    rest = [d for d in range(input.ndim) if d not in (d1, d2)]
    from .autograd.grad_mode import is_grad_enabled

    if not (input.requires_grad and is_grad_enabled()):
        # A view, as PyTorch's: the kept dims, then one dim stepping down the diagonal.
        # NOTE: the copy below took 32 us for a (1024, 1024) diagonal, PyTorch's view 3 us.
        from ._ffi import ffi

        strides = input.stride()
        assert isinstance(strides, tuple)
        rows, cols = input.shape[d1], input.shape[d2]
        n = builtins.max(0, builtins.min(rows + builtins.min(offset, 0), cols - builtins.max(offset, 0)))
        start = input.storage_offset() + (offset * strides[d2] if offset >= 0 else -offset * strides[d1])
        shape = [input.shape[d] for d in rest] + [n]
        steps = [strides[d] for d in rest] + [strides[d1] + strides[d2]]
        return call(lib.pa_as_strided, input._h, len(shape), ffi.new("int64_t[]", shape),
                    ffi.new("int64_t[]", steps), start if n else input.storage_offset())
    x = input.permute(*rest, d1, d2)
    rows, cols = x.shape[-2], x.shape[-1]
    i = np.arange(builtins.max(0, -offset), rows)
    i = i[i + offset < cols]
    flat = x.reshape(tuple(x.shape[:-2]) + (rows * cols,))
    return flat.index_select(flat.ndim - 1, _from_numpy((i * cols + i + offset).astype(np.int64)))


_diagonal_of = diagonal  # (diag's parameter is named diagonal, as PyTorch's)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d tensor's square matrix with it on the given diagonal, or a 2-d tensor's
    diagonal, as torch.diag."""
    from ._creation import zeros
    from ._functions import where

    k = int(diagonal)
    if input.ndim == 2:
        return _diagonal_of(input, k)
    if input.ndim != 1:
        raise RuntimeError(f"diag: matrix or a vector expected, got {input.ndim}D tensor")
    n = input.shape[0]
    size = n + builtins.abs(k)
    rows, cols = np.arange(size)[:, None], np.arange(size)[None, :]
    on = (cols - rows) == k
    src = np.where(on, np.minimum(rows, cols), 0).astype(np.int64)
    placed = input.index_select(0, _from_numpy(src.reshape(-1))).reshape((size, size)) if n else input.reshape((0, 0))
    return where(_from_numpy(on), placed, zeros((), dtype=input.dtype)) if n else zeros((size, size), dtype=input.dtype)


def trace(input: Tensor) -> Tensor:
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids (expanded views) of 1-d tensors, 'ij' or 'xy' indexing."""
    ts = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else list(tensors)
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be one of 'xy' or 'ij', but received: {indexing}")
    if builtins.any(t.ndim > 1 for t in ts):
        raise RuntimeError("meshgrid: Expected 0D or 1D tensor in the tensor list")
    ts = [t.reshape((-1,)) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    order = [1, 0] + list(range(2, len(ts))) if swap else list(range(len(ts)))
    shape = tuple(ts[i].shape[0] for i in order)
    out = []
    for i, t in enumerate(ts):
        pos = order.index(i)
        view = t.reshape(tuple(-1 if j == pos else 1 for j in range(len(ts))))
        out.append(view.expand(*shape))
    return tuple(out)


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: builtins.bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return (input.std(dim, unbiased, keepdim, correction=correction),
            input.mean(dim, keepdim) if dim is not None else input.mean())


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: builtins.bool = False, *,
             correction: Any = None) -> tuple[Tensor, Tensor]:
    return (input.var(dim, unbiased, keepdim, correction=correction),
            input.mean(dim, keepdim) if dim is not None else input.mean())


def unique(input: Tensor, sorted: builtins.bool = True, return_inverse: builtins.bool = False,
           return_counts: builtins.bool = False, dim: int | None = None) -> Any:
    """The distinct values (sorted), with the inverse indices and counts on request, as
    torch.unique (not differentiable)."""
    values = _values(input)
    if dim is not None:
        d = _dim("unique", dim, input.ndim)
        u, inv, cnt = np.unique(values, return_inverse=True, return_counts=True, axis=d)
    else:
        u, inv, cnt = np.unique(values, return_inverse=True, return_counts=True)
        inv = inv.reshape(values.shape)
    out = [_from_numpy(u)]
    if return_inverse:
        out.append(_from_numpy(inv.astype(np.int64)))
    if return_counts:
        out.append(_from_numpy(cnt.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts of each value of a 1-d int64 tensor of non-negative values (weighted sums
    with weights), as torch.bincount (not differentiable)."""
    if input.ndim != 1 or input.dtype.is_floating_point or input.dtype.name == "bool":
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    v = _values(input)
    if v.size and v.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return _from_numpy(np.bincount(v, minlength=int(minlength)).astype(np.int64))
    w = _values(weights)
    out = np.bincount(v, weights=w.astype(np.float64), minlength=int(minlength))
    return _from_numpy(out.astype(w.dtype if w.dtype.kind == "f" and w.dtype.itemsize == 4 else np.float64))


def median(input: Tensor, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
    """The lower median, as torch.median: of all elements, a 0-d tensor (NaN if any
    element is NaN; NaN for an empty float tensor), whose gradient is shared evenly among
    the elements equal to it; along dim, (values, indices), the index PyTorch's kernel
    picks (the element at position (n - 1) // 2 of the line sorted stably; the first NaN
    of a line with one), the gradient going to that element."""
    return _median("median", input, dim, keepdim, False)


def _median(op: str, input: Tensor, dim: int | None, keepdim: builtins.bool, ignore_nan: builtins.bool) -> Any:
    """median and nanmedian (ignore_nan: the lower median of the non-NaN elements)."""
    if input.dtype.name == "bool":
        raise NotImplementedError("\"median_cpu\" not implemented for 'Bool'")
    if dim is None:
        return _median_of_all(op, input, ignore_nan)
    d = _dim(op, dim, input.ndim)
    if input.ndim == 0:
        return MinMax(input.clone(), _from_numpy(np.zeros((), dtype=np.int64)))
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    # the lines along d, contiguous (the core's blocked transpose: NumPy's copy of a
    # (1000, 1000) float32 transpose took 0.7 ms, this 0.3)
    moved = input.detach() if d == input.ndim - 1 else input.detach().movedim(d, -1)
    lines = _values(moved.contiguous()).reshape(-1, n)
    idx = _median_positions(lines, ignore_nan) if lines.size else np.zeros(0, np.int64)
    kept = tuple(moved.shape[:-1])
    if input.requires_grad and lib.pa_is_grad_enabled():  # gathered: the gradient goes to idx
        index = _from_numpy(np.expand_dims(idx.reshape(kept), d))
        values = input.gather(d, index)
        return MinMax(values, index) if keepdim else MinMax(values.squeeze(d), index.squeeze(d))
    picked = lines[np.arange(lines.shape[0]), idx].reshape(kept)
    idx = idx.reshape(kept)
    if keepdim:
        picked, idx = np.expand_dims(picked, d), np.expand_dims(idx, d)
    return MinMax(_from_numpy(picked), _from_numpy(idx))


def _median_positions(lines: np.ndarray, ignore_nan: builtins.bool) -> np.ndarray:
    """The index of each row's median in a C-contiguous (R, n) array (n >= 1), the one
    PyTorch's CPU kernel returns: it partitions indices with nth_element, ordered by
    (value, index), so the pick is the element at position k = (n - 1) // 2 of the row
    sorted stably, equal values in index order.  With a NaN in the row, median picks the
    first NaN; nanmedian takes k = (m - 1) // 2 among the m non-NaN elements, and in a
    row of NaNs alone the one libstdc++'s nth_element leaves first (_nan_row_position).
    NOTE: this was a stable argsort of every row: median of (1000, 1000) float32 along
    dim 1 took 51 ms, along dim 0 54 ms (PyTorch 2.13: 6.4 and 8.7; 2 threads, medians of
    interleaved runs).  A partition (SIMD in NumPy) finds the k-th value v; the pick is
    the first element equal to v, or, where the partition put elements equal to v below
    position k, the one after as many more: 3.0 and 3.5 ms."""
    rows, n = lines.shape
    k = (n - 1) // 2
    part = np.partition(lines, k, axis=1)
    kth, ks = part[:, k].copy(), np.full(rows, k, dtype=np.int64)
    # elements equal to kth that come before the pick, in index order: those of them the
    # partition put below position k (looked for where the part below reaches kth)
    skip = np.zeros(rows, dtype=np.int64)
    if k:
        tied = np.flatnonzero(part[:, :k].max(axis=1) == kth)
        skip[tied] = np.count_nonzero(part[tied, :k] == kth[tied, None], axis=1)
    # NaN sorts above everything: a row has one exactly when its top part's max is NaN
    nan_rows = np.flatnonzero(np.isnan(part[:, k:].max(axis=1))) if lines.dtype.kind == "f" else np.zeros(0, int)
    if ignore_nan and nan_rows.size:  # rows with numbers too: their median by a sort
        count = n - np.count_nonzero(np.isnan(lines[nan_rows]), axis=1)
        some, nan_rows = nan_rows[count > 0], nan_rows[count == 0]
        ks[some] = (count[count > 0] - 1) // 2
        kth[some] = np.take_along_axis(np.sort(lines[some], axis=1), ks[some, None], 1)[:, 0]
        skip[some] = ks[some] - np.count_nonzero(lines[some] < kth[some, None], axis=1)
    equal = lines == kth[:, None]
    idx = np.argmax(equal, axis=1)
    skip[nan_rows] = 0
    tied = np.flatnonzero(skip > 0)
    if tied.size:
        seen = np.cumsum(equal[tied], axis=1, dtype=np.int64)
        idx[tied] = np.argmax(seen > skip[tied, None], axis=1)
    if nan_rows.size:
        idx[nan_rows] = _nan_row_position(n) if ignore_nan else np.argmax(np.isnan(lines[nan_rows]), axis=1)
    return idx.astype(np.int64, copy=False)


def _nan_row_position(n: int) -> int:
    """The index nanmedian returns for a row of n NaNs.  PyTorch partitions the row's
    indices with std::nth_element for position (0 - 1) / 2 = 0, and NaNs compare as
    equivalent, so the index is whichever one libstdc++'s introselect leaves first,
    replayed here: each round moves the middle element first (its median-of-three pivot),
    and the unguarded partition swaps the rest end for end (a reversal), stopping halfway,
    where the range is cut; ranges of 3 or fewer are insertion-sorted, which moves
    nothing.  (A build on another C++ library may pick another NaN.)"""
    order = list(range(n))
    first, last, depth = 0, n, 2 * (n.bit_length() - 1) if n else 0
    while last - first > 3 and depth > 0:
        depth -= 1
        mid = first + (last - first) // 2
        order[first], order[mid] = order[mid], order[first]
        order[first + 1:last] = order[first + 1:last][::-1]
        last = first + 1 + (last - first - 1) // 2  # the cut lies past position 0: keep what is before it
    return order[first] if n else 0


def _lower_median(flat: np.ndarray) -> np.ndarray:
    """The lower median of a 1-d array (non-empty) as a 0-d array, NaN if it has one.
    (Of +0 and -0 both in the middle, either, as PyTorch, whose std::nth_element leaves
    one or the other.)
    NOTE: the median of 1e6 float32 took 109 ms through a stable argsort, now 1.6 ms
    (PyTorch 2.13: 9.8 ms, 2 threads)."""
    k = (flat.size - 1) // 2
    part = np.partition(flat, k)
    if part.dtype.kind == "f" and np.isnan(part[k:].max()):  # NaN sorts above everything
        return np.array(np.nan, dtype=flat.dtype)
    return np.array(part[k])


def _median_of_all(op: str, input: Tensor, ignore_nan: builtins.bool) -> Tensor:
    """median / nanmedian over all elements; the gradient shared evenly among the
    elements equal to the result (the NaNs when it is NaN), as PyTorch's."""
    flat = _values(input).reshape(-1)
    if flat.size == 0:
        if not input.dtype.is_floating_point:
            raise RuntimeError(f"{op}() input tensor cannot be empty")
        return _from_numpy(np.array(np.nan, dtype=input.dtype.numpy))  # as PyTorch
    value = _lower_median(flat)
    if ignore_nan and np.isnan(value):  # the median of the numbers among the NaNs
        numbers = flat[~np.isnan(flat)]
        value = _lower_median(numbers) if numbers.size else value
    pick = value[()]
    if not (input.requires_grad and lib.pa_is_grad_enabled()):
        return _from_numpy(value)
    ties = np.flatnonzero(np.isnan(flat) if np.isnan(pick) else flat == pick)
    shape, dtype = tuple(input.shape), flat.dtype

    def backward(grad: Tensor) -> tuple[Tensor]:
        out = np.zeros(flat.size, dtype=dtype)
        out[ties] = _values(grad) / ties.size
        return (_from_numpy(out.reshape(shape)),)

    return _recorded(value, (input,), backward)


def prod(input: Tensor, dim: int | None = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
    """The product of the elements (along dim), multiplied in double (C: pa_prod); the
    gradient is the product of the other elements: prod / x without zeros (PyTorch's
    formula), else prefix times suffix products (exact with zeros, no division)."""
    x = input if dtype is None else input.to(dtype)
    if not x.dtype.is_floating_point and x.dtype != _int64():
        x = x.to(_int64())
    d = None if dim is None else _dim("prod", dim, x.ndim)

    def values_of(t: Tensor, keep: builtins.bool) -> Tensor:
        return call(lib.pa_prod, t._h, d is not None, 0 if d is None else d, keep)

    out = values_of(x, builtins.bool(keepdim))
    if not x.requires_grad:
        return out
    v = _values(x).copy()

    def backward(grad: Tensor) -> tuple[Tensor]:
        axis = 0 if d is None else d
        w = v.reshape(-1) if d is None or v.ndim == 0 else v
        if w.shape[axis] == 0:  # nothing to differentiate
            return (_from_numpy(np.zeros(v.shape, dtype=v.dtype)),)
        if not (w == 0).any():
            w64 = w.astype(np.float64)
            total = _values(values_of(_from_numpy(w64), True))
            others = (total / w64).reshape(v.shape)
        else:
            ones = np.ones_like(np.take(w, [0], axis=axis))
            before = np.cumprod(np.concatenate([ones, np.take(w, np.arange(w.shape[axis] - 1), axis=axis)], axis),
                                axis)
            after = np.flip(np.cumprod(np.concatenate([ones, np.flip(np.take(
                w, np.arange(1, w.shape[axis]), axis=axis), axis)], axis), axis), axis)
            others = (before * after).reshape(v.shape)
        g = grad if d is None or keepdim or v.ndim == 0 else grad.unsqueeze(d)
        return (g * _from_numpy(others.astype(v.dtype)),)

    return _recorded(_values(out).copy(), (x,), backward)


# ---- einsum -------------------------------------------------------------------------
def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation as torch.einsum (explicit '->' or implicit output, '...'
    broadcasting dims), computed by NumPy; the gradient of each operand is the einsum of
    the output gradient with the other operands (broadcast over labels only it has)."""
    ops = list(operands[0]) if len(operands) == 1 and isinstance(operands[0], (list, tuple)) else list(operands)
    eq = equation.replace(" ", "")
    if "->" not in eq:
        lhs = eq
        letters = [c for c in lhs.replace(",", "").replace(".", "") if c.isalpha()]
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        eq = lhs + "->" + ("..." if "..." in lhs else "") + out
    lhs, rhs = eq.split("->")
    subs = lhs.split(",")
    if len(subs) != len(ops):
        raise ValueError("einsum(): more operands were provided than specified in the equation"
                         if len(ops) > len(subs) else "einsum(): fewer operands were provided than "
                         "specified in the equation")
    fast = _einsum_by_matmul(subs, rhs, ops)
    if fast is not None:
        return fast
    arrays = [_values(t) for t in ops]
    dt = ops[0].dtype
    with np.errstate(all="ignore"):
        values = np.asarray(np.einsum(eq, *arrays, optimize=len(ops) > 2), dtype=dt.numpy)
    needs = [t.requires_grad for t in ops]
    if not builtins.any(needs):
        return _from_numpy(values)
    arrays = [a.copy() for a in arrays]  # the values the forward saw (see _recorded)
    for k, sub in enumerate(subs):
        labels = sub.replace("...", "")
        if needs[k] and "..." in sub and len(set(labels)) != len(labels):
            raise NotImplementedError(f"einsum: the gradient of operand {k} ({sub!r}) with both '...' and a "
                                      "repeated label is not supported")

    def grad_for(k: int, grad: np.ndarray) -> np.ndarray:
        others = [a for j, a in enumerate(arrays) if j != k]
        other_subs = [sub for j, sub in enumerate(subs) if j != k]
        target, shape = subs[k], arrays[k].shape
        present = set(rhs) | set("".join(other_subs))
        if "..." in target:  # (no repeated label: checked above)
            keep = "".join(c for c in target if c in present or c == ".")
            g = np.einsum(",".join([rhs] + other_subs) + "->" + keep, grad, *others)
            for pos, c in enumerate(target.replace("...", "")):
                if c not in keep:  # a label only this operand has: broadcast back over it
                    g = np.expand_dims(g, pos)
            return np.ascontiguousarray(np.broadcast_to(g, shape), dtype=arrays[k].dtype)
        uniq = "".join(dict.fromkeys(target))  # each label once, in order
        size = {c: shape[target.index(c)] for c in uniq}
        keep = "".join(c for c in uniq if c in present)
        g = np.einsum(",".join([rhs] + other_subs) + "->" + keep, grad, *others)
        g = np.broadcast_to(g.reshape(tuple(size[c] if c in keep else 1 for c in uniq)),
                            tuple(size[c] for c in uniq))
        out = np.zeros(shape, dtype=arrays[k].dtype)
        np.einsum(f"{target}->{uniq}", out)[...] = g  # a writable view: the diagonals of repeated labels
        return out

    return _recorded(values, ops, lambda grad: tuple(
        _from_numpy(grad_for(k, _values(grad))) if need else None for k, need in enumerate(needs)))


def _einsum_by_matmul(subs: list[str], rhs: str, ops: list[Any]) -> Tensor | None:
    """One or two floating operands of one dtype, no '...' and no label twice in a term:
    sums over the labels only one operand has, then a batched matmul of the operands
    permuted to (batch, kept, contracted) and (batch, contracted, kept), permuted to the
    output's order, as PyTorch computes einsum.  Differentiable through those ops; a lone
    permutation ('ij->ji') is a view, as in PyTorch.  None where it does not apply.
    NOTE: NumPy's einsum without BLAS: 'bhqd,bhkd->bhqk' on (8, 8, 128, 64) took 10 ms
    forward (16x PyTorch), 'bij,bjk->bik' on 64 128x128 pairs 19 ms (18x)."""
    if not 1 <= len(ops) <= 2 or "." in "".join(subs) + rhs or not builtins.all(isinstance(t, Tensor) for t in ops):
        return None
    if builtins.any(len(set(sub)) != len(sub) for sub in subs + [rhs]):
        return None
    if len({t.dtype for t in ops}) != 1 or not ops[0].dtype.is_floating_point:
        return None
    sizes: dict[str, int] = {}
    for sub, t in zip(subs, ops):
        if len(sub) != t.ndim:
            return None
        for c, n in zip(sub, t.shape):
            if sizes.setdefault(c, n) != n:
                return None
    if builtins.any(c not in sizes for c in rhs):
        return None

    def sum_alone(t: Tensor, sub: str, other: str) -> tuple[Tensor, str]:
        drop = tuple(i for i, c in enumerate(sub) if c not in rhs and c not in other)
        if not drop:
            return t, sub
        return t.sum(dim=drop), "".join(c for i, c in enumerate(sub) if i not in drop)

    def permuted(t: Tensor, sub: str, order: list[str]) -> Tensor:
        perm = [sub.index(c) for c in order]
        return t if perm == list(range(len(perm))) else t.permute(*perm)

    if len(ops) == 1:
        t, sub = sum_alone(ops[0], subs[0], "")
        return permuted(t, sub, list(rhs))
    (a, sa), (b, sb) = sum_alone(ops[0], subs[0], subs[1]), sum_alone(ops[1], subs[1], subs[0])
    batch = [c for c in sa if c in sb and c in rhs]
    contracted = [c for c in sa if c in sb and c not in rhs]
    m, n = [c for c in sa if c not in sb], [c for c in sb if c not in sa]

    def size(labels: list[str]) -> int:
        return int(np.prod([sizes[c] for c in labels], dtype=np.int64))

    lhs = permuted(a, sa, batch + m + contracted).reshape(size(batch), size(m), size(contracted))
    rhs_op = permuted(b, sb, batch + contracted + n).reshape(size(batch), size(contracted), size(n))
    # nothing contracted: an outer or elementwise product, as a broadcast multiply; only
    # contracted (a batch of dot products): multiply and sum, not 1 x K @ K x 1 products
    if not contracted:
        prod = lhs * rhs_op
    elif not m and not n:
        prod = (lhs * rhs_op.transpose(1, 2)).sum(2, keepdim=True)
    else:
        prod = lhs @ rhs_op
    out = prod.reshape(tuple(sizes[c] for c in batch + m + n))
    return permuted(out, "".join(batch + m + n), list(rhs))


# ---- scatter and index_add ----------------------------------------------------------
# The values come from C (pa_scatter, pa_index_put: index ranges checked there, repeated
# indices resolved in index order, the ScatterBackward node recorded); Python raises
# PyTorch's RuntimeErrors for the shape mismatches first.
def _check_scatter(op: str, input: Tensor, dim: int, index: Tensor, src_shape: tuple[int, ...] | None) -> int:
    d = _dim(op, dim, input.ndim)
    if index.dtype.name != "int64":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")
    if index.ndim != input.ndim:
        raise RuntimeError(f"{op}: Index tensor must have the same number of dimensions as self tensor")
    for i, n in enumerate(index.shape):
        if i != d and n > input.shape[i]:
            raise RuntimeError(f"{op}: Size does not match at dimension {i} expected index {tuple(index.shape)} "
                               f"to be smaller than self {tuple(input.shape)} apart from dimension {d}")
        if src_shape is not None and n > src_shape[i]:
            raise RuntimeError(f"{op}: Size does not match at dimension {i} expected index {tuple(index.shape)} "
                               f"to be smaller than src {src_shape}")
    return d


def _inplace_ok(input: Tensor, src: Any) -> builtins.bool:
    """Whether an in-place op may write input directly: nothing for autograd to record."""
    from .autograd.grad_mode import is_grad_enabled

    return not (is_grad_enabled() and (input.requires_grad or (isinstance(src, Tensor) and src.requires_grad)))


def _scatter(op: str, input: Tensor, dim: int, index: Tensor, src: Any, value: Any, reduce: Any,
             inplace: builtins.bool) -> Tensor:
    """scatter / scatter_add (op), out of place or (inplace) into input."""
    if reduce is not None:
        raise NotImplementedError("scatter: reduce= is not supported (use scatter_add)")
    source = value if src is None else src
    if source is None:
        raise TypeError("scatter: expected src or value")
    src_t = source if isinstance(source, Tensor) else None
    if op == "scatter_add" and src_t is None:
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(source).__name__}")
    d = _check_scatter(op, input, dim, index, tuple(src_t.shape) if src_t is not None else None)
    mode = lib.PA_SCATTER_ADD if op == "scatter_add" else lib.PA_SCATTER_COPY if src_t is not None \
        else lib.PA_SCATTER_FILL
    if inplace and not _inplace_ok(input, src_t):
        return input._assign(op, _scatter(op, input, dim, index, src, value, reduce, False))
    out = call(lib.pa_scatter, input._h, d, index._h, src_t._h if src_t is not None else ffi.NULL,
               0.0 if src_t is not None else float(source), mode, 1 if inplace else 0)
    return input if inplace else out


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: Any = None) -> Tensor:
    """A copy of input with src (or value) written at index along dim, as torch.scatter
    (with repeated indices the last write wins); differentiable in input and src."""
    return _scatter("scatter", input, dim, index, src, value, reduce, False)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """input plus src added at index along dim (repeated indices accumulate in index
    order), as torch.scatter_add; differentiable in input and src."""
    return _scatter("scatter_add", input, dim, index, src, None, None, False)


def _index_put(op: str, input: Tensor, dim: int, index: Tensor, source: Any, alpha: _Number,
               inplace: builtins.bool) -> Tensor:
    """index_add / index_copy / index_fill (op; source a tensor, or index_fill's value),
    out of place or (inplace) into input."""
    d = _dim(op, dim, input.ndim)
    if index.ndim > 1 or index.dtype.name != "int64":
        raise RuntimeError(f"{op}_(): Index is supposed to be a vector of int64")
    fill = op == "index_fill"
    if fill and isinstance(source, Tensor):
        if source.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{source.ndim} dimension(s).")
        if not source.requires_grad:
            source = source.item()
    if not fill or isinstance(source, Tensor):
        src = source if isinstance(source, Tensor) else None
        if src is None:
            raise TypeError(f"{op}: source must be a Tensor, got {type(source).__name__}")
        if fill:  # a 0-dim value that requires grad: the value broadcast to the filled slices
            shape = list(input.shape)
            if input.ndim:
                shape[d] = index.numel()
            src = src.to(input.dtype).expand(*shape)
        elif src.ndim != input.ndim or builtins.any(
                i != d and src.shape[i] != input.shape[i] for i in range(input.ndim)):
            raise RuntimeError(f"{op}_(): source tensor shape must match self tensor shape, excluding the "
                               f"specified dimension. Got self.shape = {list(input.shape)} source.shape = "
                               f"{list(src.shape)}")
        elif index.numel() != (src.shape[d] if src.ndim else 1):
            raise RuntimeError(f"{op}_(): Number of indices ({index.numel()}) should be equal to "
                               f"source.size(dim) ({src.shape[d] if src.ndim else 1})")
        mode = lib.PA_SCATTER_ADD if op == "index_add" else lib.PA_SCATTER_COPY
        args = (src._h, 0.0)
    else:
        src = None
        mode = lib.PA_SCATTER_FILL
        args = (ffi.NULL, float(source))
    if inplace and not _inplace_ok(input, src):
        return input._assign(op, _index_put(op, input, dim, index, source, alpha, False))
    out = call(lib.pa_index_put, input._h, d, index._h, *args, float(alpha), mode, 1 if inplace else 0)
    return input if inplace else out


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: _Number = 1) -> Tensor:
    """input with alpha * source's slices added at the positions index gives along dim
    (repeated indices accumulate in index order), as torch.index_add; differentiable."""
    return _index_put("index_add", input, dim, index, source, alpha, False)


# ---- random -------------------------------------------------------------------------
def normal(mean: Any, std: Any = 1.0, size: Sequence[int] | None = None, *, generator: Any = None,
           dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """Draws of N(mean, std): tensors mean/std broadcast, or numbers with `size`; from
    the one generator behind randn (the stream is pyautodiff's, not PyTorch's)."""
    from ._creation import randn

    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal: with float mean and std, size is required")
        out = randn(*tuple(size), dtype=dtype, generator=generator) * float(std) + float(mean)
    else:
        ref = mean if isinstance(mean, Tensor) else std
        shape = np.broadcast_shapes(tuple(mean.shape) if isinstance(mean, Tensor) else (),
                                    tuple(std.shape) if isinstance(std, Tensor) else ())
        if isinstance(std, Tensor) and bool((std < 0).any().item()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        noise = randn(*shape, dtype=ref.dtype, generator=generator)
        out = (noise * (std.detach() if isinstance(std, Tensor) else float(std))
               + (mean.detach() if isinstance(mean, Tensor) else float(mean)))
    return out.requires_grad_() if requires_grad else out


def bernoulli(input: Tensor, p: float | None = None, *, generator: Any = None) -> Tensor:
    """0/1 draws with probabilities input (or p), in input's dtype."""
    from ._creation import rand

    probs = input.detach() if p is None else None
    if probs is not None and bool(((probs < 0) | (probs > 1)).any().item()):
        raise RuntimeError("bernoulli: all elements of input should be between 0 and 1")
    u = rand(*tuple(input.shape), dtype=input.dtype if input.dtype.is_floating_point else None,
             generator=generator)
    return (u < (probs if probs is not None else float(p))).to(input.dtype)  # type: ignore[arg-type]


_CDIST_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Distances between the rows of x1 (..., P, M) and x2 (..., R, M): (..., P, R).
    As PyTorch: the Euclidean distance (p = 2) goes through one matrix product,
    sqrt(max(|a|^2 - 2 a.b + |b|^2, 1e-30)), when compute_mode asks for it or (the
    default) when P or R exceeds 25; otherwise, and for other p, the distances are
    computed directly (the 2-norm with a zero gradient at zero distance).
    NOTE: measured (2 threads, float32): 1000 x 1000 points of 64 dimensions took 115 ms
    through the (P, R, M) difference tensor, 1.2 ms through the product (PyTorch 2.13:
    0.94 ms); 256 x 512 of 128, 14.4 -> 0.35 ms (PyTorch 0.30)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, X2 got: {x2.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if compute_mode not in _CDIST_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    if not isinstance(p, (int, float, np.integer, np.floating)) or p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    through_product = p == 2 and compute_mode != "donot_use_mm_for_euclid_dist" and (
        compute_mode == "use_mm_for_euclid_dist" or x1.shape[-2] > 25 or x2.shape[-2] > 25)
    if through_product:
        return _euclidean_dist(x1, x2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return norm(diff, p=p, dim=-1)


def _euclidean_dist(x1: Tensor, x2: Tensor) -> Tensor:
    """PyTorch's product form of the Euclidean distance, with its rounding: [-2 a, |a|^2,
    1] @ [b, 1, |b|^2]^T, clamped at 1e-30 before the square root (so coinciding points
    give 1e-15 and a zero gradient)."""
    from ._creation import ones_like
    from ._functions import cat

    n1 = x1.pow(2).sum(-1, keepdim=True)
    n2 = x2.pow(2).sum(-1, keepdim=True)
    a = cat([x1 * -2, n1, ones_like(n1)], -1)
    b = cat([x2, ones_like(n2), n2], -1)
    return (a @ b.transpose(-2, -1)).clamp_min(1e-30).sqrt()


def div(input: _TensorOrNumber, other: _TensorOrNumber, *, rounding_mode: str | None = None) -> Tensor:
    """input / other; rounding_mode 'trunc' or 'floor' rounds the quotient (a zero
    gradient then, as PyTorch's), as torch.div."""
    from ._tensor import binary

    if rounding_mode is None:
        return binary("div", input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode != "trunc":
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
                         f"'{rounding_mode}'")
    a, b = _division_operands("div", input, other)
    values, _ = _div_values("div", a, b, lambda x, y: np.trunc(x / y) if x.dtype.kind == "f"
                            else np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y)))
    return _zero_gradient(values, a, b)


divide = div
