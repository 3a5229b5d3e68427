"""Still more functional layers, re-exported by nn.functional, composed from differentiable
core ops in the order of PyTorch's reference implementations: instance and local response
normalisation, adaptive max pooling, im2col (unfold) and its inverse (fold), channel
shuffle, pdist, gumbel_softmax, alpha dropout, rrelu, the multi-class margin loss and the
in-place forms of the common activations."""
from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from .._creation import zeros
from .._functions import where
from .._ffi import ffi, lib, raise_error
from .._tensor import Tensor, call, wrap
from ._losses import legacy_reduction
from ._layers import _check_tensor, _pair, avg_pool2d, batch_norm, elu, hardtanh, leaky_relu, pad

__all__: list[str] = ["affine_grid", "grid_sample", "instance_norm", "local_response_norm", "adaptive_max_pool1d",
                      "adaptive_max_pool2d", "unfold", "fold", "channel_shuffle", "pdist", "gumbel_softmax",
                      "alpha_dropout", "feature_alpha_dropout", "rrelu", "multi_margin_loss", "relu_", "elu_",
                      "leaky_relu_", "hardtanh_", "threshold_"]


# ---- spatial transformers -----------------------------------------------------------
def _align_default(align_corners: bool | None, op: str) -> bool:
    if align_corners is None:
        import warnings

        warnings.warn(f"Default {op} behavior has changed to align_corners=False since 1.3.0. Please specify "
                      "align_corners=True if the old behavior is desired. See the documentation of "
                      f"{op} for details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _neg_one_to_one(steps: int, align_corners: bool, like: Tensor) -> Tensor:
    """The sample positions of `steps` pixels in normalised coordinates [-1, 1]."""
    from .._creation import linspace

    if steps <= 1:
        return zeros(max(steps, 1), dtype=like.dtype)
    points = linspace(-1.0, 1.0, steps, dtype=like.dtype)
    return points if align_corners else points * ((steps - 1) / steps)


def affine_grid(theta: Tensor, size: Any, align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) of the 2-d affine maps theta (N, 2, 3) for an output of
    size (N, C, H, W): each output pixel's normalised (x, y) mapped by its theta."""
    _check_tensor(theta, "affine_grid")
    align = _align_default(align_corners, "affine_grid")
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid only supports 4D sizes, for 2D affine transformations "
                                  f"(pyautodiff has no 3-d form). Got size {list(size)}.")
    n, _, h, w = size
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {list(size)}. "
                         f"Got {list(theta.shape)}.")
    if theta.shape[0] != n:
        raise ValueError(f"Expected theta's batch of {n} matrices, got {theta.shape[0]}")
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {list(size)}")
    xs = _neg_one_to_one(w, align, theta).reshape(1, w).expand(h, w)
    ys = _neg_one_to_one(h, align, theta).reshape(h, 1).expand(h, w)
    from .._creation import ones
    from .._functions import stack

    base = stack([xs, ys, ones(h, w, dtype=theta.dtype)], -1).reshape(1, h * w, 3)
    return (base @ theta.transpose(1, 2)).reshape(n, h, w, 2)


def _unnormalise(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """coord reflected into [twice_low / 2, twice_high / 2] (as ATen's reflect_coordinates)."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    dist = (coord - low).abs()
    flips = (dist.detach() / span).floor()
    extra = dist - flips * span
    even = (flips.remainder(2) == 0)
    return where(even, extra + low, span - extra + low)


def _source_index(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    x = _unnormalise(coord, size, align_corners)
    if padding_mode == "border":
        x = x.clamp(0, size - 1)
    elif padding_mode == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align_corners else _reflect(x, -1, 2 * size - 1)
        x = x.clamp(0, size - 1)
    return x


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """input (N, C, H, W) sampled at grid (N, H_out, W_out, 2) of normalised (x, y): bilinear
    (or nearest) interpolation, outside taps 0 ('zeros') or the clamped/reflected edge
    ('border', 'reflection').  Differentiable with respect to input and grid."""
    from .._creation import from_numpy

    _check_tensor(input, "grid_sample")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not supported by pyautodiff")
    align = _align_default(align_corners, "grid_sample")
    if input.dim() != 4:
        raise NotImplementedError(f"grid_sample: only 4-D input (N, C, H, W) is supported, got {input.dim()}-D")
    if grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample(): expected grid of shape (N, H_out, W_out, 2) with N = {input.shape[0]}, "
                           f"got {list(grid.shape)}")
    n, c, h, w = input.shape
    _, ho, wo, _ = grid.shape
    ix = _source_index(grid[..., 0], w, padding_mode, align)
    iy = _source_index(grid[..., 1], h, padding_mode, align)
    flat = input.reshape(n, c, h * w)

    def tap(xi: np.ndarray, yi: np.ndarray) -> tuple[Tensor, np.ndarray]:
        """Input values at integer pixels (N, C, L), and where the pixels are in range."""
        inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        index = (np.clip(yi, 0, h - 1) * w + np.clip(xi, 0, w - 1)).astype(np.int64).reshape(n, 1, -1)
        values = flat.gather(2, from_numpy(np.ascontiguousarray(np.broadcast_to(index, (n, c, index.shape[2])))))
        return values, inside.reshape(n, 1, -1)

    if mode == "nearest":
        xn = np.rint(ix.detach().numpy()).astype(np.int64)  # (half to even, as nearbyint)
        yn = np.rint(iy.detach().numpy()).astype(np.int64)
        values, inside = tap(xn, yn)
        picked = where(from_numpy(np.ascontiguousarray(np.broadcast_to(inside, values.shape))), values, 0.0)
        if grid.requires_grad:  # the grid gets PyTorch's zero gradient (rounding is flat)
            from .._ops_extra import _zero_gradient

            picked = picked + _zero_gradient(np.zeros((), dtype=input.dtype.numpy), grid)
        return picked.reshape(n, c, ho, wo)
    x0 = np.floor(ix.detach().numpy())
    y0 = np.floor(iy.detach().numpy())
    fx0, fy0 = from_numpy(x0.astype(ix.dtype.numpy)), from_numpy(y0.astype(iy.dtype.numpy))
    wx1, wy1 = ix - fx0, iy - fy0  # the weights of the east and south taps
    wx0, wy0 = 1 - wx1, 1 - wy1
    out: Tensor | None = None
    for dx, dy, weight in ((0, 0, wx0 * wy0), (1, 0, wx1 * wy0), (0, 1, wx0 * wy1), (1, 1, wx1 * wy1)):
        values, inside = tap(x0.astype(np.int64) + dx, y0.astype(np.int64) + dy)
        wgt = weight.reshape(n, 1, -1) * from_numpy(inside.astype(input.dtype.numpy))
        term = values * wgt
        out = term if out is None else out + term
    assert out is not None
    return out.reshape(n, c, ho, wo)


# ---- normalisation ------------------------------------------------------------------
def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Each (sample, channel) plane normalised over its own elements, as ATen's instance
    norm: batch norm of the input seen as one sample of N * C channels; running stats (when
    given) move by the mean over the batch of the per-instance statistics."""
    _check_tensor(input, "instance_norm")
    if input.dim() < 3:
        raise ValueError(f"instance_norm: expected an input of at least 3 dims (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    x = input.reshape(1, n * c, *input.shape[2:])
    rm = running_mean.repeat(n) if running_mean is not None else None
    rv = running_var.repeat(n) if running_var is not None else None
    w = weight.repeat(n) if weight is not None else None
    b = bias.repeat(n) if bias is not None else None
    out = batch_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:
        from ..autograd import no_grad

        with no_grad():
            if running_mean is not None and rm is not None:  # (rm is given exactly when running_mean is)
                running_mean.copy_(rm.reshape(n, c).mean(0))
            if running_var is not None and rv is not None:
                running_var.copy_(rv.reshape(n, c).mean(0))
    return out.reshape(*input.shape)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """input / (k + alpha * mean of the squares over `size` neighbouring channels)^beta."""
    _check_tensor(input, "local_response_norm")
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.dim()} dimensions)")
    if input.numel() == 0:
        return input
    shape = tuple(input.shape)
    div = (input * input).reshape(shape[0], 1, shape[1], -1)  # channels along H, the rest along W
    div = pad(div, (0, 0, size // 2, (size - 1) // 2))
    div = avg_pool2d(div, (size, 1), stride=1).reshape(*shape)
    div = (div * alpha + k) ** beta
    return input / div


# ---- pooling ------------------------------------------------------------------------
def _adaptive_bounds(n_in: int, n_out: int) -> list[tuple[int, int]]:
    return [((i * n_in) // n_out, -(-((i + 1) * n_in) // n_out)) for i in range(n_out)]


def _adaptive_max(input: Tensor, out_size: tuple[int, ...], op: str, return_indices: bool) -> Any:
    """Max over adaptive windows of the last len(out_size) dims: the window maxima's flat
    positions found with NumPy (the first maximum, NaN counting as largest), the values
    gathered from input (so differentiable)."""
    _check_tensor(input, op)
    nd = len(out_size)
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got {tuple(input.shape)}")
    spatial = tuple(input.shape[-nd:])
    out_size = tuple(s if s is not None else spatial[i] for i, s in enumerate(out_size))
    if any(s <= 0 for s in spatial) or any(s < 0 for s in out_size):
        raise RuntimeError(f"{op}(): input sizes must be positive and output sizes non-negative, got input "
                           f"{spatial} and output {out_size}")
    lead = tuple(input.shape[:-nd])
    if input.numel() == 0 or any(s == 0 for s in out_size):
        empty = zeros(*lead, *out_size, dtype=input.dtype)
        if return_indices:
            return empty, zeros(*lead, *out_size, dtype=None).long()
        return empty
    if nd <= 2:  # one C op: the 1-d pool is the 2-d one over a unit height
        return _adaptive_max_c(input, out_size, return_indices)
    x = input.detach().numpy().reshape(-1, *spatial)
    flat_idx = np.empty((x.shape[0],) + out_size, dtype=np.int64)
    bounds = [_adaptive_bounds(n, o) for n, o in zip(spatial, out_size)]
    for cell in itertools.product(*(range(o) for o in out_size)):
        spans = [bounds[d][c] for d, c in enumerate(cell)]
        win = x[(slice(None),) + tuple(slice(a, b) for a, b in spans)].reshape(x.shape[0], -1)
        pos = np.argmax(np.where(np.isnan(win), np.inf, win), axis=1)  # the first maximum
        last_nan = win.shape[1] - 1 - np.argmax(np.isnan(win)[:, ::-1], axis=1)  # ATen keeps the last NaN
        pos = np.where(np.isnan(win).any(1), last_nan, pos)
        local = np.unravel_index(pos, tuple(b - a for a, b in spans))
        flat_idx[(slice(None),) + cell] = np.ravel_multi_index(
            tuple(a + offs for (a, _), offs in zip(spans, local)), spatial)
    from .._creation import from_numpy

    index = from_numpy(flat_idx.reshape(*lead, -1))
    values = input.reshape(*lead, -1).gather(input.dim() - nd, index).reshape(*lead, *out_size)
    if return_indices:
        return values, index.reshape(*lead, *out_size)
    return values


def _adaptive_max_c(input: Tensor, out_size: tuple[int, ...], return_indices: bool) -> Any:
    """_adaptive_max through pa_adaptive_max_pool2d for 1 or 2 pooled dims (non-empty)."""
    x = input.unsqueeze(-2) if len(out_size) == 1 else input
    oh, ow = (1,) + out_size if len(out_size) == 1 else out_size
    out = ffi.new("pa_tensor *[1]")
    idx = ffi.new("pa_tensor *[1]") if return_indices else ffi.NULL
    status = lib.pa_adaptive_max_pool2d(x._h, oh, ow, out, idx)
    if status:
        raise_error(status)
    values = wrap(out[0])
    if len(out_size) == 1:
        values = values.squeeze(-2)
    if not return_indices:
        return values
    index = wrap(idx[0])
    return values, index.squeeze(-2) if len(out_size) == 1 else index


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    size = output_size[0] if isinstance(output_size, (tuple, list)) else output_size
    return _adaptive_max(input, (int(size),), "adaptive_max_pool1d", return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    if isinstance(output_size, (tuple, list)):
        size = tuple(None if s is None else int(s) for s in output_size)
    else:
        size = (int(output_size), int(output_size))
    return _adaptive_max(input, size, "adaptive_max_pool2d", return_indices)  # type: ignore[arg-type]


# ---- im2col ----------------------------------------------------------------------
def _window(op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any) -> Any:
    """The int64 window array {kh, kw, dh, dw, ph, pw, sh, sw} of pa_unfold / pa_fold."""
    values = [v for arg, name in ((kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
                                  (stride, "stride")) for v in _pair(arg, op, name)]
    return ffi.new("int64_t[8]", values)


def _call_as_pytorch_raises(fn: Any, *args: Any) -> Tensor:
    """call(fn, *args), a bad size raised as RuntimeError, as PyTorch raises it from im2col."""
    try:
        return call(fn, *args)
    except ValueError as e:
        raise RuntimeError(str(e)) from None


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C * kh * kw, L), each column one sliding block (one C op,
    whose gradient is fold)."""
    _check_tensor(input, "unfold")
    if input.dim() not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    out = _call_as_pytorch_raises(lib.pa_unfold, x._h, _window("unfold", kernel_size, dilation, padding, stride))
    return out if batched else out.squeeze(0)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """col2im, the adjoint of unfold: (N, C * kh * kw, L) -> (N, C, H, W), overlapping
    values summed (one C op, whose gradient is unfold)."""
    _check_tensor(input, "fold")
    if input.dim() not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
                                  f"(got {input.dim()}D)")
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    oh, ow = _pair(output_size, "fold", "output_size")
    out = _call_as_pytorch_raises(lib.pa_fold, x._h, oh, ow, _window("fold", kernel_size, dilation, padding, stride))
    return out if batched else out.squeeze(0)


# ---- shapes and distances -----------------------------------------------------------
def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g * k, *) -> (N, k * g, *): the channels of the g groups interleaved."""
    _check_tensor(input, "channel_shuffle")
    if input.dim() < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups.")
    rest = tuple(input.shape[2:])
    return input.reshape(input.shape[0], groups, c // groups, *rest).transpose(1, 2).reshape(*input.shape)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The p-norm distances between every pair of rows i < j, in row-major pair order."""
    from .._creation import from_numpy
    from .._ops_extra import cdist

    _check_tensor(input, "pdist")
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    if not i.size:
        return zeros(0, dtype=input.dtype)
    # computed directly, as PyTorch's pdist: the product form would give 1e-15, not 0, for equal rows
    out = cdist(input, input, p=p, compute_mode="donot_use_mm_for_euclid_dist").reshape(-1).index_select(
        0, from_numpy((i * n + j).astype(np.int64)))
    if p == 0 and input.requires_grad and not out.requires_grad:  # a count: PyTorch's zero gradient
        from .._ops_extra import _zero_gradient

        out = _zero_gradient(out.numpy(), input)
    return out


# ---- random -------------------------------------------------------------------------
def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """softmax((logits + Gumbel noise) / tau) along dim; with hard, the one-hot of its
    maximum carrying the soft sample's gradient (straight-through)."""
    from .._creation import rand

    _check_tensor(logits, "gumbel_softmax")
    u = rand(*logits.shape, dtype=logits.dtype)
    gumbels = -(-(1.0 - u).log()).log()  # -log(Exp(1)), 1 - u in (0, 1]
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    from .._ops_extra import scatter

    y_hard = scatter(zeros(*logits.shape, dtype=logits.dtype), dim, index, value=1.0)
    return y_hard - y_soft.detach() + y_soft


_SELU_ALPHA = 1.7580993408473766  # -SELU's negative saturation, scale * alpha


def _alpha_dropout(input: Tensor, p: float, training: bool, feature: bool, op: str) -> Tensor:
    from .._creation import rand

    _check_tensor(input, op)
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:
        return input * 0.0
    shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2) if feature else tuple(input.shape)
    keep = (rand(*shape, dtype=input.dtype) >= p).to(input.dtype)  # kept with probability 1 - p
    a = 1.0 / math.sqrt((_SELU_ALPHA * _SELU_ALPHA * p + 1) * (1 - p))
    b = (keep - 1) * (_SELU_ALPHA * a) + _SELU_ALPHA * a * p
    return input * (keep * a) + b


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU activations' mean and variance: dropped elements take SELU's
    saturation value, then everything is scaled and shifted back (ATen's formula)."""
    return _alpha_dropout(input, p, training, False, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """alpha_dropout of whole channels."""
    return _alpha_dropout(input, p, training, True, "feature_alpha_dropout")


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Leaky ReLU whose negative slope is drawn uniformly from [lower, upper] per element
    when training, and is (lower + upper) / 2 otherwise."""
    from .._creation import rand

    _check_tensor(input, "rrelu")
    if not training:
        out = leaky_relu(input, (lower + upper) / 2)
    else:
        slope = rand(*input.shape, dtype=input.dtype) * (upper - lower) + lower
        out = where(input >= 0, input, input * slope)
    return input.copy_(out) if inplace else out


# ---- loss ---------------------------------------------------------------------------
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average: Any = None, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: for each sample, the mean over classes j != y of
    max(0, margin - x[y] + x[j])^p (times weight[y])."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_tensor(input, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    x = input if input.dim() == 2 else input.reshape(1, -1)
    t = target.reshape(-1, 1)
    n, c = x.shape
    if t.shape[0] != n:
        raise ValueError(f"multi_margin_loss: target of {t.shape[0]} elements for a batch of {n}")
    tv = t.numpy()
    if tv.size and (tv.min() < 0 or tv.max() >= c):
        raise RuntimeError(f"multi_margin_loss: target {int(tv[(tv < 0) | (tv >= c)][0])} is out of bounds for "
                           f"{c} classes")
    from .._creation import arange

    correct = x.gather(1, t)
    z = margin - correct + x
    hinge = where(z > 0, z, 0.0)  # (a NaN term is skipped, as ATen's z > 0 test does)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.gather(0, t.reshape(-1)).reshape(-1, 1)
    hinge = where(arange(c).reshape(1, -1) == t, 0.0, hinge)
    loss = hinge.sum(1) / c
    if input.dim() < 2:
        loss = loss.reshape(())
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


# ---- in-place activations -----------------------------------------------------------
def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    return input._assign("elu", elu(input, alpha))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return input._assign("leaky_relu", leaky_relu(input, negative_slope))


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return input._assign("hardtanh", hardtanh(input, min_val, max_val))


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    from ._layers_more import threshold as _threshold

    return input._assign("threshold", _threshold(input, threshold, value))

