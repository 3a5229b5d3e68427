"""Functional forms of the losses beyond cross_entropy/mse/l1, re-exported by
nn.functional.  smooth_l1 and huber are one fused C op (pa_pointwise_loss, as mse and l1
are) when input and target agree in shape and float dtype; the rest is composed from differentiable core ops
in a form that is exact and numerically stable, so its gradient comes from the ops' own
backward rules."""
from __future__ import annotations

import warnings

from .._ffi import ffi, lib
from .._functions import where
from .._tensor import Tensor, call
from .functional import (_check_same_shape, _check_target_broadcasts, _check_tensor, _check_weight_not_differentiated,
                         _pointwise_loss, _reduce, _reduction)

__all__: list[str] = ["smooth_l1_loss", "huber_loss", "nll_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "kl_div"]


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, with d = input - target."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_target_broadcasts(input, target, "smooth_l1_loss")
    _reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError("smooth_l1_loss does not support negative values for beta.")
    fused = _pointwise_loss(input, target, lib.PA_LOSS_SMOOTH_L1, reduction, "smooth_l1_loss", beta) \
        if beta > 0 else None
    if fused is not None:
        return fused
    diff = input - target
    distance = diff.abs()
    if beta == 0:   # the L1 loss (PyTorch calls l1_loss: its gradient at 0 is 0)
        return _reduce(distance, reduction, "smooth_l1_loss")
    loss = where(distance < beta, 0.5 * diff * diff / beta, distance - 0.5 * beta)
    return _reduce(loss, reduction, "smooth_l1_loss")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)."""
    _check_target_broadcasts(input, target, "huber_loss")
    _reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    fused = _pointwise_loss(input, target, lib.PA_LOSS_HUBER, reduction, "huber_loss", delta)
    if fused is not None:
        return fused
    diff = input - target
    distance = diff.abs()
    loss = where(distance < delta, 0.5 * diff * diff, delta * (distance - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def _check_class_target(input: Tensor, target: Tensor, op: str) -> None:
    _check_tensor(input, op)
    _check_tensor(target, op, "target")
    if target.dtype.name != "int64":
        raise TypeError(f"{op}: target must be an int64 tensor of class indices, got {target.dtype.name}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have at least one dimension (the classes)")
    want = () if input.ndim == 1 else (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != want:
        raise ValueError(f"{op}: target of shape {tuple(target.shape)} does not fit input of shape "
                         f"{tuple(input.shape)} (expected target shape {want})")


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) or (N, C, d1, ...) (or (C,)) at
    int64 class targets; `weight` (C) rescales classes; targets equal to `ignore_index`
    contribute nothing.  'mean' divides by the summed weights of the counted targets."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_class_target(input, target, "nll_loss")
    code = _reduction(reduction, "nll_loss")
    _check_weight_not_differentiated(weight, "nll_loss")
    w = ffi.NULL
    if weight is not None:
        _check_tensor(weight, "nll_loss", "weight")
        classes = input.shape[0] if input.ndim == 1 else input.shape[1]
        if tuple(weight.shape) != (classes,):
            raise ValueError(f"nll_loss: weight of shape {tuple(weight.shape)} should have one entry per class "
                             f"({classes})")
        w = (weight if weight.dtype == input.dtype else weight.to(input.dtype))._h
    # One C pass: the range check (IndexError naming the target), the loss and its reduction.
    return call(lib.pa_nll_loss, input._h, target._h, w, code, int(ignore_index))


def _check_unit_interval(x: Tensor, op: str, name: str) -> None:
    outside = ((x < 0) | (x > 1)).sum().item()
    if outside:
        raise ValueError(f"{op}: all elements of {name} should be between 0 and 1 ({outside} are not)")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x, with each log clamped to
    >= -100 as in PyTorch (so x = 0 or 1 gives a finite loss)."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_same_shape(input, target, "binary_cross_entropy")
    _check_weight_not_differentiated(weight, "binary_cross_entropy")
    _reduction(reduction, "binary_cross_entropy")
    _check_unit_interval(input, "binary_cross_entropy", "input")
    _check_unit_interval(target, "binary_cross_entropy", "target")
    # NOTE: the log's argument is replaced by a harmless 1 (or 0) where the clamp takes over,
    # so the log's backward never divides a zero gradient by zero.  Unlike PyTorch, whose
    # backward ignores the clamp, the gradient is 0 where a log is clamped.
    positive, below_one = input > 0, input < 1
    log_x = where(positive, where(positive, input, 1.0).log(), -100.0).clamp(min=-100)
    log_1mx = where(below_one, (-where(below_one, input, 0.0)).log1p(), -100.0).clamp(min=-100)
    loss = (target - 1) * log_1mx - target * log_x
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross entropy on logits x, stably, as PyTorch:
    (1 - y) x + l softplus(-x) with l = 1 + (pos_weight - 1) y."""
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    _check_weight_not_differentiated(weight, "binary_cross_entropy_with_logits")
    _check_weight_not_differentiated(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
    _reduction(reduction, "binary_cross_entropy_with_logits")
    # NOTE: softplus(-x) = log1p(exp(-|x|)) + (|x| - x) / 2.  Writing relu(-x) as (|x| - x) / 2
    # puts both kinks at 0 into |x|, where their one-sided slopes cancel, so the gradient
    # at x = 0 is the true -1/2 (relu's and abs's zero subgradients would give 0); the value
    # is as accurate as PyTorch's for any x.
    magnitude = input.abs()
    softplus_neg = (-magnitude).exp().log1p() + 0.5 * (magnitude - input)
    if pos_weight is not None:
        loss = (1 - target) * input + ((pos_weight - 1) * target + 1) * softplus_neg
    else:
        loss = (1 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def legacy_reduction(size_average: bool | None, reduce: bool | None, reduction: str) -> str:
    """reduction, or the one PyTorch's deprecated size_average/reduce flags name (with its
    warning) when either is given: reduce=False -> 'none', else size_average=False -> 'sum',
    else 'mean'."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    chosen = "none" if not reduce else ("mean" if size_average else "sum")
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{chosen}' instead.",
                  UserWarning, stacklevel=3)
    return chosen


_KL_DIV_REDUCTIONS = ("none", "batchmean", "sum", "mean")


def kl_div_reduction(reduction: str, size_average: bool | None, reduce: bool | None, op: str) -> str:
    """kl_div's reduction: one of 'none', 'batchmean', 'sum', 'mean', or the one PyTorch's
    legacy size_average/reduce flags name (with PyTorch's warning) when either is given."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else ("mean" if size_average else "sum")
        warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' "
                      "instead.", UserWarning, stacklevel=3)
    if reduction not in _KL_DIV_REDUCTIONS:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         "(expected 'none', 'batchmean', 'sum' or 'mean')")
    return reduction


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None, reduce: bool | None = None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence of `target` from the log-probabilities `input`:
    target (log target - input), 0 where target is 0 (exp(t) (t - input) for a log target t).
    'batchmean' divides the sum by the batch size (the first dim), which is the KL
    divergence; 'mean' (PyTorch's default, with its warning) divides by the element count."""
    _check_tensor(input, "kl_div")
    _check_tensor(target, "kl_div", "target")
    legacy = size_average is not None or reduce is not None
    reduction = kl_div_reduction(reduction, size_average, reduce, "kl_div")
    if reduction == "mean" and not legacy:
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      UserWarning, stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        # NOTE: target log target is taken as 0 where target is 0 (xlogy), and the log is of a
        # stand-in 1 there, so the gradient with respect to such a target is finite (-input)
        # where PyTorch's is NaN.
        zero = target == 0
        loss = where(zero, 0.0, target * where(zero, 1.0, target).log()) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction, "kl_div")
