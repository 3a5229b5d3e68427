"""L-BFGS (torch.optim.LBFGS): quasi-Newton steps from the last history_size curvature
pairs by the two-loop recursion, over all parameters seen as one flat vector; step()
re-evaluates the closure up to max_iter times.  The step length is lr (the first scaled
by 1 / |g|_1), or found by a line search satisfying the strong Wolfe conditions
(line_search_fn="strong_wolfe": bracketing, then zoom by safeguarded cubic interpolation,
Nocedal and Wright's algorithms 3.5 and 3.6)."""
from __future__ import annotations

from typing import Any, Callable

from .._functions import cat
from ..autograd import enable_grad, no_grad
from .optimizer import Optimizer, ParamsT

__all__ = ["LBFGS"]


class LBFGS(Optimizer):
    """torch.optim.LBFGS: one parameter group; step(closure) with a closure that zeroes
    the gradients, computes the loss, calls backward() and returns the loss.  The first
    step is scaled by min(1, 1 / |g|_1) * lr, later ones by lr.  Stops when the largest
    gradient element is at most tolerance_grad, the step or the change of the loss is
    below tolerance_change, or after max_iter iterations / max_eval evaluations."""

    def __init__(self, params: ParamsT, lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def _flat_grad(self) -> Any:
        from .._creation import zeros

        return cat([p.grad.reshape(-1) if p.grad is not None else zeros(p.numel(), dtype=p.dtype)
                    for p in self._params], 0)

    def _add_step(self, t: float, d: Any) -> None:
        offset = 0
        for p in self._params:
            n = p.numel()
            p.add_(d[offset:offset + n].reshape(*p.shape), alpha=t)
            offset += n

    def _evaluate_along(self, closure: Callable[[], Any], start: list[Any], t: float, d: Any) -> tuple[float, Any]:
        """The loss and flat gradient at start + t d; the parameters are put back to start."""
        self._add_step(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        for p, s0 in zip(self._params, start):
            p.copy_(s0)
        return loss, g

    def _strong_wolfe(self, closure: Callable[[], Any], start: list[Any], t: float, d: Any, f: float, g: Any,
                      gtd: float, tol_change: float, c1: float = 1e-4, c2: float = 0.9,
                      max_ls: int = 25) -> tuple[float, Any, float, int]:
        """A step length t along d meeting the strong Wolfe conditions (sufficient decrease
        c1, curvature c2) from f, g at t = 0: (loss, flat gradient, t, evaluations)."""
        d_norm = d.abs().max().item()
        f_new, g_new = self._evaluate_along(closure, start, t, d)
        evals, gtd_new = 1, (g_new * d).sum().item()
        t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
        done, ls_iter = False, 0
        bracket: list[float] = []
        bracket_f: list[float] = []
        bracket_g: list[Any] = []
        bracket_gtd: list[float] = []
        while ls_iter < max_ls:  # bracketing: grow t until an interval holds a good point
            armijo_fails = f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev)
            if not armijo_fails and abs(gtd_new) <= -c2 * gtd:  # both conditions hold at t
                bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
                done = True
                break
            if armijo_fails or gtd_new >= 0:
                bracket, bracket_f = [t_prev, t], [f_prev, f_new]
                bracket_g, bracket_gtd = [g_prev, g_new.clone()], [gtd_prev, gtd_new]
                break
            lo_step, hi_step = t + 0.01 * (t - t_prev), t * 10
            previous = t
            t = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, (lo_step, hi_step))
            t_prev, f_prev, g_prev, gtd_prev = previous, f_new, g_new.clone(), gtd_new
            f_new, g_new = self._evaluate_along(closure, start, t, d)
            evals += 1
            gtd_new = (g_new * d).sum().item()
            ls_iter += 1
        if ls_iter == max_ls:
            bracket, bracket_f, bracket_g, bracket_gtd = [0.0, t], [f, f_new], [g, g_new], [gtd, gtd_new]
        insufficient = False
        low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
        while not done and ls_iter < max_ls:  # zoom: shrink the bracket around a good point
            if abs(bracket[1] - bracket[0]) * d_norm < tol_change:
                break
            t = _cubic_minimum(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
            top, bottom = max(bracket), min(bracket)
            margin = 0.1 * (top - bottom)
            if min(top - t, t - bottom) < margin:  # too close to an end: move inside unless it is progress
                if insufficient or t >= top or t <= bottom:
                    t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                    insufficient = False
                else:
                    insufficient = True
            else:
                insufficient = False
            f_new, g_new = self._evaluate_along(closure, start, t, d)
            evals += 1
            gtd_new = (g_new * d).sum().item()
            ls_iter += 1
            if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
                bracket[high], bracket_f[high], bracket_g[high], bracket_gtd[high] = t, f_new, g_new.clone(), gtd_new
                low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
            else:
                if abs(gtd_new) <= -c2 * gtd:
                    done = True
                elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                    bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                    bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
                bracket[low], bracket_f[low], bracket_g[low], bracket_gtd[low] = t, f_new, g_new.clone(), gtd_new
        return bracket_f[low], bracket_g[low], bracket[low], evals

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        if closure is None:
            raise RuntimeError("LBFGS requires a closure (that computes the loss and its gradients)")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change, history = group["tolerance_grad"], group["tolerance_change"], group["history_size"]
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        with no_grad():
            g = self._flat_grad()
            if g.abs().max().item() <= tol_grad:
                return orig_loss
            d: Any = state.get("d")
            t: Any = state.get("t")
            dirs, steps, rhos = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
            h_diag, prev_g, prev_loss = state.get("H_diag", 1.0), state.get("prev_flat_grad"), state.get("prev_loss")
            it = 0
            while it < max_iter:
                it += 1
                state["n_iter"] += 1
                if state["n_iter"] == 1:
                    d, dirs, steps, rhos, h_diag = -g, [], [], [], 1.0
                else:
                    y = g - prev_g
                    s = d * t
                    ys = (y * s).sum().item()
                    if ys > 1e-10:  # a curvature pair worth keeping
                        if len(dirs) == history:
                            dirs.pop(0), steps.pop(0), rhos.pop(0)
                        dirs.append(y), steps.append(s), rhos.append(1.0 / ys)
                        h_diag = ys / (y * y).sum().item()
                    # the two-loop recursion: d = -H g
                    q = -g
                    alphas = [0.0] * len(dirs)
                    for i in range(len(dirs) - 1, -1, -1):
                        alphas[i] = (steps[i] * q).sum().item() * rhos[i]
                        q = q - dirs[i] * alphas[i]
                    d = q * h_diag
                    for i in range(len(dirs)):
                        beta = (dirs[i] * d).sum().item() * rhos[i]
                        d = d + steps[i] * (alphas[i] - beta)
                prev_g = g.clone()
                prev_loss = loss
                t = min(1.0, 1.0 / g.abs().sum().item()) * lr if state["n_iter"] == 1 else lr
                if (g * d).sum().item() > -tol_change:  # not a descent direction
                    break
                gtd = (g * d).sum().item()
                if group["line_search_fn"] == "strong_wolfe":
                    start = [p.clone() for p in self._params]
                    # (the line search has PyTorch's own tolerance_change, 1e-9, and the evaluations left)
                    loss, g, t, step_evals = self._strong_wolfe(closure, start, t, d, loss, g, gtd, 1e-9,
                                                                max_ls=max_eval - evals)
                    self._add_step(t, d)
                else:
                    self._add_step(t, d)
                    step_evals = 0
                    if it != max_iter:
                        with enable_grad():
                            loss = float(closure())
                        g = self._flat_grad()
                        step_evals = 1
                evals += step_evals
                state["func_evals"] += step_evals
                if it == max_iter or evals >= max_eval:
                    break
                if g.abs().max().item() <= tol_grad:
                    break
                if (d * t).abs().max().item() <= tol_change or abs(loss - prev_loss) < tol_change:
                    break
            state.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=rhos, H_diag=h_diag, prev_flat_grad=prev_g,
                         prev_loss=prev_loss)
        return orig_loss


def _cubic_minimum(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                   bounds: tuple[float, float] | None = None) -> float:
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2,
    clamped to bounds (default: between x1 and x2); their midpoint when the cubic has no
    minimum."""
    lo, hi = bounds if bounds is not None else ((x1, x2) if x1 <= x2 else (x2, x1))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (lo + hi) / 2.0
    d2 = d2_square ** 0.5
    if x1 <= x2:
        at = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        at = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(at, lo), hi)
