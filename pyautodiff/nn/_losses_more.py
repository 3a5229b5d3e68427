"""Ranking, embedding and likelihood losses, re-exported by nn.functional: composed of
core ops in the order of ATen's CPU implementations (or PyTorch's Python ones), so the
values are PyTorch's up to rounding and the gradients come from the ops' rules."""
from __future__ import annotations

import math

from .._functions import where
from .._tensor import Tensor
from ._layers import _check_tensor, pairwise_distance
from ._losses import legacy_reduction
from .functional import _reduce, _reduction

__all__: list[str] = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
                      "multilabel_soft_margin_loss", "cosine_embedding_loss", "triplet_margin_loss",
                      "poisson_nll_loss", "gaussian_nll_loss"]


def _same_shapes(op: str, *tensors: Tensor) -> None:
    for t in tensors:
        _check_tensor(t, op)
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) > 1:
        raise RuntimeError(f"{op}: the inputs must have the same size, got {[tuple(t.shape) for t in tensors]}")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, -target (input1 - input2) + margin)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _reduction(reduction, "margin_ranking_loss")
    _same_shapes("margin_ranking_loss", input1, input2, target)
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    return _reduce(loss, reduction, "margin_ranking_loss")


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average: bool | None = None,
                         reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """x where target is 1, max(0, margin - x) where it is -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _reduction(reduction, "hinge_embedding_loss")
    _same_shapes("hinge_embedding_loss", input, target)
    margin_part = where(target != 1, (margin - input).clamp(min=0), 0.0)
    self_part = where(target != -1, input, 0.0)
    return _reduce(margin_part + self_part, reduction, "hinge_embedding_loss")


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input))."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _reduction(reduction, "soft_margin_loss")
    _same_shapes("soft_margin_loss", input, target)
    return _reduce((-input * target).exp().log1p(), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """-(t log sigmoid(x) + (1 - t) log sigmoid(-x)), weighted, averaged over the classes
    (the last dim)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    from ._layers_more import logsigmoid

    _reduction(reduction, "multilabel_soft_margin_loss")
    _same_shapes("multilabel_soft_margin_loss", input, target)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos - margin) where it is -1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _reduction(reduction, "cosine_embedding_loss")
    _same_shapes("cosine_embedding_loss", input1, input2)
    if input1.dim() not in (1, 2) or target.dim() != input1.dim() - 1:
        raise RuntimeError(f"cosine_embedding_loss: 1D target tensor expects 2D input tensors, but found "
                           f"inputs with sizes {list(input1.shape)} and {list(input2.shape)}")
    dim = input1.dim() - 1
    eps = 1e-12
    prod = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = prod / (mag1 * mag2).sqrt()
    loss = where(target == 1, 1 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0), 0.0)
    return _reduce(loss, reduction, "cosine_embedding_loss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with pairwise_distance (and the distance swap)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _reduction(reduction, "triplet_margin_loss")
    for t in (anchor, positive, negative):
        _check_tensor(t, "triplet_margin_loss")
    if not (anchor.dim() == positive.dim() == negative.dim()):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.dim()}D, positive {positive.dim()}D, and "
                           f"negative {negative.dim()}D inputs")
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: expected margin to be greater than 0, got {margin} instead")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0), reduction, "triplet_margin_loss")


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    """exp(x) - t x (log_input) or x - t log(x + eps); with full, Stirling's term for t > 1."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _reduction(reduction, "poisson_nll_loss")
    _check_tensor(input, "poisson_nll_loss")
    _check_tensor(target, "poisson_nll_loss", "target")
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        safe = where(target > 1, target, 2.0)
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        loss = loss + where(target > 1, stirling, 0.0)
    return _reduce(loss, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """0.5 (log var + (x - t)^2 / var) (+ 0.5 log 2 pi with full), var clamped to eps for the
    values but not for the gradient, as PyTorch's."""
    from .._creation import full as _full

    _reduction(reduction, "gaussian_nll_loss")
    _check_tensor(input, "gaussian_nll_loss")
    _check_tensor(target, "gaussian_nll_loss", "target")
    v = var if isinstance(var, Tensor) else _full(tuple(input.shape), float(var), dtype=input.dtype)
    if tuple(v.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(v.shape):
            v = v.unsqueeze(-1)
        elif not (input.dim() == v.dim() and
                  sum(b for a, b in zip(input.shape, v.shape) if a != b) == 1):  # one size-1 dim
            raise ValueError("var is of incorrect size")
    if bool((v < 0).any().item()):
        raise ValueError("var has negative entry/entries")
    v = v + (v.detach().clamp(min=eps) - v.detach())
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, "gaussian_nll_loss")
