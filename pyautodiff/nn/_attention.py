"""Attention, re-exported by nn.functional: scaled_dot_product_attention and
multi_head_attention_forward, composed of the core's differentiable ops (batched
matmul, softmax, masked_fill, dropout, linear) in the order of PyTorch's reference
implementations, so their gradients come from those ops' backward rules."""
from __future__ import annotations

import math
from typing import Any

from .._creation import ones, zeros
from .._functions import cat, where
from .._tensor import Tensor, matmul
from ._layers import dropout, pad
from .functional import linear

__all__: list[str] = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _float_mask(mask: Tensor | None, name: str, like: Tensor) -> Tensor | None:
    """MultiheadAttention's masks as additive float masks: a bool mask's True (not
    allowed) becomes -inf; a float mask is added as it is."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"multi_head_attention_forward: {name} must be a Tensor, not {type(mask).__name__}")
    if mask.dtype.name == "bool":
        return zeros(*mask.shape, dtype=like.dtype).masked_fill(mask, float("-inf"))
    if not mask.dtype.is_floating_point:
        raise TypeError(f"only bool and floating types of {name} are supported")
    return mask


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(query @ key^T * scale + bias) @ value over the last two dims, as
    torch.nn.functional.scaled_dot_product_attention: scale defaults to 1/sqrt(E); a bool
    attn_mask marks the pairs that take part (False -> -inf), a float one is added;
    is_causal masks the upper triangle; dropout_p drops attention weights."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor, not {type(t).__name__}")
    if enable_gqa:
        raise NotImplementedError("scaled_dot_product_attention: enable_gqa is not supported")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query and key must have the same last "
                           f"dimension, got {tuple(query.shape)} and {tuple(key.shape)}")
    L, S = query.shape[-2], key.shape[-2]
    scale_factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    bias: Tensor | None = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: _scaled_dot_product_attention: Explicit "
                               "attn_mask should not be set when is_causal=True")
        causal = ones(L, S, dtype="bool").tril(0)
        bias = zeros(L, S, dtype=query.dtype).masked_fill(causal.logical_not(), float("-inf"))
    elif attn_mask is not None:
        if attn_mask.dtype.name == "bool":
            bias = zeros(*attn_mask.shape, dtype=query.dtype).masked_fill(attn_mask.logical_not(),
                                                                          float("-inf"))
        else:
            bias = attn_mask
    weights = matmul(query, key.transpose(-2, -1)) * scale_factor
    empty: Tensor | None = None
    if bias is not None:
        weights = weights + bias
    if bias is not None and not (is_causal and S > 0):  # (a causal row keeps its first key)
        # a row whose every score is masked attends to nothing: zeros (PyTorch's
        # _safe_softmax), not the NaN of softmax over -inf alone; checked once, so that
        # the common case pays no extra pass
        empty = (weights == float("-inf")).all(-1, keepdim=True)
        if not bool(empty.any().item()):
            empty = None
    if empty is None:
        weights = weights.softmax(-1)
    else:
        weights = where(empty, 0.0, where(empty, 0.0, weights).softmax(-1))
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return matmul(weights, value)


def _heads(t: Tensor, static: Any, name: str, batch_heads: int, head_dim: int) -> Tensor:
    """A projected key or value (S, N, E) as (N * heads, S, E / heads), or `static`
    (checked) in its place."""
    if static is None:
        return t.reshape(t.shape[0], batch_heads, head_dim).transpose(0, 1)
    if static.dim() != 3 or static.shape[0] != batch_heads or static.shape[2] != head_dim:
        raise AssertionError(f"expecting {name} of shape ({batch_heads}, S, {head_dim}), but got "
                             f"{tuple(static.shape)}")
    return static


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int,
                                 num_heads: int, in_proj_weight: Tensor, in_proj_bias: Tensor | None,
                                 bias_k: Any, bias_v: Any, add_zero_attn: bool, dropout_p: float,
                                 out_proj_weight: Tensor, out_proj_bias: Tensor | None, training: bool = True,
                                 key_padding_mask: Tensor | None = None, need_weights: bool = True,
                                 attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
                                 q_proj_weight: Any = None, k_proj_weight: Any = None, v_proj_weight: Any = None,
                                 static_k: Any = None, static_v: Any = None, average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """torch.nn.functional.multi_head_attention_forward: query (L, N, E) and key/value
    (S, N, kdim/vdim), or unbatched (L, E), (S, kdim/vdim); the input projections packed
    in in_proj_weight (3E, E), or with use_separate_proj_weight q/k/v_proj_weight; bias_k
    and bias_v (1, 1, E) append one key and value, add_zero_attn one zero key and value;
    static_k/static_v (N * heads, S, E / heads) replace the projected key and value.
    Returns (output, weights or None)."""
    batched = query.dim() == 3
    if query.dim() not in (2, 3) or key.dim() != query.dim() or value.dim() != query.dim():
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor" if query.dim() not in (2, 3) else
                             f"For {'batched (3-D)' if batched else 'unbatched (2-D)'} `query`, expected "
                             f"`key` and `value` to be {query.dim()}-D but found {key.dim()}-D and "
                             f"{value.dim()}-D tensors respectively")
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    if embed_dim % num_heads:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    head_dim = embed_dim // num_heads
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not match value's "
                                 f"{tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                           "module method `generate_square_subsequent_mask` to create this mask.")
    # the input projections: one product for self-attention, else one per input
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, k_proj_weight or "
                                 "v_proj_weight is None")
        b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
        q, k, v = (linear(query, q_proj_weight, b_q), linear(key, k_proj_weight, b_k),
                   linear(value, v_proj_weight, b_v))
    elif query is key and key is value:
        q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
    else:
        w_q, w_k, w_v = in_proj_weight.chunk(3)
        b_q, b_k, b_v = in_proj_bias.chunk(3) if in_proj_bias is not None else (None, None, None)
        q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    mask = _float_mask(attn_mask, "attn_mask", q)
    if mask is not None:
        want = [(tgt_len, src_len)] if mask.dim() == 2 else [(bsz * num_heads, tgt_len, src_len)]
        if tuple(mask.shape) not in want or mask.dim() not in (2, 3):
            raise RuntimeError(f"The shape of the {mask.dim()}D attn_mask is {tuple(mask.shape)}, but should "
                               f"be {want[0]}." if mask.dim() in (2, 3) else
                               f"attn_mask's dimension {mask.dim()} is not supported")
        if mask.dim() == 2:
            mask = mask.unsqueeze(0)
    padding = _float_mask(key_padding_mask, "key_padding_mask", q)
    if padding is not None and tuple(padding.shape) != (bsz, src_len):
        raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but got "
                             f"{tuple(padding.shape)}")
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("bias_k and bias_v must be given together")
    if bias_k is not None:  # one more key and value, attended by every query
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k, v = cat([k, bias_k.repeat(1, bsz, 1)]), cat([v, bias_v.repeat(1, bsz, 1)])
        mask = pad(mask, (0, 1)) if mask is not None else None
        padding = pad(padding, (0, 1)) if padding is not None else None
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, "static_k", bsz * num_heads, head_dim)
    v = _heads(v, static_v, "static_v", bsz * num_heads, head_dim)
    if add_zero_attn:  # and one zero key and value
        k = cat([k, zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype)], 1)
        v = cat([v, zeros(bsz * num_heads, 1, head_dim, dtype=v.dtype)], 1)
        mask = pad(mask, (0, 1)) if mask is not None else None
        padding = pad(padding, (0, 1)) if padding is not None else None
    src_len = k.shape[1]
    if padding is not None:
        padding = padding.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len) \
            .reshape(bsz * num_heads, 1, src_len)
        mask = padding if mask is None else mask + padding
    if not training:
        dropout_p = 0.0
    if need_weights:
        weights = matmul(q * math.sqrt(1.0 / float(head_dim)), k.transpose(-2, -1))
        if mask is not None:
            weights = mask + weights
        weights = weights.softmax(-1)
        if dropout_p > 0.0:
            weights = dropout(weights, dropout_p, True)
        out = matmul(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
        w = weights.reshape(bsz, num_heads, tgt_len, src_len)
        w = w.mean(1) if average_attn_weights else w
        if not batched:
            out, w = out.squeeze(1), w.squeeze(0)
        return out, w
    if mask is not None:
        mask = mask.unsqueeze(0) if mask.shape[0] == 1 else mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, mask, dropout_p)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    return (out if batched else out.squeeze(1)), None

