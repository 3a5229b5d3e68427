"""Adagrad: one fused C call per parameter group."""
from __future__ import annotations

from typing import Callable

from .._creation import full_like
from .._ffi import check, ffi, lib
from .adam import no_unsupported_flags
from .optimizer import Optimizer, ParamsT, _T, check_non_negative, handles, params_with_grad

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """torch.optim.Adagrad (dense gradients), PyTorch's algorithm in the parameter's precision:

        sum += g^2;  p -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(sum) + eps)

    As in PyTorch, the state (step, sum) is created when the optimizer is.
    """

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        check_non_negative(("learning rate", lr), ("lr_decay value", lr_decay),
                           ("weight_decay value", weight_decay),
                           ("initial_accumulator_value value", initial_accumulator_value),
                           ("epsilon value", eps))
        no_unsupported_flags("Adagrad", False, differentiable)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      maximize=maximize))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = {"step": 0, "sum": full_like(p.detach(), float(group["initial_accumulator_value"]))}

    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params = params_with_grad(group)
            if not params:
                continue
            states = []
            for p in params:
                state = self.state.setdefault(p, {})
                if "sum" not in state:
                    state["step"] = 0
                    state["sum"] = full_like(p.detach(), float(group["initial_accumulator_value"]))
                states.append(state)
            steps = [int(s["step"]) + 1 for s in states]
            check(lib.pa_adagrad_step(
                len(params), handles(params), handles([s["sum"] for s in states]),
                ffi.new("double[]", steps), float(group["lr"]), float(group["lr_decay"]),
                float(group["weight_decay"]), float(group["eps"]), bool(group["maximize"])))
            for s, t in zip(states, steps):
                s["step"] = t
        return loss
