"""torch.special, in part: the functions pyautodiff has under their torch.special names
(erf, erfc, erfinv, expit, logit, gammaln, digamma/psi, xlogy, exp2, expm1, log1p,
log_softmax, softmax, ndtr, sinc, entr)."""
from __future__ import annotations

import math
from typing import Any

from ._functions import erf, erfc, where
from ._ops_more import digamma, erfinv, exp2, lgamma, xlogy
from ._tensor import Tensor

__all__ = ["erf", "erfc", "erfinv", "expit", "logit", "gammaln", "digamma", "psi", "xlogy", "exp2", "expm1",
           "log1p", "log_softmax", "softmax", "ndtr", "sinc", "entr"]

gammaln = lgamma
psi = digamma


def expit(input: Tensor) -> Tensor:
    return input.sigmoid()


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    from ._aliases import logit as _logit

    return _logit(input, eps)


def expm1(input: Tensor) -> Tensor:
    return input.expm1()


def log1p(input: Tensor) -> Tensor:
    return input.log1p()


def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return (input.to(dtype) if dtype is not None else input).log_softmax(dim)


def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return (input.to(dtype) if dtype is not None else input).softmax(dim)


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2."""
    return (1.0 + erf(input * (1.0 / math.sqrt(2.0)))) * 0.5


def sinc(input: Tensor) -> Tensor:
    """sin(pi x) / (pi x), 1 at 0."""
    x = input * math.pi
    safe = where(input == 0, 1.0, x)
    return where(input == 0, 1.0, safe.sin() / safe)


def entr(input: Tensor) -> Tensor:
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    return where(input < 0, -math.inf, -xlogy(input, input))
