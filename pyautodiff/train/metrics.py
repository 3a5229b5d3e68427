"""Metrics for `pyautodiff.train.Trainer`.

A metric is fed one batch at a time and reports an epoch value that is exact over the
whole epoch (a partial last batch counts for what it holds):

* ``reset()`` starts a new epoch (or evaluation run);
* ``update(outputs, targets) -> float`` adds a batch and returns the batch's own value;
* ``compute() -> float`` returns the value over everything seen since ``reset()``.

Every metric works on whole tensors (argmax, ==, sum, ...): no Python loop over samples.
Any callable ``fn(outputs, targets) -> float`` can be used as a metric too; it is taken to
return a batch mean, and its epoch value is the mean of the batch values weighted by batch
size.  The strings ``'accuracy'`` (also ``'acc'``), ``'top5'`` (any ``'topK'``), ``'mae'``
and ``'rmse'`` name the built-in metrics.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Union

from .._creation import arange
from .._functions import where
from .._tensor import Tensor

__all__ = ["Metric", "Accuracy", "TopKAccuracy", "MAE", "RMSE", "FunctionMetric", "get_metric"]


def _batch_size(targets):
    return int(targets.shape[0]) if isinstance(targets, Tensor) and targets.ndim > 0 else 1


class Metric:
    """Base class: subclasses set `name` and implement `_batch(outputs, targets)`, which
    returns ``(total, count)`` for the batch; the value is ``total / count``."""

    name: str = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._total = 0.0
        self._count = 0

    def _batch(self, outputs, targets):
        raise NotImplementedError

    def update(self, outputs: Tensor, targets: Any) -> float:
        total, count = self._batch(outputs.detach(), targets.detach() if isinstance(targets, Tensor) else targets)
        self._total += float(total)
        self._count += int(count)
        return self._finish(total / count) if count else float("nan")

    def _finish(self, value):
        return value

    def compute(self) -> float:
        return self._finish(self._total / self._count) if self._count else float("nan")

    def __call__(self, outputs: Tensor, targets: Any) -> float:
        """The value of one batch alone (does not touch the running state)."""
        total, count = self._batch(outputs.detach(), targets.detach() if isinstance(targets, Tensor) else targets)
        return self._finish(total / count) if count else float("nan")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _class_targets(outputs, targets):
    """Targets as class indices of shape (N,): one-hot / probability targets (same shape as
    the outputs, floating) are reduced with argmax."""
    if targets.dtype.is_floating_point and targets.ndim == outputs.ndim and targets.ndim >= 2 \
            and tuple(targets.shape) == tuple(outputs.shape):
        return targets.argmax(-1).reshape(-1)
    return targets.reshape(-1)


class Accuracy(Metric):
    """Fraction of correct predictions.

    Outputs of shape (N, C) (logits or probabilities): the prediction is ``argmax(-1)``;
    targets are class indices (N,) or one-hot (N, C).  Outputs of shape (N,) or (N, 1)
    are binary: the prediction is ``outputs > threshold`` (0.5 suits probabilities, use
    0.0 for logits), compared with targets of 0/1."""

    name = "accuracy"

    def __init__(self, threshold: float = 0.5, name: str | None = None) -> None:
        self.threshold = threshold
        if name is not None:
            self.name = name
        super().__init__()

    def _batch(self, outputs, targets):
        if outputs.ndim >= 2 and outputs.shape[-1] > 1:
            pred = outputs.argmax(-1).reshape(-1)
            tgt = _class_targets(outputs, targets)
        else:
            pred = (outputs.reshape(-1) > self.threshold).long()
            tgt = targets.reshape(-1)
            tgt = (tgt > 0.5).long() if tgt.dtype.is_floating_point else tgt.long()
        if pred.shape[0] != tgt.shape[0]:
            raise ValueError(f"Accuracy: {pred.shape[0]} predictions but {tgt.shape[0]} targets "
                             f"(outputs {tuple(outputs.shape)}, targets {tuple(targets.shape)})")
        return (pred == tgt).sum().item(), pred.shape[0]


class TopKAccuracy(Metric):
    """Fraction of samples whose target class is among the k highest outputs (ties count
    in the sample's favour).  Outputs (N, C); targets class indices (N,) or one-hot."""

    def __init__(self, k: int = 5, name: str | None = None) -> None:
        if int(k) < 1:
            raise ValueError(f"TopKAccuracy: k must be >= 1, got {k}")
        self.k = int(k)
        self.name = name or f"top{self.k}_accuracy"
        super().__init__()

    def _batch(self, outputs, targets):
        if outputs.ndim != 2:
            raise ValueError(f"TopKAccuracy: expected outputs of shape (N, C), got {tuple(outputs.shape)}")
        n, c = outputs.shape
        tgt = _class_targets(outputs, targets)
        mask = arange(c).unsqueeze(0) == tgt.unsqueeze(1)                  # (N, C) one-hot
        target_score = where(mask, outputs, 0.0).sum(1, keepdim=True)      # (N, 1)
        rank = (outputs > target_score).sum(1)                             # classes strictly above
        return (rank < self.k).sum().item(), n


def _align(outputs, targets):
    if not isinstance(targets, Tensor):
        raise TypeError(f"expected targets to be a Tensor, got {type(targets).__name__}")
    if tuple(outputs.shape) != tuple(targets.shape) and outputs.numel() == targets.numel():
        targets = targets.reshape(tuple(outputs.shape))
    if not targets.dtype.is_floating_point:
        targets = targets.to(outputs.dtype)
    return outputs, targets


class MAE(Metric):
    """Mean absolute error over all elements."""

    name = "mae"

    def _batch(self, outputs, targets):
        o, t = _align(outputs, targets)
        return (o - t).abs().sum().item(), (o - t).numel()


class RMSE(Metric):
    """Root mean squared error over all elements (exact over the epoch: the squared errors
    are accumulated, the root is taken at the end)."""

    name = "rmse"

    def _batch(self, outputs, targets):
        o, t = _align(outputs, targets)
        d = o - t
        return (d * d).sum().item(), d.numel()

    def _finish(self, value):
        return math.sqrt(value)


class FunctionMetric(Metric):
    """Wraps ``fn(outputs, targets) -> float`` (a batch mean); the epoch value is the mean
    of the batch values weighted by batch size."""

    def __init__(self, fn: Callable[[Tensor, Any], Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        super().__init__()

    def _batch(self, outputs, targets):
        value = self.fn(outputs, targets)
        if isinstance(value, Tensor):
            value = value.item()
        n = _batch_size(targets)
        return float(value) * n, n


_ALIASES = {"accuracy": Accuracy, "acc": Accuracy, "mae": MAE, "mean_absolute_error": MAE,
            "rmse": RMSE, "root_mean_squared_error": RMSE}


def get_metric(spec: Union[Metric, str, Callable[[Tensor, Any], Any]], index: int = 0) -> Metric:
    """A Metric from a Metric, a string alias or a callable."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key in _ALIASES:
            return _ALIASES[key]()
        m = re.fullmatch(r"top_?(\d+)(_?acc(uracy)?)?", key)
        if m:
            return TopKAccuracy(int(m.group(1)))
        raise ValueError(f"unknown metric {spec!r}; known: 'accuracy', 'topK' (e.g. 'top5'), 'mae', 'rmse'")
    if callable(spec):
        name = getattr(spec, "__name__", None)
        if name is None or name == "<lambda>":
            name = f"metric_{index}"
        return FunctionMetric(spec, name)
    raise TypeError(f"a metric must be a Metric, a string or a callable, got {type(spec).__name__}")
