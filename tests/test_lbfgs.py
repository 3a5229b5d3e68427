"""optim.LBFGS: trajectories against PyTorch's (float64: to rounding), convergence on a
quadratic, stopping rules, state across steps, errors."""
import numpy as np
import pytest

import pyautodiff as torch


def _problem(lib, dtype):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal((6, 4)).astype(dtype))
    b = lib.tensor(rng.standard_normal(6).astype(dtype))
    x = lib.tensor(np.zeros(4, dtype), requires_grad=True)
    w = lib.tensor(np.ones(2, dtype), requires_grad=True)

    def loss_fn():
        return ((a @ x - b) ** 2).sum() + ((w - 3) ** 4).sum() + (x ** 4).sum() * 0.1

    return [x, w], loss_fn


def _run(lib, dtype, steps=5, **kw):
    params, loss_fn = _problem(lib, dtype)
    opt = lib.optim.LBFGS(params, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    losses = [float(opt.step(closure).detach()) for _ in range(steps)]
    return np.concatenate([p.detach().numpy() for p in params]), losses, opt


@pytest.mark.parametrize("kw", [{}, dict(lr=0.5, history_size=3, max_iter=7), dict(max_iter=3, max_eval=2),
                                dict(line_search_fn="strong_wolfe"),
                                dict(line_search_fn="strong_wolfe", lr=2.0, history_size=2, max_iter=9)])
def test_trajectory_against_pytorch(pt, kw):
    ours, la, _ = _run(torch, np.float64, **kw)
    theirs, lb, _ = _run(pt, np.float64, **kw)
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(la, lb, rtol=1e-12)
    ours32, la32, _ = _run(torch, np.float32, **kw)
    theirs32, lb32, _ = _run(pt, np.float32, **kw)
    # float32: PyTorch keeps the recursion's scalars in float32 tensors, pyautodiff in
    # Python floats; the losses agree, the flat quartic's minimiser to its precision
    np.testing.assert_allclose(la32, lb32, rtol=1e-4, atol=1e-5)


def test_solves_a_least_squares_problem_and_counts_evaluations():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((20, 5)), rng.standard_normal(20)
    x = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([x], max_iter=50, tolerance_grad=1e-12, tolerance_change=1e-15)
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = ((torch.tensor(a) @ x - torch.tensor(b)) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(x.detach().numpy(), np.linalg.lstsq(a, b, rcond=None)[0], rtol=1e-8)
    state = opt.state[x]
    assert state["func_evals"] == len(calls) and 1 < state["n_iter"] <= 50
    before = len(calls)
    opt.step(closure)  # already optimal: one evaluation, then the gradient test stops it
    assert len(calls) == before + 1


def test_strong_wolfe_minimises_the_rosenbrock_function():
    xy = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([xy], line_search_fn="strong_wolfe", max_iter=200, tolerance_grad=1e-10,
                            tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        x, y = xy[0], xy[1]
        loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
        loss.backward()
        return loss

    opt.step(closure)
    np.testing.assert_allclose(xy.detach().numpy(), [1.0, 1.0], atol=1e-6)


def test_bad_calls():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires a closure"):
        torch.optim.LBFGS([w]).step()
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        torch.optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        torch.optim.LBFGS([{"params": [w]}, {"params": [torch.zeros(1, requires_grad=True)]}])
