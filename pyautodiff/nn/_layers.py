"""Functional forms of the layers (convolution, pooling, normalisation, dropout,
embedding, activations, one_hot, normalize, pad), re-exported by nn.functional.  A layer
with a C op is argument normalisation plus one C call (the C core checks shapes, dtypes
and values); the others are composed from differentiable core ops, so their gradients come
from the ops' own backward rules."""
from __future__ import annotations

import numbers
from typing import Any, Sequence, Union

import numpy as np

from .._creation import arange
from .._ffi import ffi, lib, raise_error
from .._functions import where
from .._tensor import Tensor, call, unary, wrap

_IntOrPair = Union[int, "tuple[int, int]"]

__all__: list[str] = ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
           "layer_norm", "dropout", "embedding", "leaky_relu", "silu", "softplus", "elu", "hardtanh",
           "relu6", "mish", "hardswish", "hardsigmoid", "softsign", "one_hot", "normalize", "pad",
           "cosine_similarity", "pairwise_distance"]


def _check_tensor(x: object, op: str, name: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{name}' must be a Tensor, not {type(x).__name__}")


def _pair(v: Any, op: str, name: str) -> tuple[int, int]:
    """(a, b) from an int or a pair of ints, as PyTorch's _pair."""
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return int(v), int(v)
    try:
        a, b = v
        if all(isinstance(x, numbers.Integral) and not isinstance(x, bool) for x in (a, b)):
            return int(a), int(b)
    except (TypeError, ValueError):
        pass
    raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {v!r}")


def _handle(t: Tensor | None) -> Any:
    return t._h if t is not None else ffi.NULL


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: _IntOrPair = 1,
           padding: _IntOrPair | str = 0, dilation: _IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-d cross-correlation of (N, C, H, W) or (C, H, W) input with weight
    (out_channels, in_channels / groups, kH, kW); padding may be an int, a pair,
    'valid' or 'same'."""
    _check_tensor(input, "conv2d")
    _check_tensor(weight, "conv2d", "weight")
    sh, sw = _pair(stride, "conv2d", "stride")
    dh, dw = _pair(dilation, "conv2d", "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            ph = pw = 0
        elif padding == "same":
            if (sh, sw) != (1, 1):
                raise ValueError("conv2d: padding='same' is not supported for strided convolutions")
            if weight.ndim != 4:
                raise ValueError(f"conv2d: expected a 4-d weight, got shape {tuple(weight.shape)}")
            th, tw = dh * (weight.shape[2] - 1), dw * (weight.shape[3] - 1)
            ph, pw = th // 2, tw // 2
            if th % 2 or tw % 2:  # the odd element goes after, as in PyTorch
                input = pad(input, (pw, tw - pw, ph, th - ph))
                ph = pw = 0
        else:
            raise ValueError(f"conv2d: invalid padding string {padding!r}, should be one of "
                             "{'valid', 'same'}")
    else:
        ph, pw = _pair(padding, "conv2d", "padding")
    if not isinstance(groups, numbers.Integral):
        raise TypeError(f"conv2d: groups must be an int, got {groups!r}")
    unbatched = input.ndim == 3
    x = input.unsqueeze(0) if unbatched else input
    out = call(lib.pa_conv2d, x._h, weight._h, _handle(bias), sh, sw, ph, pw, dh, dw, int(groups))
    return out.squeeze(0) if unbatched else out


def _pool_args(op: str, kernel_size: _IntOrPair, stride: Any, padding: _IntOrPair,
               dilation: _IntOrPair = 1) -> tuple[int, int, int, int, int, int, int, int]:
    kh, kw = _pair(kernel_size, op, "kernel_size")
    if stride is None or (not isinstance(stride, numbers.Integral) and len(stride) == 0):
        sh, sw = kh, kw
    else:
        sh, sw = _pair(stride, op, "stride")
    ph, pw = _pair(padding, op, "padding")
    dh, dw = _pair(dilation, op, "dilation")
    return kh, kw, sh, sw, ph, pw, dh, dw


def max_pool2d(input: Tensor, kernel_size: _IntOrPair, stride: _IntOrPair | None = None,
               padding: _IntOrPair = 0, dilation: _IntOrPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Max over kernel_size windows; with return_indices, also the flat argmax index
    into each (H, W) plane (int64), as PyTorch."""
    _check_tensor(input, "max_pool2d")
    args = _pool_args("max_pool2d", kernel_size, stride, padding, dilation)
    out = ffi.new("pa_tensor *[1]")
    idx = ffi.new("pa_tensor *[1]") if return_indices else ffi.NULL
    status = lib.pa_max_pool2d(input._h, *args, int(bool(ceil_mode)), out, idx)
    if status:
        raise_error(status)
    return (wrap(out[0]), wrap(idx[0])) if return_indices else wrap(out[0])


def avg_pool2d(input: Tensor, kernel_size: _IntOrPair, stride: _IntOrPair | None = None,
               padding: _IntOrPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    _check_tensor(input, "avg_pool2d")
    kh, kw, sh, sw, ph, pw, _, _ = _pool_args("avg_pool2d", kernel_size, stride, padding)
    if divisor_override is not None and int(divisor_override) == 0:
        raise ValueError("avg_pool2d: divisor must be not zero")
    return call(lib.pa_avg_pool2d, input._h, kh, kw, sh, sw, ph, pw, int(bool(ceil_mode)),
                int(bool(count_include_pad)), int(divisor_override or 0))


def adaptive_avg_pool2d(input: Tensor, output_size: int | None | Sequence[int | None]) -> Tensor:
    """Average over adaptive windows to output_size (an int, a pair; None keeps that dim)."""
    _check_tensor(input, "adaptive_avg_pool2d")
    if input.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: expected a 3-d or 4-d input, got shape "
                         f"{tuple(input.shape)}")
    if isinstance(output_size, numbers.Integral) or output_size is None:
        output_size = (output_size, output_size)
    # (numbers.Integral above does not narrow the union for mypy)
    oh, ow = (input.shape[-2 + i] if s is None else s for i, s in enumerate(output_size))  # type: ignore[arg-type]
    oh, ow = _pair((oh, ow), "adaptive_avg_pool2d", "output_size")
    return call(lib.pa_adaptive_avg_pool2d, input._h, oh, ow)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalises over every dim but 1 with batch statistics (training) or the running
    ones; in training, running_mean/running_var are updated in place."""
    _check_tensor(input, "batch_norm")
    return call(lib.pa_batch_norm, input._h, _handle(running_mean), _handle(running_var),
                _handle(weight), _handle(bias), int(bool(training)), float(momentum), float(eps))


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    _check_tensor(input, "layer_norm")
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)  # type: ignore[assignment]  # (Integral does not narrow for mypy)
    shape = [int(s) for s in normalized_shape]  # type: ignore[union-attr]
    return call(lib.pa_layer_norm, input._h, len(shape), ffi.new("int64_t[]", shape or [0]),
                _handle(weight), _handle(bias), float(eps))


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes elements with probability p (from the generator seeded by manual_seed) and
    scales the others by 1 / (1 - p); the input itself when not training."""
    _check_tensor(input, "dropout")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training:
        return input
    return call(lib.pa_dropout, input._h, float(p), 1)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of weight (num_embeddings, embedding_dim) at the int64 indices `input`."""
    _check_tensor(input, "embedding")
    _check_tensor(weight, "embedding", "weight")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not supported")
    if padding_idx is not None:
        padding_idx = int(padding_idx)
        if padding_idx < 0:
            padding_idx += weight.shape[0]
    return call(lib.pa_embedding, input._h, weight._h, int(padding_idx is not None),
                padding_idx if padding_idx is not None else -1)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    _check_tensor(input, "leaky_relu")
    return call(lib.pa_leaky_relu, input._h, float(negative_slope))


# ---- activations composed from core ops --------------------------------------------
# NOTE: where a branch of a `where` can overflow (exp of a large input), the branch is
# computed on a harmless stand-in value where it is not chosen: the gradient `where` sends
# it there is 0, and 0 times the overflowed inf of exp's backward would be NaN.

def _check_floating(x: Tensor, op: str) -> None:
    _check_tensor(x, op)
    if not x.is_floating_point():
        raise NotImplementedError(f"{op}: not implemented for {x.dtype.name} (expected a floating-point tensor)")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish), one C op: its values round as x * x.sigmoid(),
    its gradient is PyTorch's g sigmoid(x) (1 + x (1 - sigmoid(x))).  `inplace` is
    accepted; the result is computed out of place.
    NOTE: as x * x.sigmoid(), 1e6 floats took 583 us (2 threads; PyTorch 279)."""
    _check_floating(input, "silu")
    return unary("silu", input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch), one
    C op each way; the gradient is PyTorch's g z / (z + 1), z = exp(beta x)."""
    _check_floating(input, "softplus")
    return call(lib.pa_softplus, input._h, float(beta), float(threshold))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, else alpha (exp(x) - 1), one C op each way; the gradient is
    alpha exp(x) on the negative side, alpha at 0, as PyTorch's."""
    _check_floating(input, "elu")
    return call(lib.pa_elu, input._h, float(alpha))


def _hardtanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    # NOTE: not clamp: PyTorch's hardtanh passes the gradient only strictly inside
    # (min_val, max_val), while clamp's passes it at the bounds too.  Floats take one C
    # op each way (pa_hardtanh); integers (forward only) the wheres.
    if x.is_floating_point():
        return call(lib.pa_hardtanh, x._h, float(min_val), float(max_val))
    return where(x <= min_val, min_val, where(x >= max_val, max_val, x))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient is 0 at the bounds, as PyTorch's."""
    _check_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val cannot be greater than max_val (got {min_val} > {max_val})")
    return _hardtanh(input, min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6), i.e. hardtanh(x, 0, 6)."""
    _check_tensor(input, "relu6")
    return _hardtanh(input, 0.0, 6.0)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    _check_floating(input, "mish")
    # softplus(x) is x beyond 20 in PyTorch's too; tanh is exactly 1 there either way.
    return input * softplus(input, 1.0, 20.0).tanh()


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x + 3, 0), 6) / 6, one C op each way; the gradient is 1/6 strictly inside
    (-3, 3), else 0, as PyTorch's."""
    _check_floating(input, "hardsigmoid")
    return call(lib.pa_hardsigmoid, input._h, 0)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * min(max(x + 3, 0), 6) / 6, one C op each way; the gradient is PyTorch's:
    0 up to -3, x / 3 + 1/2 below 3, 1 from 3 on."""
    _check_floating(input, "hardswish")
    return call(lib.pa_hardsigmoid, input._h, 1)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    _check_tensor(input, "softsign")
    return input / (input.abs() + 1)


# ---- one_hot, normalize, pad --------------------------------------------------------

def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding of shape (*tensor.shape, num_classes) of int64 class indices;
    num_classes=-1 takes the largest index + 1."""
    _check_tensor(tensor, "one_hot", "tensor")
    if tensor.dtype.name != "int64":
        raise RuntimeError(f"one_hot is only applicable to index tensor of type LongTensor "
                           f"(int64), got {tensor.dtype.name}.")
    num_classes = int(num_classes)
    if tensor.numel() == 0:
        if num_classes == -1:
            raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
        if num_classes < 0:
            raise RuntimeError(f"one_hot: num_classes should be -1 or non-negative, got {num_classes}.")
    else:
        low, high = int(tensor.min().item()), int(tensor.max().item())
        if low < 0:
            raise RuntimeError(f"one_hot: Class values must be non-negative (got {low}).")
        if num_classes == -1:
            num_classes = high + 1
        elif high >= num_classes:
            raise RuntimeError(f"one_hot: Class values must be smaller than num_classes "
                               f"(got {high} for num_classes={num_classes}).")
    return (tensor.unsqueeze(-1) == arange(num_classes)).long()


def _dims(dim: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(dim, numbers.Integral):
        return (int(dim),)
    return tuple(int(d) for d in dim)  # type: ignore[union-attr]  # (Integral does not narrow for mypy)


def _vector_norm(x: Tensor, p: float, dim: int | Sequence[int]) -> Tensor:
    """The p-norm of x over `dim` (kept), with a zero gradient where the norm is 0 (as
    PyTorch's): torch.norm."""
    from .._ops_extra import norm

    return norm(x, p, _dims(dim), keepdim=True)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum over dim of (x1 / max(||x1||, eps)) * (x2 / max(||x2||, eps)), the two
    broadcast together, as torch.nn.functional.cosine_similarity."""
    _check_floating(x1, "cosine_similarity")
    _check_floating(x2, "cosine_similarity")
    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))  # norms of the broadcast operands
    x1, x2 = x1.expand(*shape), x2.expand(*shape)
    a = x1 / _vector_norm(x1, 2.0, dim).clamp(min=eps)
    b = x2 / _vector_norm(x2, 2.0, dim).clamp(min=eps)
    return (a * b).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim, as torch.nn.functional.pairwise_distance."""
    from .._ops_extra import norm

    _check_floating(x1, "pairwise_distance")
    diff = x1 - x2 + eps
    return norm(diff, p, -1, keepdim=keepdim)


def normalize(input: Tensor, p: float = 2.0, dim: int | Sequence[int] = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """input / max(||input||_p over dim, eps)."""
    _check_floating(input, "normalize")
    if out is not None:
        raise NotImplementedError("normalize: out= is not supported")
    return input / _vector_norm(input, float(p), dim).clamp(min=eps)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def _check_index_pad(input: Tensor, amounts: list[int], mode: str, value: float | None) -> None:
    """pad's argument checks for the reflect / replicate / circular modes (the sizes are
    checked by the core)."""
    if value is not None and value != 0:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument')
    if len(amounts) % 2 or not 2 <= len(amounts) <= 6:
        raise RuntimeError(f"pad: {mode} padding takes 1 to 3 (before, after) pairs, got {len(amounts)} values")
    k = len(amounts) // 2
    if input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Only {k + 1}D or {k + 2}D input is supported for {k}D {mode} padding "
                                  f"(got {input.ndim}D)")


def _pad_ints(pad: Any) -> list[int]:
    try:
        items = list(pad)
    except TypeError:
        raise TypeError(f"pad: argument 'pad' must be a tuple of ints, not {type(pad).__name__}") from None
    for i, v in enumerate(items):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"pad: argument 'pad' must be a tuple of ints, but found element of type "
                            f"{type(v).__name__} at pos {i}")
    return [int(v) for v in items]


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pads the last len(pad) // 2 dims: pad = (left, right) for the last dim, then (top,
    bottom) for the one before, ...  mode 'constant' fills with `value` (0 by default) and
    crops for negative amounts; 'reflect', 'replicate' and 'circular' repeat the input's
    own elements, as torch's pad (one C op, pa_pad, with its backward)."""
    _check_tensor(input, "pad")
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}")
    amounts = _pad_ints(pad)
    if mode != "constant":
        _check_index_pad(input, amounts, mode, value)
    else:
        if len(amounts) % 2:
            raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(amounts)}")
        if len(amounts) // 2 > input.ndim:
            raise RuntimeError(f"pad: Padding length should be less than or equal to two times the input "
                               f"dimension but got padding length {len(amounts)} and input of dimension {input.ndim}")
        for i in range(len(amounts) // 2):
            dim = input.ndim - 1 - i
            before, after = amounts[2 * i], amounts[2 * i + 1]
            size = input.shape[dim]
            if size + min(before, 0) + min(after, 0) < 0:
                raise RuntimeError(f"pad: The input size {size}, plus negative padding {before} and {after} "
                                   f"resulted in a negative output size, which is invalid. Check dimension {dim} "
                                   "of your input.")
        if not amounts:
            return input.clone()
    return call(lib.pa_pad, input._h, len(amounts), ffi.new("int64_t[]", amounts), _PAD_MODES.index(mode),
                float(0 if value is None else value))
