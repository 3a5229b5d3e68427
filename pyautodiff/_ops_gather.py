"""torch.take_along_dim and torch.scatter_reduce (Tensor methods of the same names
delegate here).  The arguments are checked here, in PyTorch's order and with its
exceptions; the values come from one C call each over the gather / scatter walk of
csrc/ops/index.c (pa_take_along_dim, pa_scatter_reduce).  take_along_dim's gradient is
gather's (a C node); scatter_reduce's is recorded here, as PyTorch's formulas composed of
C ops.

NOTE (timings): 2 threads on the 2-core development machine (shared, so the best of 56
runs interleaved with PyTorch 2.13's), a (1000, 1000) float32 input and a (1000, 1000)
index; ranges are include_self=True .. False:
  take_along_dim   dim 1 0.78 ms (PyTorch 2.34), dim 0 1.65 (3.98), dim=None 0.94 (1.03);
                   every index in [1000, 2000), dim 1: 2.28 (2.42).  PyTorch takes the
                   index modulo the size in a pass of its own; here that pass only runs
                   when an index lies outside [-size, size).
  scatter_reduce   dim 1: sum/prod 0.98-1.42 ms (0.88-2.37), amax/amin 1.13-1.63
                   (3.20-3.59), mean 3.62-3.81 (2.94-6.29); dim 0: sum/prod 2.00-3.02
                   (2.68-5.25), amax/amin 2.27-3.42 (6.19-6.82), mean 6.25-6.94 (7.55-11.71).
"""
from __future__ import annotations

import builtins
import operator
from typing import Any

from ._ffi import ffi, lib
from ._tensor import Tensor, call
from .autograd.function import Function

__all__ = ["take_along_dim", "scatter_reduce"]

_REDUCTIONS = {"sum": lib.PA_REDUCE_SUM, "prod": lib.PA_REDUCE_PROD, "mean": lib.PA_REDUCE_MEAN,
               "amax": lib.PA_REDUCE_AMAX, "amin": lib.PA_REDUCE_AMIN,
               # (PyTorch 2.13 takes these two too, though its message names only the five)
               "max": lib.PA_REDUCE_AMAX, "min": lib.PA_REDUCE_AMIN}


def _require(op: str, name: str, position: int | None, value: Any, kind: Any, kind_name: str) -> None:
    """PyTorch's TypeError for an argument of the wrong type."""
    if not isinstance(value, kind):
        where = f" (position {position})" if position else ""
        raise TypeError(f"{op}(): argument '{name}'{where} must be {kind_name}, not {type(value).__name__}")


def _int_arg(op: str, name: str, position: int, value: Any) -> int:
    """value as an int (NumPy integers too), or PyTorch's TypeError (a bool or float is no int)."""
    try:
        if not isinstance(value, builtins.bool):
            return operator.index(value)
    except TypeError:
        pass
    raise TypeError(f"{op}(): argument '{name}' (position {position}) must be int, not {type(value).__name__}")


def _dim_in_range(op: str, dim: int, ndim: int) -> int:
    """dim normalised for a tensor of ndim dims (0-dim ones take 0 and -1), or PyTorch's
    IndexError."""
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}(): Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n


def _int_dtype_name(t: Tensor) -> str:
    """PyTorch's scalar type name (`Long`, `Float`, ...) of t's dtype."""
    return {"float32": "Float", "float64": "Double", "int64": "Long", "bool": "Bool"}[t.dtype.name]


# ---- take_along_dim -----------------------------------------------------------------
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """The values of input at indices along dim, as torch.take_along_dim (NumPy's
    take_along_axis): input and indices broadcast in the other dims; dim=None flattens
    both.  With a dim every index is taken modulo input.size(dim), as PyTorch 2.13 does
    (-1 is the last, size + 1 the second); flattened, an index outside [0, numel) is a
    RuntimeError.  Differentiable in input.

    >>> x = torch.tensor([[10., 30., 20.], [60., 40., 50.]])
    >>> torch.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1)  # [[30.], [60.]]
    """
    op = "take_along_dim"
    _require(op, "input", 1, input, Tensor, "Tensor")
    _require(op, "indices", 2, indices, Tensor, "Tensor")
    if dim is None:
        if indices.dtype.name != "int64":
            raise RuntimeError(f"{op}(): gather(): Expected dtype int64 for index, got {indices.dtype.name}")
        return call(lib.pa_take_along_dim, input.reshape(-1)._h, 0, indices.reshape(-1)._h, 0)
    dim = _int_arg(op, "dim", 3, dim)
    if indices.dtype.name != "int64":
        raise RuntimeError(f"torch.{op}(): dtype of indices should be Long but got {_int_dtype_name(indices)}")
    if input.ndim != indices.ndim:
        raise RuntimeError(f"torch.{op}(): input and indices should have the same number of dimensions, but "
                           f"got {input.ndim} dimensions for input, and {indices.ndim} dimensions for indices")
    if input.ndim == 0:
        raise IndexError(f"{op}(): Dimension specified as {dim} but tensor has no dimensions")
    d = _dim_in_range(op, dim, input.ndim)
    # Broadcast the other dims (PyTorch broadcasts both); along dim each keeps its size.
    in_shape, ix_shape = list(input.shape), list(indices.shape)
    for k, (a, b) in enumerate(zip(in_shape, ix_shape)):
        if k == d:
            continue
        if a != b and a != 1 and b != 1:
            raise RuntimeError(f"{op}(): The size of tensor a ({a}) must match the size of tensor b ({b}) at "
                               f"non-singleton dimension {k}")
        in_shape[k] = ix_shape[k] = b if a == 1 else a
    x = input if in_shape == list(input.shape) else input.expand(*in_shape)
    i = indices if ix_shape == list(indices.shape) else indices.expand(*ix_shape)
    return call(lib.pa_take_along_dim, x._h, d, i._h, 1)


# ---- scatter_reduce -----------------------------------------------------------------
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: builtins.bool = True) -> Tensor:
    """A copy of input where each position that index names along dim holds the
    reduction ("sum", "prod", "mean", "amax" or "amin") of the src values sent there,
    and of its own value when include_self; the other positions keep input's; as
    torch.scatter_reduce.  "mean" divides by the count (integers: floor division).
    Differentiable in input and src (floating), with PyTorch's gradients: amax/amin share
    a position's gradient evenly among the values equal to the result; prod's handles
    zeros.

    >>> torch.scatter_reduce(torch.zeros(3), 0, torch.tensor([0, 0, 2]),
    ...                      torch.tensor([1., 3., 5.]), "amax", include_self=False)  # [3., 0., 5.]
    """
    return _scatter_reduce(input, dim, index, src, reduce, include_self, False)


def _check_scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str,
                          include_self: builtins.bool) -> tuple[int, int]:
    """(dim normalised, the C reduction code), or PyTorch's exception, checked in the
    order PyTorch checks (the index range is checked in C)."""
    op = "scatter_reduce"
    _require(op, "input", 1, input, Tensor, "Tensor")
    dim = _int_arg(op, "dim", 2, dim)
    _require(op, "index", 3, index, Tensor, "Tensor")
    _require(op, "src", 4, src, Tensor, "Tensor")
    _require(op, "reduce", 5, reduce, str, "str")
    _require(op, "include_self", None, include_self, builtins.bool, "bool")
    d = _dim_in_range(op, dim, input.ndim)
    if index.dtype.name != "int64":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index, got {index.dtype.name}")
    if src.dtype != input.dtype:
        raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype (self {input.dtype.name}, "
                           f"src {src.dtype.name})")
    nd = builtins.max(input.ndim, 1)  # (a 0-dim tensor counts as shape (1,))
    if builtins.max(index.ndim, 1) != nd:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as self tensor "
                           f"(index {tuple(index.shape)}, self {tuple(input.shape)})")
    code = _REDUCTIONS.get(reduce)
    if code is None:
        raise RuntimeError(f"{op}(): reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if 0 < src.ndim < nd:  # PyTorch reads src.size(d) for every d < nd first
        raise IndexError(f"{op}(): Dimension out of range (expected to be in range of [{-src.ndim}, "
                         f"{src.ndim - 1}], but got {src.ndim})")
    if builtins.max(src.ndim, 1) != nd:
        raise RuntimeError(f"{op}(): Index tensor must have the same number of dimensions as src tensor "
                           f"(index {tuple(index.shape)}, src {tuple(src.shape)})")
    ix, sz, sh = (tuple(t.shape) or (1,) for t in (index, src, input))
    if builtins.any((k != d and ix[k] > sh[k]) or ix[k] > sz[k] for k in range(nd)):
        raise RuntimeError(f"{op}(): Expected index {list(index.shape)} to be no larger than self "
                           f"{list(input.shape)} apart from dimension {d} and to be no larger size than src "
                           f"{list(src.shape)}")
    if code == lib.PA_REDUCE_MEAN and input.dtype.name == "bool":
        raise NotImplementedError(f"{op}(): \"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'")
    return d, code


def _scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str,
                    include_self: builtins.bool, inplace: builtins.bool) -> Tensor:
    """scatter_reduce, out of place or (inplace) into input."""
    from .autograd.grad_mode import is_grad_enabled

    d, code = _check_scatter_reduce(input, dim, index, src, reduce, include_self)
    if not (is_grad_enabled() and input.dtype.is_floating_point and (input.requires_grad or src.requires_grad)):
        out = call(lib.pa_scatter_reduce, input._h, d, index._h, src._h, code, int(include_self), int(inplace))
        return input if inplace else out
    # Recorded: the node sees 0-dim tensors as shape (1,), so that its gather / scatter
    # calls need no 0-dim cases.
    one = (1,)
    x, i, s = (t.reshape(one) if t.ndim == 0 else t for t in (input, index, src))
    out = _ScatterReduceNode.apply(x, s, i, d, code, include_self)
    if input.ndim == 0:
        out = out.reshape(())
    return input._assign("scatter_reduce", out) if inplace else out


def _scatter_fill(t: Tensor, d: int, index: Tensor, value: float) -> Tensor:
    return call(lib.pa_scatter, t._h, d, index._h, ffi.NULL, value, lib.PA_SCATTER_FILL, 0)


def _reduced(t: Tensor, d: int, index: Tensor, src: Tensor, code: int, include_self: builtins.bool) -> Tensor:
    return call(lib.pa_scatter_reduce, t._h, d, index._h, src._h, code, int(include_self), 0)


class _ScatterReduceNode(Function):
    """The graph node of scatter_reduce; its backward is PyTorch's scatter_reduce_backward
    (torch/csrc/autograd/FunctionsManual.cpp), composed of C ops."""

    @staticmethod
    def forward(ctx: Any, input: Tensor, src: Tensor, index: Tensor, d: int, code: int,
                include_self: builtins.bool) -> Tensor:
        out = _reduced(input, d, index, src, code, include_self)
        ctx.d, ctx.code, ctx.include_self = d, code, include_self
        ctx.input_shape, ctx.src_shape = tuple(input.shape), tuple(src.shape)
        # What the backward needs of input is taken now (a mask, a copy), never input
        # itself: scatter_reduce_ writes input afterwards, and a saved alias of it would
        # refuse that write.
        if code in (lib.PA_REDUCE_AMAX, lib.PA_REDUCE_AMIN):
            ctx.save_for_backward(index, src, out, (input == out).to(input.dtype))
        elif code == lib.PA_REDUCE_PROD:
            ctx.save_for_backward(index, src, out, input.clone())
        else:
            ctx.save_for_backward(index)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Any:
        from ._creation import ones, zeros
        from ._functions import where

        d, code, include_self = ctx.d, ctx.code, ctx.include_self
        saved = ctx.saved_tensors
        index = saved[0]
        need_src = ctx.needs_input_grad[1]
        # NOTE: PyTorch's formulas take src of index's shape; where src is larger its
        # backward raises (any gradient of prod / amax / amin, src's of sum / mean), and so
        # does this one, rather than give a gradient PyTorch has none for.
        if ctx.src_shape != tuple(index.shape) and (need_src or len(saved) > 1):
            raise RuntimeError(f"scatter_reduce(): the gradient{' of src' if len(saved) == 1 else ''} needs src "
                               f"and index of one shape, got src {list(ctx.src_shape)} and index "
                               f"{list(index.shape)} (PyTorch's ScatterReduceBackward0 fails here too)")
        if code == lib.PA_REDUCE_SUM:
            grad_input, grad_src = grad, grad.gather(d, index) if need_src else None
        elif code == lib.PA_REDUCE_MEAN:
            start = (ones if include_self else zeros)(ctx.input_shape, dtype=grad.dtype)
            count = _reduced(start, d, index, ones(tuple(index.shape), dtype=grad.dtype), lib.PA_REDUCE_SUM, True)
            grad_input = grad / count.masked_fill(count == 0, 1)
            grad_src = grad_input.gather(d, index) if need_src else None
        elif code == lib.PA_REDUCE_PROD:
            src, out, input = saved[1:]
            # A zero among the factors: the gradient is the product of the others,
            # taken again with that zero replaced by 1, never result / 0.
            masked_input = input.masked_fill(input == 0, 1)
            grad_input = grad * _reduced(masked_input, d, index, src, code, include_self) / masked_input
            grad_src = None
            if need_src:
                src_zero = src == 0
                zeros_there = _reduced(zeros(ctx.input_shape, dtype=grad.dtype), d, index,
                                       src_zero.to(grad.dtype), lib.PA_REDUCE_SUM, True).gather(d, index)
                single_zero = src_zero & (zeros_there == 1)
                others = _reduced(input, d, index, src.masked_fill(single_zero, 1), code, include_self)
                grad_src = where(single_zero, (grad * others).gather(d, index),
                                 (grad * out).gather(d, index) / src.masked_fill(src_zero, 1))
        else:  # amax, amin: shared evenly among the values equal to the result
            src, out, input_is_result = saved[1:]
            src_is_result = (src == out.gather(d, index)).to(grad.dtype)
            share = grad / _reduced(input_is_result, d, index, src_is_result, lib.PA_REDUCE_SUM, True)
            grad_input = input_is_result * share
            grad_src = src_is_result * share.gather(d, index) if need_src else None
        if not include_self:
            grad_input = _scatter_fill(grad_input, d, index, 0.0)
        return grad_input, grad_src, None, None, None, None
