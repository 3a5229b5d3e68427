"""torch.distributions, in part: Normal, Bernoulli, Categorical and Uniform with sample,
rsample (the reparameterised draws of Normal and Uniform), log_prob, entropy, mean,
variance and stddev (Normal also cdf and icdf), and kl_divergence between two of the same
family; computed with PyTorch's formulas from differentiable ops, so log-likelihoods,
entropies and KL terms train (VAEs, policy gradients).  Draws come from pyautodiff's
generator (torch.manual_seed), not PyTorch's stream."""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

from .._functions import erf, where
from .._tensor import Size, Tensor

__all__ = ["Distribution", "Normal", "Bernoulli", "Categorical", "Uniform", "kl_divergence", "register_kl"]


def _as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    from .._creation import tensor

    if isinstance(value, Tensor):
        return value
    return tensor(value, dtype=like.dtype if like is not None else None)


def _broadcast(*values: Any) -> list[Tensor]:
    """The parameters as tensors of one broadcast shape (numbers take a tensor's dtype)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    ts = [_as_tensor(v, like) for v in values]
    if like is None:
        ts = [t.float() if not t.dtype.is_floating_point else t for t in ts]
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in ts])
    return [t if tuple(t.shape) == shape else t.expand(*shape) for t in ts]


def _shape(sample_shape: Any) -> tuple[int, ...]:
    if isinstance(sample_shape, int):
        return (sample_shape,)
    return tuple(int(s) for s in sample_shape)


class Distribution:
    """The base class: batch_shape, event_shape, sample(), log_prob() and the moments."""

    has_rsample = False
    arg_constraints: dict[str, Any] = {}

    def __init__(self, batch_shape: Sequence[int] = (), event_shape: Sequence[int] = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape = Size(tuple(batch_shape))
        self._event_shape = Size(tuple(event_shape))
        self._validate_args = bool(validate_args) if validate_args is not None else True

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> tuple[int, ...]:
        return _shape(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape)

    def _check_param(self, name: str, value: Tensor, ok: Tensor, constraint: str) -> None:
        """With validate_args, a parameter outside its constraint raises, as PyTorch."""
        if self._validate_args and not bool(ok.all().item()):
            raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape {tuple(value.shape)}) of "
                             f"distribution {type(self).__name__} to satisfy the constraint {constraint}, but found "
                             f"invalid values:\n{value}")

    def _check_support(self, value: Tensor, ok: Tensor, support: str) -> None:
        """With validate_args, a value outside the support raises, as PyTorch."""
        if self._validate_args and not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        if self._validate_args and not bool(ok.all().item()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({support}) of the distribution {self!r}, but found invalid "
                             f"values:\n{value}")

    def sample(self, sample_shape: Any = ()) -> Tensor:
        from ..autograd import no_grad

        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sampler (rsample)")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    _given: tuple[str, ...] = ()

    def __repr__(self) -> str:
        def show(t: Tensor) -> Any:
            return t.detach() if t.numel() == 1 else t.shape

        params = ", ".join(f"{k}: {show(getattr(self, k))}" for k in self._given)
        return f"{type(self).__name__}({params})"


class Normal(Distribution):
    """N(loc, scale^2)."""

    has_rsample = True
    arg_constraints = {"loc": "real", "scale": "positive"}

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = _broadcast(loc, scale)
        self._given = ("loc", "scale")
        super().__init__(tuple(self.loc.shape), (), validate_args)
        self._check_param("loc", self.loc, self.loc.detach() == self.loc.detach(), "Real()")
        self._check_param("scale", self.scale, self.scale.detach() > 0, "GreaterThan(lower_bound=0.0)")

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        from .._creation import randn

        eps = randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        self._check_support(value, value == value if isinstance(value, Tensor) else _as_tensor(True), "Real()")
        value = _as_tensor(value, self.loc)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value: Tensor) -> Tensor:
        value = _as_tensor(value, self.loc)
        return 0.5 * (1 + erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value: Tensor) -> Tensor:
        from .._ops_more import erfinv

        value = _as_tensor(value, self.loc)
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)


class Bernoulli(Distribution):
    """1 with probability probs (or sigmoid(logits)), else 0."""

    arg_constraints = {"probs": "unit_interval", "logits": "real"}

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            (self.probs,) = _broadcast(probs)
            self._given = ("probs",)
            super().__init__(tuple(self.probs.shape), (), validate_args)
            pd = self.probs.detach()
            self._check_param("probs", self.probs, (pd >= 0) & (pd <= 1), "Interval(lower_bound=0.0, upper_bound=1.0)")
            eps = float(np.finfo(self.probs.dtype.numpy).eps)
            clamped = self.probs.clamp(eps, 1 - eps)
            self.logits = clamped.log() - (1 - clamped).log()
        else:
            (self.logits,) = _broadcast(logits)
            self._given = ("logits",)
            super().__init__(tuple(self.logits.shape), (), validate_args)
            self._check_param("logits", self.logits, self.logits.detach() == self.logits.detach(), "Real()")
            self.probs = self.logits.sigmoid()

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> Tensor:
        from .._ops_extra import bernoulli

        shape = self._extended_shape(sample_shape)
        return bernoulli(self.probs.detach().expand(*shape).contiguous())

    def log_prob(self, value: Tensor) -> Tensor:
        from ..nn.functional import binary_cross_entropy_with_logits

        self._check_support(value, (value == 0) | (value == 1) if isinstance(value, Tensor) else _as_tensor(True),
                            "Boolean()")
        value = _as_tensor(value, self.logits)
        logits, value = _broadcast(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        from ..nn.functional import binary_cross_entropy_with_logits

        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


class Categorical(Distribution):
    """One of K categories (the last dim of probs or logits) per batch element."""

    arg_constraints = {"probs": "simplex", "logits": "real_vector"}

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            p = _as_tensor(probs)
            if p.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = p / p.sum(-1, keepdim=True)
            self._given = ("probs",)
            Distribution.__init__(self, tuple(p.shape[:-1]), (), validate_args)
            pd = self.probs.detach()
            self._check_param("probs", p, (pd >= 0) & (pd == pd), "Simplex()")
            eps = float(np.finfo(self.probs.dtype.numpy).eps)
            self.logits = self.probs.clamp(eps, 1 - eps).log()
        else:
            lg = _as_tensor(logits)
            if lg.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = lg - lg.logsumexp(-1, keepdim=True)
            self.probs = self.logits.softmax(-1)
            self._given = ("logits",)
        self._num_events = self.probs.shape[-1]
        super().__init__(tuple(self.probs.shape[:-1]), (), validate_args)

    @property
    def param_shape(self) -> Size:
        return self.probs.shape

    @property
    def mean(self) -> Tensor:
        from .._creation import full

        return full(tuple(self.batch_shape), math.nan, dtype=self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.mean

    def sample(self, sample_shape: Any = ()) -> Tensor:
        from .._ops_more import multinomial

        shape = _shape(sample_shape)
        n = int(np.prod(shape)) if shape else 1
        probs_2d = self.probs.detach().reshape(-1, self._num_events)
        draws = multinomial(probs_2d, n, True).t()
        return draws.reshape(*self._extended_shape(sample_shape))

    def log_prob(self, value: Tensor) -> Tensor:
        if not isinstance(value, Tensor) and self._validate_args:
            raise ValueError("The value argument to log_prob must be a Tensor")
        value = _as_tensor(value)
        self._check_support(value, (value >= 0) & (value < self._num_events) & (value == value.floor()),
                            f"IntegerInterval(lower_bound=0, upper_bound={self._num_events - 1})")
        value = value.long()
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.batch_shape))
        v = value.expand(*shape) if tuple(value.shape) != shape else value
        lg = self.logits.expand(*shape, self._num_events) if tuple(self.logits.shape[:-1]) != shape else self.logits
        return lg.gather(-1, v.unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> Tensor:
        min_real = float(np.finfo(self.logits.dtype.numpy).min)
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        from .._creation import arange

        values = arange(self._num_events).reshape(-1, *([1] * len(self.batch_shape)))
        return values.expand(self._num_events, *self.batch_shape) if expand else values


class Uniform(Distribution):
    """Uniform on [low, high)."""

    has_rsample = True
    arg_constraints = {"low": "real", "high": "real"}

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = _broadcast(low, high)
        self._given = ("low", "high")
        super().__init__(tuple(self.low.shape), (), validate_args)
        if self._validate_args and bool((self.low.detach() >= self.high.detach()).any().item()):
            raise ValueError("Expected parameter low of distribution Uniform to be less than high")

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        from .._creation import rand

        u = rand(*self._extended_shape(sample_shape), dtype=self.low.dtype)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        if isinstance(value, Tensor):
            self._check_support(value, (self.low <= value) & (value <= self.high), "Interval(low, high)")
        else:
            self._check_support(value, _as_tensor(True), "Interval(low, high)")
        value = _as_tensor(value, self.low)
        inside = (self.low <= value) & (value < self.high)
        return where(inside, 0.0, -math.inf) - (self.high - self.low).log()

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()

    def cdf(self, value: Tensor) -> Tensor:
        if isinstance(value, Tensor):
            self._check_support(value, (self.low <= value) & (value <= self.high), "Interval(low, high)")
        value = _as_tensor(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value: Tensor) -> Tensor:
        return self.low + _as_tensor(value, self.low) * (self.high - self.low)


_KL: dict[tuple[type, type], Callable[[Any, Any], Tensor]] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Callable[[Any, Any], Tensor]], Callable[[Any, Any], Tensor]]:
    """Decorator registering fn(p, q) as kl_divergence for the two distribution types."""
    def decorator(fn: Callable[[Any, Any], Tensor]) -> Callable[[Any, Any], Tensor]:
        _KL[(type_p, type_q)] = fn
        return fn
    return decorator


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), for the pairs registered with register_kl (Normal, Bernoulli,
    Categorical and Uniform with themselves)."""
    matches = [(type(p).__mro__.index(tp), type(q).__mro__.index(tq), fn) for (tp, tq), fn in _KL.items()
               if isinstance(p, tp) and isinstance(q, tq)]
    if matches:  # the most specific pair of registered types
        return min(matches, key=lambda m: (m[0], m[1]))[2](p, q)
    raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
                              f"{type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    from ..nn.functional import softplus

    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = where(q.probs == 0, math.inf, t1)
    t1 = where(p.probs == 0, 0.0, t1)
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = where(q.probs == 1, math.inf, t2)
    t2 = where(p.probs == 1, 0.0, t2)
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    t = where(q.probs == 0, math.inf, t)
    t = where(p.probs == 0, 0.0, t)
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return where((q.low > p.low) | (q.high < p.high), math.inf, result)
