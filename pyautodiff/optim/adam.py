"""Adam (and, with decoupled weight decay, AdamW): one fused C call per parameter group."""
from __future__ import annotations

from typing import Callable

from .._ffi import check, ffi, lib
from .optimizer import (Optimizer, ParamsT, _T, check_non_negative, handles, params_with_grad,
                        zero_state)

__all__ = ["Adam"]


def check_adam_args(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    check_non_negative(("learning rate", lr), ("epsilon value", eps))
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    check_non_negative(("weight_decay value", weight_decay))


def no_unsupported_flags(name: str, capturable: bool, differentiable: bool) -> None:
    if capturable or differentiable:
        raise NotImplementedError(f"{name}: capturable and differentiable are not supported "
                                  "(the update is a fused C call)")


class Adam(Optimizer):
    """torch.optim.Adam, PyTorch's algorithm in the parameter's precision:

        m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2  (g += wd p unless decoupled)
        p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    with `amsgrad` using the running maximum of v.  State per parameter: step,
    exp_avg, exp_avg_sq (and max_exp_avg_sq).  `foreach`/`fused` are accepted and ignored:
    every group's update is always one fused C call.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        check_adam_args(lr, betas, eps, weight_decay)
        no_unsupported_flags(type(self).__name__, capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params = params_with_grad(group)
            if not params:
                continue
            amsgrad = bool(group["amsgrad"])
            names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
            states = [zero_state(self.state.setdefault(p, {}), [(n, p) for n in names]) for p in params]
            steps = [int(s["step"]) + 1 for s in states]
            beta1, beta2 = group["betas"]
            check(lib.pa_adam_step(
                len(params), handles(params), handles([s["exp_avg"] for s in states]),
                handles([s["exp_avg_sq"] for s in states]),
                handles([s["max_exp_avg_sq"] for s in states]) if amsgrad else ffi.NULL,
                ffi.new("double[]", steps), float(group["lr"]), float(beta1), float(beta2),
                float(group["eps"]), float(group["weight_decay"]),
                bool(group.get("decoupled_weight_decay", False)), amsgrad, bool(group["maximize"])))
            for s, t in zip(states, steps):
                s["step"] = t
        return loss
