"""autograd.functional: Jacobians and vector-Jacobian products built on autograd.grad."""
from __future__ import annotations

from typing import Any, Callable, Sequence, Union

from .. import _creation
from .._tensor import Tensor
from .grad_mode import enable_grad

__all__ = ["vjp", "jacobian"]


_TensorOrTensors = Union[Tensor, Sequence[Tensor]]


def _tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def vjp(func: Callable[..., Tensor], inputs: _TensorOrTensors,
        v: Tensor | None = None) -> tuple[Tensor, Tensor | tuple[Tensor, ...]]:
    """(func(inputs), v^T J) — the output and the vector-Jacobian product."""
    from . import grad

    was_tuple = isinstance(inputs, (tuple, list))
    xs = tuple(x.detach().requires_grad_() for x in _tuple(inputs))
    with enable_grad():
        out = func(*xs)
    gs: tuple[Any, ...] = grad(out, xs, grad_outputs=v, allow_unused=True)
    gs = tuple(_creation.zeros_like(x) if g is None else g for x, g in zip(xs, gs))
    return out.detach(), (gs if was_tuple else gs[0])


def jacobian(func: Callable[..., Tensor], inputs: _TensorOrTensors) -> Tensor | tuple[Tensor, ...]:
    """The Jacobian of a single-output function: shape output.shape + input.shape (a tuple
    over inputs when `inputs` is a tuple)."""
    from . import grad

    was_tuple = isinstance(inputs, (tuple, list))
    xs = tuple(x.detach().requires_grad_() for x in _tuple(inputs))
    with enable_grad():
        out = func(*xs)
    n = out.numel()
    rows: list[list[Tensor]] = [[] for _ in xs]
    for i in range(n):
        onehot = _creation.zeros(n, dtype=out.dtype)
        onehot[i] = 1.0
        gs = grad(out, xs, grad_outputs=onehot.reshape(out.shape), retain_graph=True, allow_unused=True)
        for k, (x, g) in enumerate(zip(xs, gs)):
            rows[k].append(_creation.zeros_like(x) if g is None else g)
    from .._functions import stack

    jac = tuple(stack(r).reshape(tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, xs))
    return jac if was_tuple else jac[0]
