"""Tensor functions and methods that PyTorch programs reach for and that are compositions
of ops pyautodiff has (views, cat, expand, index_select, where, the arithmetic), in the
order PyTorch's CPU kernels compute them: `clone masked_fill narrow select swapaxes
swapdims movedim broadcast_to tile hstack vstack column_stack addcmul addcdiv mv
clamp_min clamp_max logaddexp logit nan_to_num repeat_interleave`, and the Tensor
methods and properties `narrow select nelement ndimension element_size itemsize nbytes
data_ptr storage_offset int addcmul(_) addcdiv(_) mv nan_to_num floor_ ceil_ round_
trunc_ swapaxes swapdims movedim broadcast_to tile repeat_interleave logit` (defined on
Tensor, delegating here)."""
from __future__ import annotations

import builtins
import math
from typing import Any, Sequence

import numpy as np

from ._functions import cat, where
from ._tensor import Tensor, matmul

__all__ = ["clone", "masked_fill", "narrow", "select", "swapaxes", "swapdims", "movedim", "moveaxis",
           "broadcast_to", "tile", "hstack", "vstack", "column_stack", "addcmul", "addcdiv", "mv", "clamp_min",
           "clamp_max", "logaddexp", "logit", "nan_to_num", "repeat_interleave"]


def _norm_dim(op: str, dim: int, ndim: int) -> int:
    n = builtins.max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim % n


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    return input.clone()


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    return input.masked_fill(mask, value)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view input[..., start:start + length, ...] along dim (start may be negative)."""
    d = _norm_dim("narrow", dim, input.dim())
    size = input.shape[d]
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    start = start + size if start < 0 else start
    if length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return input[(slice(None),) * d + (slice(start, start + length),)]


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view input[..., index, ...] along dim, without that dim."""
    d = _norm_dim("select", dim, input.dim())
    return input[(slice(None),) * d + (int(index),)]


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    return input.transpose(axis0, axis1)


swapdims = swapaxes


def movedim(input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """The view with dims `source` moved to positions `destination`, the others in order."""
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) should contain "
                           f"the same number of dims as destination ({dst} dims)")
    n = input.dim()
    src = [_norm_dim("movedim", s, n) for s in src]
    if n == 0:   # dims -1 and 0 of a 0-d tensor: nothing to move
        return input.reshape(())
    dst = [_norm_dim("movedim", d, n) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError("movedim: repeated dim in `source` or `destination`")
    order: list[int | None] = [None] * n
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    return input.permute(*[o if o is not None else next(rest) for o in order])


moveaxis = movedim


def broadcast_to(input: Tensor, size: Sequence[int]) -> Tensor:
    return input.expand(*size)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """input repeated dims times along each dim (dims padded with leading ones)."""
    reps = list(dims)
    if len(reps) < input.dim():
        reps = [1] * (input.dim() - len(reps)) + reps
    return input.repeat(*reps)


def _atleast(t: Tensor, n: int) -> Tensor:
    while t.dim() < n:
        t = t.unsqueeze(0)
    return t


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    ts = [_atleast(t, 1) for t in tensors]
    return cat(ts, 0 if ts and ts[0].dim() == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([_atleast(t, 2) for t in tensors], 0)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    return cat([t.reshape(-1, 1) if t.dim() <= 1 else t for t in tensors], 1)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    """input + value * tensor1 * tensor2, as ATen's CPU kernel orders it."""
    return input + (tensor1 * value) * tensor2 if value != 1 else input + tensor1 * tensor2


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
    """input + value * tensor1 / tensor2, as ATen's CPU kernel orders it."""
    return input + (tensor1 * value) / tensor2 if value != 1 else input + tensor1 / tensor2


def mv(input: Tensor, vec: Tensor) -> Tensor:
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {vec.dim()}, {input.dim()}, {vec.dim()}")
    return matmul(input, vec)


def clamp_min(input: Tensor, min: float) -> Tensor:
    return input.clamp(min=min)


def clamp_max(input: Tensor, max: float) -> Tensor:
    return input.clamp(max=max)


def logaddexp(input: Tensor, other: Tensor) -> Tensor:
    """log(exp(a) + exp(b)) = max(a, b) + log1p(exp(-|a - b|)), and a where a == b is
    infinite (no inf - inf)."""
    m = input.maximum(other)
    both_inf = (input == other) & (input.abs() == math.inf)
    d = where(both_inf, 0.0, input - other)
    return where(both_inf, input, m + (-d.abs()).exp().log1p())


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """log(x / (1 - x)), x clamped to [eps, 1 - eps] when eps is given."""
    x = input if eps is None else input.clamp(eps, 1 - eps)
    return (x / (1 - x)).log()


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by nan, posinf and neginf (the dtype's largest finite
    values by default); integer tensors are returned as they are."""
    if not input.dtype.is_floating_point:
        return input.clone()
    info = np.finfo(np.float64 if input.dtype.name == "float64" else np.float32)
    hi = float(info.max) if posinf is None else posinf
    lo = float(info.min) if neginf is None else neginf
    return where(input != input, nan, where(input == math.inf, hi, where(input == -math.inf, lo, input)))


def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along dim) repeated `repeats` times in place, as
    torch.repeat_interleave; repeats is an int or one count per element."""
    from ._creation import tensor

    if repeats is None:  # torch.repeat_interleave(counts): the indices repeated
        counts = input.numpy().astype(np.int64)
        return tensor(np.repeat(np.arange(len(counts), dtype=np.int64), counts))
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _norm_dim("repeat_interleave", dim, x.dim())
    size = x.shape[d] if x.dim() else 1
    counts = np.asarray(repeats.numpy() if isinstance(repeats, Tensor) else repeats, dtype=np.int64).reshape(-1)
    if counts.size not in (1, size):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{counts.size} and input.size({d}) = {size}")
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    index = tensor(np.repeat(np.arange(size, dtype=np.int64), counts if counts.size == size else counts[0]))
    return x.index_select(d, index)
