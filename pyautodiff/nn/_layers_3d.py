"""3-d convolution and pooling, re-exported by nn.functional, composed from the 2-d C
kernels and differentiable core ops (no numerics of their own):

- conv3d: the kD depth slices each output depth reads are stacked into the channels
  (per group: depth-major, then channel), so one 2-d convolution with the weight laid out
  the same way computes every output depth: one GEMM, as PyTorch's im2col.
- max_pool3d: the 2-d max pool of every depth slice, then the max over each depth window
  (the first maximum in (depth, row, column) order, PyTorch's choice; -inf padding).
- avg_pool3d: window sums from the 2-d pool of every slice (divisor 1), summed over each
  depth window and divided by PyTorch's divisor, a product of per-dimension counts.
- adaptive_avg_pool3d: one pass per dimension over PyTorch's adaptive windows
  [floor(i L / n), ceil((i + 1) L / n)); adaptive_max_pool3d: the n-d adaptive max of the
  1-d and 2-d layers (nn/_layers_misc.py).
Sums run in a different order from PyTorch's loops, so float results agree to rounding."""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from .._tensor import Tensor
from ._layers import _check_tensor, avg_pool2d, conv2d, max_pool2d, pad

__all__: list[str] = ["conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d"]

_Triple = Any  # an int or a 3-sequence of ints


def _triple(value: Any, op: str, name: str) -> tuple[int, int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) == 1:
            value = tuple(value) * 3
        if len(value) != 3:
            raise ValueError(f"{op}: {name} must be an int or a tuple of 3 ints, got {value!r}")
        items = tuple(value)
    else:
        items = (value,) * 3
    for v in items:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{op}: {name} must be an int or a tuple of 3 ints, got {value!r}")
    return (int(items[0]), int(items[1]), int(items[2]))


def _batched(input: Tensor, op: str) -> tuple[Tensor, bool]:
    """(N, C, D, H, W) from a 5-d input or an unbatched 4-d one (flag: squeeze at the end)."""
    _check_tensor(input, op)
    if input.dim() == 4:
        return input.unsqueeze(0), True
    if input.dim() != 5:
        raise RuntimeError(f"{op}: Expected 4D (unbatched) or 5D (batched) input, but got input of size: "
                           f"{list(input.shape)}")
    return input, False


def _depth_slices(x: Tensor, starts: np.ndarray, k: int, step: int) -> list[Tensor]:
    """For each of k taps, x's depth slices at starts + tap * step (dim 2)."""
    from .._creation import tensor

    return [x.index_select(2, tensor((starts + tap * step).astype(np.int64))) for tap in range(k)]


# ---- convolution ---------------------------------------------------------------------------

def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _Triple = 1, padding: Any = 0,
           dilation: _Triple = 1, groups: int = 1) -> Tensor:
    """3-d convolution of (N, C_in, D, H, W) or (C_in, D, H, W) with weight (C_out,
    C_in / groups, kD, kH, kW), as torch.nn.functional.conv3d; padding an int, a triple,
    'valid' or 'same'."""
    x, unbatched = _batched(input, "conv3d")
    _check_tensor(weight, "conv3d", "weight")
    if weight.dim() != 5:
        raise RuntimeError(f"conv3d: Expected 5D weight (out_channels, in_channels / groups, kD, kH, kW), got "
                           f"{list(weight.shape)}")
    s = _triple(stride, "conv3d", "stride")
    dil = _triple(dilation, "conv3d", "dilation")
    groups = int(groups)
    n, c = x.shape[0], x.shape[1]
    o, cg, kd, kh, kw = weight.shape
    if groups <= 0 or c != cg * groups or o % groups:
        raise RuntimeError(f"conv3d: Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(input.shape)} to have {cg * groups} channels, but got {c} channels instead")
    if any(v <= 0 for v in s + dil):
        raise RuntimeError(f"conv3d: stride {s} and dilation {dil} must be positive")
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        if padding == "same" and s != (1, 1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        amounts = [0, 0, 0, 0, 0, 0]
        if padding == "same":  # the total dil * (k - 1) per dim, the extra one at the end
            for i, (k, d) in enumerate(((kw, dil[2]), (kh, dil[1]), (kd, dil[0]))):
                total = d * (k - 1)
                amounts[2 * i], amounts[2 * i + 1] = total // 2, total - total // 2
        x = pad(x, amounts) if any(amounts) else x
        p = (0, 0, 0)
    else:
        p = _triple(padding, "conv3d", "padding")
        if any(v < 0 for v in p):
            raise RuntimeError(f"conv3d: negative padding {p} is not supported")
        if p[0]:
            x = pad(x, [0, 0, 0, 0, p[0], p[0]])
    depth = x.shape[2]
    sizes = (depth, x.shape[3] + 2 * p[1], x.shape[4] + 2 * p[2])
    if any(size < d * (k - 1) + 1 for size, d, k in zip(sizes, dil, (kd, kh, kw))):
        raise RuntimeError(f"conv3d: Calculated padded input size per channel: ({' x '.join(map(str, sizes))}). "
                           f"Kernel size: ({kd} x {kh} x {kw}). Kernel size can't be greater than actual input "
                           "size")
    dout = (depth - dil[0] * (kd - 1) - 1) // s[0] + 1
    slices = _depth_slices(x, np.arange(dout) * s[0], kd, dil[0])  # kd of (N, C, Dout, H, W)
    from .._functions import stack

    h, w = x.shape[3], x.shape[4]
    cols = stack(slices, 1).reshape(n, kd, groups, cg, dout, h, w).permute(0, 4, 2, 1, 3, 5, 6)
    cols = cols.reshape(n * dout, groups * kd * cg, h, w)
    w2 = weight.reshape(o, cg, kd, kh, kw).permute(0, 2, 1, 3, 4).reshape(o, kd * cg, kh, kw)
    y = conv2d(cols, w2, bias, s[1:], p[1:], dil[1:], groups)  # (N * Dout, O, Ho, Wo)
    y = y.reshape(n, dout, o, y.shape[2], y.shape[3]).permute(0, 2, 1, 3, 4).contiguous()
    return y.squeeze(0) if unbatched else y


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _Triple = 1,
                     padding: _Triple = 0, output_padding: _Triple = 0, groups: int = 1,
                     dilation: _Triple = 1) -> Tensor:
    """The transposed 3-d convolution of (N, C_in, D, H, W) or (C_in, D, H, W) with weight
    (C_in, C_out / groups, kD, kH, kW), as torch.nn.functional.conv_transpose3d: the input
    spread by stride, padded, and convolved (conv3d) with the flipped kernel."""
    from ._layers_more import _conv_transpose

    return _conv_transpose("conv_transpose3d", 3, conv3d, _triple, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


# ---- pooling -------------------------------------------------------------------------------

def _pool_size(op: str, length: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (the last window must start inside the input or its
    left padding)."""
    span = length + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= length + p:
        out -= 1
    if out <= 0:
        raise RuntimeError(f"{op}: Given input size per channel too small: output size would be {out}")
    return out


def _pool_args(op: str, kernel_size: Any, stride: Any, padding: Any,
               dilation: Any = 1) -> tuple[tuple[int, int, int], ...]:
    k = _triple(kernel_size, op, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else _triple(stride, op, "stride")
    p = _triple(padding, op, "padding")
    d = _triple(dilation, op, "dilation")
    if any(v <= 0 for v in k + s + d):
        raise RuntimeError(f"{op}: kernel_size {k}, stride {s} and dilation {d} must be positive")
    if any(pv < 0 or pv > kv // 2 for pv, kv in zip(p, k)):
        raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
                           f"kernel_size={k}")
    return k, s, p, d


def _depth_windows(x: Tensor, out: int, k: int, s: int, p: int, d: int, fill: float) -> Tensor:
    """(N, C, out, k, H', W'): the depth window taps of every output depth, x padded with
    `fill` (p before, as much as the last window needs after)."""
    from .._functions import stack

    depth = x.shape[2]
    after = max(0, (out - 1) * s + d * (k - 1) + 1 - (depth + p))
    xp = pad(x, [0, 0, 0, 0, p, after], value=fill) if p or after else x
    return stack(_depth_slices(xp, np.arange(out) * s, k, d), 3)


def max_pool3d(input: Tensor, kernel_size: _Triple, stride: _Triple | None = None, padding: _Triple = 0,
               dilation: _Triple = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over kernel_size windows of (N, C, D, H, W) or (C, D, H, W), as torch's
    max_pool3d; indices are flat positions in each D x H x W input plane."""
    x, unbatched = _batched(input, "max_pool3d")
    k, s, p, d = _pool_args("max_pool3d", kernel_size, stride, padding, dilation)
    n, c, depth, h, w = x.shape
    dout = _pool_size("max_pool3d", depth, k[0], s[0], p[0], d[0], ceil_mode)
    planes, hw_idx = max_pool2d(x.reshape(n, c * depth, h, w), k[1:], s[1:], p[1:], d[1:], ceil_mode, True)
    ho, wo = planes.shape[2], planes.shape[3]
    taps = _depth_windows(planes.reshape(n, c, depth, ho, wo), dout, k[0], s[0], p[0], d[0], -math.inf)
    values, which = taps.max(3)  # (N, C, Dout, Ho, Wo)
    if not return_indices:
        return values.squeeze(0) if unbatched else values
    from .._creation import tensor

    # the chosen tap's depth, and the 2-d pool's row-column index at that depth
    starts = tensor((np.arange(dout) * s[0] - p[0]).astype(np.int64)).reshape(1, 1, dout, 1, 1)
    chosen = starts + which * d[0]
    hw = hw_idx.reshape(n, c, depth, ho, wo).gather(2, chosen.clamp(0, depth - 1))
    flat = chosen * (h * w) + hw
    return (values.squeeze(0), flat.squeeze(0)) if unbatched else (values, flat)


def _divisor(lengths: Sequence[int], outs: Sequence[int], k: Sequence[int], s: Sequence[int],
             p: Sequence[int], count_include_pad: bool) -> np.ndarray:
    """PyTorch's avg-pool divisor per output position: per dim, the window clipped to the
    padded input (count_include_pad) or to the input, multiplied over the dims."""
    factors = []
    for length, out, kk, ss, pp in zip(lengths, outs, k, s, p):
        start = np.arange(out) * ss - pp
        end = np.minimum(start + kk, length + pp)
        size = end - start
        if not count_include_pad:
            size = np.minimum(end, length) - np.maximum(start, 0)
        factors.append(size.astype(np.float64))
    return factors[0][:, None, None] * factors[1][None, :, None] * factors[2][None, None, :]


def avg_pool3d(input: Tensor, kernel_size: _Triple, stride: _Triple | None = None, padding: _Triple = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Average over kernel_size windows of (N, C, D, H, W) or (C, D, H, W), as torch's
    avg_pool3d (divisor: the window's size within the padded input, or its count of input
    elements with count_include_pad=False, or divisor_override)."""
    x, unbatched = _batched(input, "avg_pool3d")
    k, s, p, _ = _pool_args("avg_pool3d", kernel_size, stride, padding)
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("avg_pool3d: divisor must be not zero")
    n, c, depth, h, w = x.shape
    outs = [_pool_size("avg_pool3d", length, kk, ss, pp, 1, ceil_mode) for length, kk, ss, pp in
            zip((depth, h, w), k, s, p)]
    sums2 = avg_pool2d(x.reshape(n, c * depth, h, w), k[1:], s[1:], p[1:], ceil_mode, True, 1)
    ho, wo = sums2.shape[2], sums2.shape[3]
    sums = _depth_windows(sums2.reshape(n, c, depth, ho, wo), outs[0], k[0], s[0], p[0], 1, 0.0).sum(3)
    if divisor_override is not None:
        out = sums / float(divisor_override)
    else:
        from .._creation import tensor

        div = _divisor((depth, h, w), outs, k, s, p, count_include_pad)
        out = sums / tensor(div.astype(x.dtype.numpy))
    return out.squeeze(0) if unbatched else out


def _adaptive_sizes(op: str, x: Tensor, output_size: Any) -> tuple[int, int, int]:
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 3:
            raise ValueError(f"{op}: output_size must be an int or a tuple of 3, got {output_size!r}")
        sizes = tuple(x.shape[2 + i] if v is None else int(v) for i, v in enumerate(output_size))
    else:
        sizes = (int(output_size),) * 3
    if any(v <= 0 for v in sizes):
        raise RuntimeError(f"{op}: output_size must be positive, got {sizes}")
    return sizes  # type: ignore[return-value]


def _adaptive_mean(x: Tensor, dim: int, out: int) -> Tensor:
    """The means over PyTorch's adaptive windows along dim (one pass of adaptive_avg_pool3d):
    each window's taps gathered (a short window repeats its last position, masked out)."""
    from .._creation import tensor
    from ._layers_misc import _adaptive_bounds

    bounds = np.array(_adaptive_bounds(x.shape[dim], out))
    width = bounds[:, 1] - bounds[:, 0]
    taps = bounds[:, :1] + np.minimum(np.arange(width.max()), width[:, None] - 1)
    shape = list(x.shape)
    shape[dim:dim + 1] = [out, taps.shape[1]]
    picked = x.index_select(dim, tensor(taps.reshape(-1).astype(np.int64))).reshape(shape)
    mshape = [1] * len(shape)
    mshape[dim], mshape[dim + 1] = out, taps.shape[1]
    mask = (np.arange(taps.shape[1])[None, :] < width[:, None]).astype(x.dtype.numpy)
    wshape = [1] * x.dim()
    wshape[dim] = out
    sums = (picked * tensor(mask).reshape(mshape)).sum(dim + 1)
    return sums / tensor(width.astype(x.dtype.numpy)).reshape(wshape)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Averages over PyTorch's adaptive windows of (N, C, D, H, W) or (C, D, H, W)."""
    x, unbatched = _batched(input, "adaptive_avg_pool3d")
    sizes = _adaptive_sizes("adaptive_avg_pool3d", x, output_size)
    for i, out in enumerate(sizes):
        if x.shape[2 + i] != out:  # (equal sizes: windows of one element)
            x = _adaptive_mean(x, 2 + i, out)
    return x.squeeze(0) if unbatched else x


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over PyTorch's adaptive windows of (N, C, D, H, W) or (C, D, H, W); indices
    are flat positions in each D x H x W input plane (the n-d adaptive max of the 1-d and
    2-d layers)."""
    from ._layers_misc import _adaptive_max

    x, _ = _batched(input, "adaptive_max_pool3d")
    return _adaptive_max(input, _adaptive_sizes("adaptive_max_pool3d", x, output_size), "adaptive_max_pool3d",
                         return_indices)
