"""Functional forms of the layers (convolution, pooling, normalisation, dropout,
embedding, leaky_relu), re-exported by nn.functional.  Each is argument normalisation
plus one C call; the C core checks shapes, dtypes and values."""
from __future__ import annotations

import numbers
from typing import Any, Sequence, Union

from .._ffi import ffi, lib, raise_error
from .._tensor import Tensor, call, wrap

_IntOrPair = Union[int, "tuple[int, int]"]

__all__: list[str] = ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "batch_norm",
           "layer_norm", "dropout", "embedding", "leaky_relu"]


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
            if th % 2 or tw % 2:
                raise NotImplementedError("conv2d: padding='same' needs asymmetric padding for this "
                                          "kernel size and dilation, which is not supported")
            ph, pw = th // 2, tw // 2
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
