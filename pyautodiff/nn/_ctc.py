"""The connectionist temporal classification loss (F.ctc_loss), re-exported by
nn.functional.

Computed as PyTorch's CPU kernel computes it: the forward (alpha) and backward (beta)
recursions over the blank-extended target in log space, here in float64 NumPy (one
vectorised step per time step), the loss rounded once to the input's dtype.  The
gradient with respect to log_probs is PyTorch's, exp(lp) - exp(log(alpha beta) - lp + nll)
at t < input_length and 0 after: the gradient of the loss with respect to the logits of
a log_softmax, which is what log_probs are expected to be (it differs from the
derivative with respect to log_probs alone by exp(lp), which log_softmax's backward
removes).  zero_infinity replaces infinite losses (targets that cannot fit) and their
gradients by zeros."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._ops_extra import _from_numpy, _recorded, _values
from .._tensor import Tensor
from ._layers import _check_tensor

__all__: list[str] = ["ctc_loss"]


def _lengths(name: str, value: Any, n: int) -> np.ndarray:
    arr = np.asarray(_values(value) if isinstance(value, Tensor) else value).reshape(-1)
    if arr.dtype.kind not in "iu" and not (arr.size and np.all(arr == np.round(arr))):
        raise RuntimeError(f"ctc_loss: {name} must be integers, got {arr.dtype}")
    if arr.size != n:
        raise RuntimeError(f"ctc_loss: {name} must have length {n} (the batch size), got {arr.size}")
    return arr.astype(np.int64)


def _logsumexp(*xs: np.ndarray) -> np.ndarray:
    m = np.maximum.reduce(xs)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.sum([np.exp(x - safe) for x in xs], axis=0))


def _one_sequence(lp: np.ndarray, target: np.ndarray, blank: int) -> tuple[float, np.ndarray]:
    """(nll, gradient (T, C)) for one sequence: lp (T, C) float64, target (S,)."""
    t_len, n_cls = lp.shape
    ext = np.full(2 * len(target) + 1, blank, np.int64)
    ext[1::2] = target
    n_ext = len(ext)
    # s - 2 allowed where the label differs from the one two back (and is not blank)
    skip = np.zeros(n_ext, bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    neg = np.full(n_ext, -np.inf)
    if t_len == 0:
        nll = 0.0 if len(target) == 0 else np.inf
        return nll, np.zeros_like(lp)
    alpha = np.full((t_len, n_ext), -np.inf)
    alpha[0, 0] = lp[0, ext[0]]
    if n_ext > 1:
        alpha[0, 1] = lp[0, ext[1]]
    for t in range(1, t_len):
        prev = alpha[t - 1]
        one = np.concatenate([[-np.inf], prev[:-1]])
        two = np.where(skip, np.concatenate([neg[:2], prev[:-2]]), -np.inf)
        alpha[t] = _logsumexp(prev, one, two) + lp[t, ext]
    ends = alpha[t_len - 1, -2:] if n_ext > 1 else alpha[t_len - 1, -1:]
    nll = -float(_logsumexp(*ends))
    beta = np.full((t_len, n_ext), -np.inf)
    beta[t_len - 1, -1] = lp[t_len - 1, ext[-1]]
    if n_ext > 1:
        beta[t_len - 1, -2] = lp[t_len - 1, ext[-2]]
    skip_next = np.zeros(n_ext, bool)  # s + 2 allowed where s + 2 may skip back to s
    skip_next[:-2] = skip[2:]
    for t in range(t_len - 2, -1, -1):
        nxt = beta[t + 1]
        one = np.concatenate([nxt[1:], [-np.inf]])
        two = np.where(skip_next, np.concatenate([nxt[2:], neg[:2]]), -np.inf)
        beta[t] = _logsumexp(nxt, one, two) + lp[t, ext]
    if not np.isfinite(nll):
        return nll, np.zeros_like(lp)
    ab = alpha + beta  # log(alpha beta): the emission at t counted twice
    lcab = np.full((t_len, n_cls), -np.inf)
    for s in range(n_ext):  # (2S + 1 adds, each a vector over time)
        lcab[:, ext[s]] = _logsumexp(lcab[:, ext[s]], ab[:, s])
    with np.errstate(over="ignore", invalid="ignore"):
        grad = np.exp(lp) - np.exp(lcab + nll - lp)
    return nll, grad


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC loss of log_probs (T, N, C) (or (T, C) unbatched), the log_softmax output
    of a network, against targets padded (N, S) or concatenated (sum(target_lengths),),
    as torch.nn.functional.ctc_loss.  reduction 'mean' divides each loss by its target
    length, then averages over the batch."""
    _check_tensor(log_probs, "ctc_loss")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if not log_probs.dtype.is_floating_point:
        raise RuntimeError(f"ctc_loss: log_probs must be floating point, got {log_probs.dtype}")
    unbatched = log_probs.dim() == 2
    lp_all = _values(log_probs).astype(np.float64)
    if unbatched:
        lp_all = lp_all[:, None, :]
    if lp_all.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got {list(log_probs.shape)}")
    t_max, n, n_cls = lp_all.shape
    if not 0 <= int(blank) < n_cls:
        raise RuntimeError(f"ctc_loss: blank must be in label range [0, {n_cls}), got {blank}")
    in_len = _lengths("input_lengths", input_lengths, n)
    tg_len = _lengths("target_lengths", target_lengths, n)
    tg = np.asarray(_values(targets) if isinstance(targets, Tensor) else targets).astype(np.int64)
    if unbatched:
        tg = tg.reshape(1, -1)
    if np.any(in_len < 0) or np.any(in_len > t_max):
        raise RuntimeError(f"ctc_loss: input_lengths must be in [0, {t_max}], got {in_len.tolist()}")
    if np.any(tg_len < 0):
        raise RuntimeError(f"ctc_loss: target_lengths must be non-negative, got {tg_len.tolist()}")
    offsets = np.concatenate([[0], np.cumsum(tg_len)])
    if tg.ndim == 1:
        if tg.size < offsets[-1]:
            raise RuntimeError(f"ctc_loss: concatenated targets hold {tg.size} labels, target_lengths need "
                               f"{int(offsets[-1])}")
    elif tg.ndim != 2 or tg.shape[0] != n or np.any(tg_len > tg.shape[1]):
        raise RuntimeError(f"ctc_loss: targets of shape {list(tg.shape)} do not fit the batch of {n} and "
                           f"target_lengths {tg_len.tolist()}")
    losses = np.zeros(n)
    grads = np.zeros_like(lp_all)
    for b in range(n):
        seq = tg[offsets[b]:offsets[b + 1]] if tg.ndim == 1 else tg[b, :tg_len[b]]
        if seq.size and (seq.min() < 0 or seq.max() >= n_cls or np.any(seq == blank)):
            raise RuntimeError(f"ctc_loss: targets of sequence {b} must be labels in [0, {n_cls}) other than "
                               f"the blank {blank}, got {seq.tolist()}")
        losses[b], grads[:in_len[b], b] = _one_sequence(lp_all[:in_len[b], b], seq, int(blank))
    if zero_infinity:
        dead = ~np.isfinite(losses)
        losses[dead] = 0.0
        grads[:, dead] = 0.0
    if reduction == "none":
        scale = np.ones(n)
        value: np.ndarray = losses if not unbatched else np.asarray(losses[0])
    elif reduction == "sum":
        scale = np.ones(n)
        value = np.asarray(losses.sum())
    else:
        scale = 1.0 / np.maximum(tg_len, 1) / n
        value = np.asarray((losses * scale).sum())
    value = value.astype(log_probs.dtype.numpy)
    if not log_probs.requires_grad:
        return _from_numpy(value)
    dtype = log_probs.dtype.numpy

    def backward(g: Tensor) -> tuple[Tensor]:
        gv = np.broadcast_to(_values(g).astype(np.float64).reshape(-1), (n,)) if reduction == "none" else \
            np.full(n, float(_values(g)))
        out = grads * (gv * scale)[None, :, None]
        return (_from_numpy((out[:, 0] if unbatched else out).astype(dtype)),)

    return _recorded(value, [log_probs], backward)
