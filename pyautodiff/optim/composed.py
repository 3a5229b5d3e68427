"""NAdam, RAdam, Adamax and Adadelta: PyTorch's single-tensor algorithms (what it runs for
CPU tensors), op for op with pyautodiff's in-place tensor ops under no_grad, in the
parameter's precision.  Not fused into one C call as SGD, Adam, AdamW, RMSprop and Adagrad
are: a few passes per parameter and step.  `add(x, alpha=a)` rounds a * x before the sum
where PyTorch's vectorised kernel fuses the two, so results agree with PyTorch's to about
one float32 ulp per step rather than bit for bit."""
from __future__ import annotations

from typing import Any, Callable

from .._creation import tensor, zeros_like
from .._dtype import float32
from .._functions import maximum
from ..autograd import no_grad
from .adam import no_unsupported_flags
from .optimizer import Optimizer, ParamsT, _T, check_non_negative, params_with_grad

__all__ = ["NAdam", "RAdam", "Adamax", "Adadelta"]


def _check_betas(betas: tuple[float, float]) -> None:
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")


class _Composed(Optimizer):
    """step(): for every parameter with a gradient, its state (made by _init_state on
    first use) and one _update under no_grad."""

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _update(self, p: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        loss = closure() if closure is not None else None
        with no_grad():
            for group in self.param_groups:
                for p in params_with_grad(group):
                    state = self.state.setdefault(p, {})
                    if not state:
                        state.update(self._init_state(p, group))
                    grad = p.grad
                    assert grad is not None  # (params_with_grad)
                    if group["maximize"]:
                        grad = -grad
                    state["step"] += 1
                    self._update(p, grad, state, group)
        return loss


class NAdam(_Composed):
    """torch.optim.NAdam: Adam with Nesterov momentum and the momentum schedule
    mu_t = beta1 (1 - 0.5 * 0.96^(t psi)); decoupled_weight_decay gives NAdamW."""

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_non_negative(("learning rate", lr), ("epsilon value", eps), ("weight_decay value", weight_decay),
                           ("momentum_decay value", momentum_decay))
        _check_betas(betas)
        no_unsupported_flags("NAdam", capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        # mu_product is a float32 scalar tensor in PyTorch: its running product rounds to float32
        return {"step": 0, "mu_product": tensor(1.0, dtype=float32), "exp_avg": zeros_like(p.detach()),
                "exp_avg_sq": zeros_like(p.detach())}

    def _update(self, p: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, step = group["weight_decay"], float(state["step"])
        bias_correction2 = 1 - beta2 ** step
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)
            else:
                grad = grad.add(p, alpha=wd)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * group["momentum_decay"])))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * group["momentum_decay"])))
        state["mu_product"] = state["mu_product"] * mu
        mu_product = state["mu_product"].item()
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt()
        denom.add_(eps)
        p.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product)))
        p.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product * mu_next))


class RAdam(_Composed):
    """torch.optim.RAdam: Adam whose adaptive step is used, rectified, once the variance
    estimate is tractable (rho_t > 5), and plain momentum SGD before that."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_non_negative(("learning rate", lr), ("epsilon value", eps), ("weight_decay value", weight_decay))
        _check_betas(betas)
        no_unsupported_flags("RAdam", capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": zeros_like(p.detach()), "exp_avg_sq": zeros_like(p.detach())}

    def _update(self, p: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, step = group["weight_decay"], float(state["step"])
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)
            else:
                grad = grad.add(p, alpha=wd)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add_(eps)
            p.add_(bias_corrected_exp_avg * lr * adaptive_lr * rect, alpha=-1.0)
        else:
            p.add_(bias_corrected_exp_avg * lr, alpha=-1.0)


class Adamax(_Composed):
    """torch.optim.Adamax: Adam with the infinity norm, u = max(beta2 u, |g| + eps)."""

    def __init__(self, params: ParamsT, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        check_non_negative(("learning rate", lr), ("epsilon value", eps), ("weight_decay value", weight_decay))
        _check_betas(betas)
        no_unsupported_flags("Adamax", capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": zeros_like(p.detach()), "exp_inf": zeros_like(p.detach())}

    def _update(self, p: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_inf.copy_(maximum(exp_inf.mul_(beta2), grad.abs().add_(eps)))
        clr = lr / (1 - beta1 ** float(state["step"]))
        p.addcdiv_(exp_avg, exp_inf, value=-clr)


class Adadelta(_Composed):
    """torch.optim.Adadelta: steps scaled by the ratio of running RMS of updates and of
    gradients."""

    def __init__(self, params: ParamsT, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_non_negative(("learning rate", lr), ("epsilon value", eps), ("weight_decay value", weight_decay))
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        no_unsupported_flags("Adadelta", capturable, differentiable)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _init_state(self, p: Any, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": zeros_like(p.detach()), "acc_delta": zeros_like(p.detach())}

    def _update(self, p: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        if wd != 0:
            grad = grad.add(p, alpha=wd)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_()
        delta.div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        p.add_(delta, alpha=-lr)
