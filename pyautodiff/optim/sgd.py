"""SGD with momentum, dampening, weight decay and Nesterov: one fused C call per group."""
from __future__ import annotations

from typing import Any, Callable

from .._creation import zeros_like
from .._ffi import check, ffi, lib
from .optimizer import Optimizer, ParamsT, _T, check_non_negative, handles, params_with_grad, required

__all__ = ["SGD"]


class SGD(Optimizer):
    """torch.optim.SGD.  The update of every parameter of a group runs in one C call."""

    def __init__(self, params: ParamsT, lr: float = required, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        if lr is not required:
            check_non_negative(("learning rate", lr))
        check_non_negative(("momentum value", momentum), ("weight_decay value", weight_decay))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            params = params_with_grad(group)
            if not params:
                continue
            if group["momentum"] == 0:
                self._update(group, params, ffi.NULL, first_step=False)
                continue
            # Parameters without a buffer yet take the gradient as their buffer (first step).
            new = [p for p in params if "momentum_buffer" not in self.state.get(p, {})]
            old = [p for p in params if "momentum_buffer" in self.state.get(p, {})]
            for p in new:
                self.state.setdefault(p, {})["momentum_buffer"] = zeros_like(p.detach())  # no "step", as PyTorch
            for subset, first in ((old, False), (new, True)):
                if subset:
                    bufs = handles([self.state[p]["momentum_buffer"] for p in subset])
                    self._update(group, subset, bufs, first)
        return loss

    @staticmethod
    def _update(group: dict[str, Any], params: list[Any], bufs: Any, first_step: bool) -> None:
        check(lib.pa_sgd_step(len(params), handles(params), bufs, float(group["lr"]),
                              float(group["momentum"]), float(group["dampening"]),
                              float(group["weight_decay"]), bool(group["nesterov"]),
                              bool(group["maximize"]), first_step))
