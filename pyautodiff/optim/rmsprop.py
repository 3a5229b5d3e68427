"""RMSprop (optionally centered, with momentum): one fused C call per parameter group."""
from __future__ import annotations

from typing import Callable

from .._ffi import check, ffi, lib
from .adam import no_unsupported_flags
from .optimizer import (Optimizer, ParamsT, _T, check_non_negative, handles, params_with_grad,
                        zero_state)

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """torch.optim.RMSprop, PyTorch's algorithm in the parameter's precision:

        s = alpha s + (1 - alpha) g^2;  avg = sqrt(s - a^2) (centered, a = mean of g) or sqrt(s)
        p -= lr * g / (avg + eps)   (or through a momentum buffer b = momentum b + g / (avg + eps))

    State per parameter: step, square_avg (and momentum_buffer, grad_avg).
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_non_negative(("learning rate", lr), ("epsilon value", eps), ("momentum value", momentum),
                           ("weight_decay value", weight_decay), ("alpha value", alpha))
        no_unsupported_flags("RMSprop", capturable, differentiable)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params = params_with_grad(group)
            if not params:
                continue
            momentum, centered = float(group["momentum"]), bool(group["centered"])
            names = ("square_avg",) + (("momentum_buffer",) if momentum > 0 else ()) + \
                (("grad_avg",) if centered else ())
            states = [zero_state(self.state.setdefault(p, {}), [(n, p) for n in names]) for p in params]
            check(lib.pa_rmsprop_step(
                len(params), handles(params), handles([s["square_avg"] for s in states]),
                handles([s["grad_avg"] for s in states]) if centered else ffi.NULL,
                handles([s["momentum_buffer"] for s in states]) if momentum > 0 else ffi.NULL,
                float(group["lr"]), float(group["alpha"]), float(group["eps"]),
                float(group["weight_decay"]), momentum, centered, bool(group["maximize"])))
            for s in states:
                s["step"] = int(s["step"]) + 1
        return loss
