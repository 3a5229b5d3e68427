"""More functional layers, re-exported by nn.functional: 1-d convolution and pooling (the
2-d C kernels over a unit height), group and RMS normalisation, embedding bags, channel
dropout and the remaining pointwise activations, composed from differentiable core ops
in the order of PyTorch's reference formulas."""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Sequence

import numpy as np

from .._creation import zeros
from .._functions import where
from .._ffi import ffi, lib
from .._tensor import Tensor, call
from ._layers import (_check_tensor, _pair, avg_pool2d, conv2d, dropout, elu, embedding, max_pool2d, pad,
                      softplus)

__all__: list[str] = ["conv1d", "max_pool1d", "avg_pool1d", "group_norm", "rms_norm", "embedding_bag",
                      "dropout1d", "dropout2d", "selu", "celu", "logsigmoid", "softmin", "glu", "prelu",
                      "hardshrink", "softshrink", "tanhshrink", "threshold", "interpolate", "upsample", "bilinear",
                      "pixel_shuffle", "pixel_unshuffle", "adaptive_avg_pool1d",
                      "conv_transpose2d", "conv_transpose1d"]


def _single(value: Any, op: str, name: str) -> int:
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be an int or a 1-element tuple, got {value!r}")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{op}: {name} must be an int, not {type(value).__name__}")
    return int(value)


def _check_1d_input(input: Tensor, op: str) -> None:
    _check_tensor(input, op)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"{op}: Expected 2D (unbatched) or 3D (batched) input, but got input of size: "
                           f"{list(input.shape)}")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-d convolution of (N, C_in, L) or (C_in, L) with weight (C_out, C_in / groups, k),
    as torch.nn.functional.conv1d: the 2-d kernel over a unit height."""
    _check_1d_input(input, "conv1d")
    _check_tensor(weight, "conv1d", "weight")
    if weight.dim() != 3:
        raise RuntimeError(f"conv1d: Expected 3D weight (out_channels, in_channels / groups, kernel), got "
                           f"{list(weight.shape)}")
    pad: Any = padding if isinstance(padding, str) else (0, _single(padding, "conv1d", "padding"))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, _single(stride, "conv1d", "stride")),
                 pad, (1, _single(dilation, "conv1d", "dilation")), groups)
    return out.squeeze(-2)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over windows along the last dim of (N, C, L) or (C, L), as torch's max_pool1d."""
    _check_1d_input(input, "max_pool1d")
    k = _single(kernel_size, "max_pool1d", "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _single(stride, "max_pool1d", "stride")
    out: Any = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _single(padding, "max_pool1d", "padding")),
                          (1, _single(dilation, "max_pool1d", "dilation")), ceil_mode, return_indices)
    if return_indices:
        values, indices = out
        return values.squeeze(-2), indices.squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Average over windows along the last dim, as torch's avg_pool1d."""
    _check_1d_input(input, "avg_pool1d")
    k = _single(kernel_size, "avg_pool1d", "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else \
        _single(stride, "avg_pool1d", "stride")
    out = avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _single(padding, "avg_pool1d", "padding")),
                     ceil_mode, count_include_pad)
    return out.squeeze(-2)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalises each of num_groups channel groups of (N, C, *) over its channels and
    positions (biased variance), then the per-channel affine, as torch's group_norm."""
    _check_tensor(input, "group_norm")
    if input.dim() < 2:
        raise RuntimeError(f"group_norm: Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {list(input.shape)} and num_groups={num_groups}")
    if input.numel():
        # NOTE: each group is a row of a layer norm without affine (the same biased variance and
        # eps): one C op forward and backward.  (32, 64, 16, 16), G=8, 2 threads: forward 615 ->
        # 216 us, forward + backward 1862 -> 748 us (PyTorch 2.13: 177 / 866 us, same process).
        from ._layers import layer_norm

        rows = input.reshape(n * num_groups, -1)
        out = layer_norm(rows, (rows.shape[1],), eps=eps).reshape(*input.shape)
    else:
        x = input.reshape(n, num_groups, -1)
        mean = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True, unbiased=False)
        out = ((x - mean) * (var + eps).rsqrt()).reshape(*input.shape)
    shape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def rms_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2 over the normalized dims) + eps) * weight, as torch's rms_norm
    (eps defaults to the dtype's machine epsilon)."""
    _check_tensor(input, "rms_norm")
    shape = (int(normalized_shape),) if isinstance(normalized_shape, numbers.Integral) else \
        tuple(int(s) for s in normalized_shape)  # type: ignore[union-attr]
    if tuple(input.shape[input.dim() - len(shape):]) != shape:
        raise RuntimeError(f"rms_norm: Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size {list(input.shape)}")
    if eps is None:
        eps = float(np.finfo(np.float64 if input.dtype.name == "float64" else np.float32).eps)
    dims = tuple(range(input.dim() - len(shape), input.dim()))
    out = input * (input.pow(2).mean(dims, keepdim=True) + eps).rsqrt()
    return out * weight if weight is not None else out


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean",
                  sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embedding rows, as torch's embedding_bag: a 2-D
    input is one bag per row; a 1-D input is cut into bags at `offsets`.  Entries equal to
    padding_idx are left out (of the count too); an empty bag gives zeros."""
    _check_tensor(input, "embedding_bag")
    _check_tensor(weight, "embedding_bag", "weight")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: max_norm, scale_grad_by_freq and sparse are not supported")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is "
                                  f"only supported for mode='sum' (got mode='{mode}'). Please open a "
                                  "feature request on GitHub.")
    idx = input.numpy().astype(np.int64, copy=False)
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is a mini-batch "
                             "of fixed length sequences.")
        bags, length = idx.shape
        starts = np.arange(bags, dtype=np.int64) * length
        flat = idx.reshape(-1)
        flat_input = input.reshape(-1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        off = offsets.numpy().astype(np.int64, copy=False)
        if off.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        if len(off) and off[0] != 0:
            raise ValueError(f"offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                             f"start from position 0. However, got {off[0]}")
        if len(off) and (off[-1] > len(idx) or np.any(np.diff(off) < 0)):
            raise ValueError(f"offsets[-1] can not be greater than input's length ({len(idx)}), and "
                             "offsets must not decrease")
        starts = off[:-1] if include_last_offset else off
        bags = len(starts)
        flat, flat_input, psw = idx, input, per_sample_weights
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {idx.ndim}")
    bag_of = np.searchsorted(starts, np.arange(len(flat)), side="right") - 1 if bags else \
        np.zeros(0, np.int64)
    keep = np.ones(len(flat), bool) if padding_idx is None else flat != _padding(padding_idx, weight.shape[0])
    if len(flat) and (bags == 0 or (bag_of < 0).any()):
        raise ValueError("embedding_bag: every index must belong to a bag")
    dim = weight.shape[1]
    from .._creation import tensor as _tensor

    positions = _tensor(np.nonzero(keep)[0].astype(np.int64))
    rows = embedding(flat_input.index_select(0, positions), weight)           # (kept, D)
    bag_ids = bag_of[keep]
    if psw is not None:
        rows = rows * psw.index_select(0, positions).unsqueeze(1)
    counts = np.bincount(bag_ids, minlength=bags).astype(np.float64)
    if mode in ("sum", "mean"):
        out = zeros(bags, dim, dtype=weight.dtype).index_add(0, _tensor(bag_ids), rows)
        if mode == "mean":
            out = out / _tensor(np.maximum(counts, 1.0)[:, None], dtype=weight.dtype)
        return out
    # max: the bags laid out densely (padded with -inf), reduced with max along the bag,
    # so the gradient goes to the maximal entry as in PyTorch; empty bags give zeros
    width = int(counts.max()) if bags and len(bag_ids) else 0
    if width == 0:  # every bag empty: zeros, still in the graph of weight (as PyTorch's)
        return zeros(bags, dim, dtype=weight.dtype) + weight[:0].sum()
    slot = np.arange(len(bag_ids)) - np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)[bag_ids]
    dense_index = np.full(bags * width, len(bag_ids), dtype=np.int64)            # -> the -inf row
    dense_index[bag_ids * width + slot] = np.arange(len(bag_ids))
    from .._functions import cat

    padded = cat([rows, zeros(1, dim, dtype=weight.dtype) - math.inf], 0)
    dense = padded.index_select(0, _tensor(dense_index)).reshape(bags, width, dim)
    values = dense.max(1).values
    return where(_tensor(counts[:, None] > 0), values, 0.0)


def _padding(padding_idx: int, num: int) -> int:
    if not -num <= padding_idx < num:
        raise ValueError("padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


def _feature_dropout(input: Tensor, p: float, training: bool, lead: int) -> Tensor:
    """input with each of its input.shape[:lead] slices kept whole (scaled by 1 / (1 - p))
    or zeroed with probability p."""
    if not training or p == 0.0:
        return input
    mask = dropout(zeros(*input.shape[:lead], dtype=input.dtype) + 1.0, p, True)
    return input * mask.reshape(*input.shape[:lead], *([1] * (input.dim() - lead)))


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels of (N, C, L) or (C, L) with probability p, scaling the rest
    by 1 / (1 - p), as torch's dropout1d."""
    _check_tensor(input, "dropout1d")
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _feature_dropout(input, p, training, input.dim() - 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes whole channels (dim 1) of (N, C, H, W) with probability p, as torch's
    dropout2d, which also takes a 3-D input as (N, C, L) (with PyTorch's warnings)."""
    _check_tensor(input, "dropout2d")
    _check_p(p)
    if input.dim() not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.dim()}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on "
                      "inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.dim() == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
    if training and p > 0 and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _feature_dropout(input, p, training, 2)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with PyTorch's constants."""
    return elu(input, _SELU_ALPHA) * _SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (exp(x / alpha) - 1)."""
    _check_tensor(input, "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    positive = input > 0
    return where(positive, input, where(positive, 0.0, input / alpha).expm1() * alpha)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x): no overflow, gradient 1 - sigmoid(x) everywhere."""
    _check_tensor(input, "logsigmoid")
    return -softplus(-input)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(-x) along dim."""
    _check_tensor(input, "softmin")
    if dim is None:
        raise TypeError("softmin: dim must be given (implicit dim is deprecated in PyTorch)")
    x = input if dtype is None else input.to(dtype)
    return (-x).softmax(dim)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b) for the two halves a, b of input along dim."""
    _check_tensor(input, "glu")
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.dim()} is size {size}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x, weight (1,) or one per channel (dim 1)."""
    _check_tensor(input, "prelu")
    _check_tensor(weight, "prelu", "weight")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() != 1 and (weight.dim() != 1 or weight.numel() != channels):
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers "
                           f"= {weight.numel()} and channel size = {channels}.")
    w = weight.reshape(()) if weight.numel() == 1 else weight.reshape((1, channels) + (1,) * (input.dim() - 2))
    return where(input > 0, input, w * input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    _check_tensor(input, "hardshrink")
    return where((input >= -lambd) & (input <= lambd), 0.0, input)   # NaN passes through


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, else 0."""
    _check_tensor(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    inside = (input >= -lambd) & (input <= lambd)                   # NaN passes through
    return where(inside, 0.0, where(input > lambd, input - lambd, input + lambd))


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    _check_tensor(input, "tanhshrink")
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value."""
    _check_tensor(input, "threshold")
    return where(input <= threshold, value, input)   # NaN passes through, as in PyTorch


def _interp_sizes(input: Tensor, size: Any, scale_factor: Any, dims: int) -> tuple[list[int], list[float | None]]:
    """Output sizes and the scale factors given (None where a size was given)."""
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = list(input.shape[2:])
    if size is not None:
        out = [int(size)] * dims if isinstance(size, numbers.Integral) else [int(s) for s in size]
        if len(out) != dims:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {in_sizes} and output size of {list(out)}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             "...,oK) format.")
        return out, [None] * dims
    scales = [float(scale_factor)] * dims if isinstance(scale_factor, numbers.Real) else \
        [float(f) for f in scale_factor]
    if len(scales) != dims:
        raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                         f"with spatial dimensions of {in_sizes} and scale_factor of shape {scales}.")
    return [int(math.floor(n * f)) for n, f in zip(in_sizes, scales)], list(scales)


def _nearest_index(n_in: int, n_out: int, scale: float | None, exact: bool, ft: Any) -> np.ndarray:
    """ATen's nearest source indices, computed in float as its CPU kernel does (the identity
    when the sizes agree; halving when the output is twice the size, for 'nearest')."""
    if n_out == n_in:
        return np.arange(n_out, dtype=np.int64)
    if n_out == 2 * n_in and not exact:
        return np.arange(n_out, dtype=np.int64) >> 1
    s = ft(1.0 / scale) if scale is not None else ft(n_in) / ft(n_out)
    dst = np.arange(n_out, dtype=ft)
    src = np.floor((dst + ft(0.5)) * s) if exact else np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resizes (N, C, L), (N, C, H, W) or (N, C, D, H, W) as torch.nn.functional.interpolate:
    modes 'nearest', 'nearest-exact', 'linear' (3-d), 'bilinear' (4-d) and 'trilinear'
    (5-d), with PyTorch's source positions and weights: the linear modes one C op
    (pa_upsample_linear, with its backward), the nearest ones an index_select per dim."""
    from .._creation import tensor as _tensor

    _check_tensor(input, "interpolate")
    dims = input.dim() - 2
    linear = {"linear": 1, "bilinear": 2, "trilinear": 3}
    if mode not in ("nearest", "nearest-exact") and mode not in linear:
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported (nearest, nearest-exact, linear, "
                                  "bilinear, trilinear)")
    if dims not in (1, 2, 3) or (mode in linear and linear[mode] != dims):
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                  f"{linear[mode] + 2 if mode in linear else '3D, 4D or 5'}D input")
    if align_corners is not None and mode not in linear:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias is not supported")
    out_sizes, scales = _interp_sizes(input, size, scale_factor, dims)
    if recompute_scale_factor:
        scales = [None] * dims
    if mode in linear:
        return call(lib.pa_upsample_linear, input._h, dims, ffi.new("int64_t[]", out_sizes),
                    ffi.new("double[]", [0.0 if f is None else f for f in scales]), int(bool(align_corners)))
    x = input
    for k in reversed(range(dims)):          # the last dim first, as ATen's kernels nest them
        d = 2 + k
        n_in, n_out = input.shape[d], out_sizes[k]
        if n_out <= 0:
            raise ValueError(f"Input and output sizes should be greater than 0, but got input ({n_in}) and "
                             f"output ({n_out})")
        exact = mode == "nearest-exact"  # (ATen computes nearest's scale in float for every dtype)
        x = x.index_select(d, _tensor(_nearest_index(n_in, n_out, scales[k], exact, np.float32)))
    return x


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """interpolate (the deprecated name)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def _insert_zeros(x: Tensor, dim: int, stride: int) -> Tensor:
    """x with stride - 1 zeros between neighbours along dim: size (n - 1) * stride + 1."""
    n = x.shape[dim]
    if stride == 1 or n == 0:
        return x
    shape = list(x.shape)
    pieces = x.unsqueeze(dim + 1)
    shape.insert(dim + 1, stride - 1)
    from .._functions import cat

    spread = cat([pieces, zeros(*shape, dtype=x.dtype)], dim + 1)
    merged = spread.reshape(*x.shape[:dim], n * stride, *x.shape[dim + 1:])
    return merged.narrow(dim, 0, (n - 1) * stride + 1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """The transposed (fractionally strided) convolution of (N, C_in, H, W) or (C_in, H, W)
    with weight (C_in, C_out / groups, kH, kW), as torch.nn.functional.conv_transpose2d:
    the input spread by stride (zeros between), padded by dilation (k - 1) - padding on
    each side (plus output_padding after), convolved with the flipped kernel.  Output size
    (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1."""
    return _conv_transpose("conv_transpose2d", 2, conv2d, _pair, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def _conv_transpose(op: str, nd: int, conv: Any, tuple_of: Any, input: Tensor, weight: Tensor, bias: Tensor | None,
                    stride: Any, padding: Any, output_padding: Any, groups: int, dilation: Any) -> Tensor:
    """The nd-dimensional transposed convolution through the nd-dimensional convolution
    `conv` (see conv_transpose2d); tuple_of(value, op, name) makes the per-dim tuples."""
    _check_tensor(input, op)
    _check_tensor(weight, op, "weight")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, but got input of "
                           f"size: {list(input.shape)}")
    x = input.unsqueeze(0) if input.dim() == nd + 1 else input
    s, p = tuple_of(stride, op, "stride"), tuple_of(padding, op, "padding")
    op_, d = tuple_of(output_padding, op, "output_padding"), tuple_of(dilation, op, "dilation")
    if min(s + d) < 1 or min(p + op_) < 0:
        raise RuntimeError(f"{op}: stride and dilation must be positive, padding and output_padding non-negative")
    if any(not (o < si or o < di) for o, si, di in zip(op_, s, d)):
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got "
                           f"output_padding {op_}, stride {s}, dilation {d}")
    cin = x.shape[1]
    if groups < 1:
        raise RuntimeError(f"{op}: non-positive groups is not supported")
    if weight.dim() != nd + 2:
        raise RuntimeError(f"{op}: Expected {nd + 2}D weight (in_channels, out_channels / groups, *kernel), got "
                           f"{list(weight.shape)}")
    if weight.shape[0] != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input "
                           f"{list(x.shape)} to have {weight.shape[0]} channels, but got {cin} channels instead")
    if cin % groups:
        raise RuntimeError(f"{op}: in_channels ({cin}) must be divisible by groups ({groups})")
    if min(x.shape) == 0:
        raise RuntimeError(f"{op}: expected non-empty input, got {list(input.shape)}")
    ks = tuple(weight.shape[2:])
    if nd == 2 and all(o < si for o, si in zip(op_, s)):
        out = _conv_transpose2d_fold(x, weight, bias, s, p, op_, groups, d)
        return out.squeeze(0) if input.dim() == nd + 1 else out
    amounts: list[int] = []
    for i in range(nd):
        x = _insert_zeros(x, 2 + i, s[i])
    for i in reversed(range(nd)):  # F.pad lists the last dim first
        e = d[i] * (ks[i] - 1) - p[i]
        amounts += [e, e + op_[i]]
    x = pad(x, amounts)
    cout_g = weight.shape[1]
    spatial = tuple(range(2, 2 + nd))
    kernel = weight.flip(*spatial).reshape(groups, cin // groups, cout_g, *ks).transpose(1, 2) \
        .reshape(groups * cout_g, cin // groups, *ks)
    out = conv(x, kernel, bias, 1, 0, d, groups)
    return out.squeeze(0) if input.dim() == nd + 1 else out


def _conv_transpose2d_fold(x: Tensor, weight: Tensor, bias: Tensor | None, s: Any, p: Any, op_: Any,
                           groups: int, d: Any) -> Tensor:
    """conv_transpose2d as PyTorch computes it: the columns W_g^T x_g of each group (one
    batched product), then fold (col2im) adds them onto the output; output_padding must be
    below the stride (the fold's block count then matches the input's size).
    NOTE: 32x64x16x16 with a (64, 32, 3, 3) weight, stride 2, 2 threads: 20.2 ms through
    zero insertion + padding + conv2d, 4.1 ms as columns + fold (PyTorch 2.13: 2.4-7.8 ms,
    same process, the machine shared)."""
    n, cin, h, w = x.shape
    cout_g, kh, kw = weight.shape[1], weight.shape[2], weight.shape[3]
    oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op_[0] + 1
    ow = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op_[1] + 1
    if oh < 1 or ow < 1:
        raise RuntimeError(f"conv_transpose2d: the output size ({oh}, {ow}) is too small for input {list(x.shape)}")
    from ._layers_misc import fold

    kernel = weight.reshape(groups, cin // groups, cout_g * kh * kw).transpose(1, 2)
    cols = kernel @ x.reshape(n, groups, cin // groups, h * w)       # (N, G, cout_g kh kw, H W)
    out = fold(cols.reshape(n, groups * cout_g * kh * kw, h * w), (oh, ow), (kh, kw), d, p, s)
    return out + bias.reshape(1, -1, 1, 1) if bias is not None else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """conv_transpose2d over a unit height, for (N, C_in, L) or (C_in, L) and weight
    (C_in, C_out / groups, k)."""
    _check_1d_input(input, "conv_transpose1d")
    _check_tensor(weight, "conv_transpose1d", "weight")
    if weight.dim() != 3:
        raise RuntimeError(f"conv_transpose1d: Expected 3D weight, got {list(weight.shape)}")
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), bias,
                           (1, _single(stride, "conv_transpose1d", "stride")),
                           (0, _single(padding, "conv_transpose1d", "padding")),
                           (0, _single(output_padding, "conv_transpose1d", "output_padding")), groups,
                           (1, _single(dilation, "conv_transpose1d", "dilation")))
    return out.squeeze(-2)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o], as
    torch.nn.functional.bilinear: one product with weight laid out (in1, out * in2), then
    the sum against input2."""
    _check_tensor(input1, "bilinear")
    _check_tensor(input2, "bilinear", "input2")
    _check_tensor(weight, "bilinear", "weight")
    if weight.dim() != 3:
        raise RuntimeError(f"bilinear(): weight must be three-dimensional, but got {weight.dim()} dimension(s)")
    out, in1, in2 = weight.shape
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                           f"{list(input2.shape[:-1])}")
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input sizes {input1.shape[-1]} and {input2.shape[-1]} do not match the "
                           f"weight's {in1} and {in2}")
    left = input1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)          # (..., out * in2)
    y = (left.reshape(*input1.shape[:-1], out, in2) * input2.unsqueeze(-2)).sum(-1)
    return y + bias if bias is not None else y


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): channel c r^2 + i r + j goes to pixel (i, j) of
    each r x r block, as torch's pixel_shuffle."""
    _check_tensor(input, "pixel_shuffle")
    r = int(upscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={input.shape[-3]} is not divisible by {r * r}")
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    _check_tensor(input, "pixel_unshuffle")
    r = int(downscale_factor)
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0 or input.shape[-2] % r or input.shape[-1] % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but got "
                           f"{input.shape[-2]} and {input.shape[-1]} for downscale_factor={r}")
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average over adaptive windows of the last dim of (N, C, L) or (C, L): the 2-d kernel
    over a unit height."""
    from ._layers import adaptive_avg_pool2d

    _check_1d_input(input, "adaptive_avg_pool1d")
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _single(output_size, "adaptive_avg_pool1d",
                                                                "output_size"))).squeeze(-2)
