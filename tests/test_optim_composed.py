"""NAdam, RAdam, Adamax, Adadelta (pyautodiff/optim/composed.py): trajectories against
PyTorch's over many steps, the update formulas against NumPy, state_dict, errors."""
import math

import numpy as np
import pytest

import pyautodiff as torch

CONFIGS = [("NAdam", {}), ("NAdam", dict(weight_decay=0.1)),
           ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
           ("RAdam", {}), ("RAdam", dict(weight_decay=0.05, decoupled_weight_decay=True)),
           ("RAdam", dict(weight_decay=0.05, betas=(0.8, 0.9))),
           ("Adamax", {}), ("Adamax", dict(weight_decay=0.01, maximize=True)),
           ("Adadelta", {}), ("Adadelta", dict(lr=0.5, weight_decay=0.1, rho=0.8))]


def _run(lib, name, kw, steps=15, dtype=np.float32):
    rng = np.random.default_rng(0)
    w = lib.tensor(rng.standard_normal((5, 4)).astype(dtype), requires_grad=True)
    b = lib.tensor(rng.standard_normal(4).astype(dtype), requires_grad=True)
    opt = getattr(lib.optim, name)([{"params": [w]}, {"params": [b], "lr": 0.01}], **kw)
    for _ in range(steps):
        g = lib.tensor(rng.standard_normal((5, 4)).astype(dtype))
        opt.zero_grad()
        ((w * g).sum() + (w ** 2).sum() + (b.sin() * w).sum()).backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy(), opt


@pytest.mark.parametrize("name,kw", CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CONFIGS)])
def test_trajectory_against_pytorch(pt, name, kw):
    wa, ba, _ = _run(torch, name, kw)
    wb, bb, _ = _run(pt, name, kw)
    np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ba, bb, rtol=1e-5, atol=1e-6)


def test_adamax_and_adadelta_first_steps_against_numpy():
    p0, g = np.array([1.0, -2.0, 0.5]), np.array([0.3, -0.1, 2.0])
    w = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Adamax([w], lr=0.1, betas=(0.9, 0.99), eps=1e-8)
    w.grad = torch.tensor(g)
    opt.step()
    m, u = 0.1 * g, np.abs(g) + 1e-8
    np.testing.assert_allclose(w.detach().numpy(), p0 - 0.1 / (1 - 0.9) * m / u, rtol=1e-12)
    w = torch.tensor(p0, requires_grad=True)
    opt = torch.optim.Adadelta([w], lr=1.0, rho=0.9, eps=1e-6)
    w.grad = torch.tensor(g)
    opt.step()
    sq = 0.1 * g * g
    delta = np.sqrt(1e-6) / np.sqrt(sq + 1e-6) * g
    np.testing.assert_allclose(w.detach().numpy(), p0 - delta, rtol=1e-12)
    np.testing.assert_allclose(opt.state[w]["acc_delta"].numpy(), 0.1 * delta * delta, rtol=1e-12)


def test_radam_is_sgd_with_momentum_until_the_variance_is_tractable():
    w = torch.tensor([1.0], requires_grad=True, dtype=torch.float64)
    opt = torch.optim.RAdam([w], lr=0.1)
    w.grad = torch.tensor([0.5], dtype=torch.float64)
    opt.step()  # rho_1 = 1 < 5: the bias-corrected momentum alone
    assert math.isclose(w.item(), 1.0 - 0.1 * 0.5, rel_tol=1e-12)


def test_state_dict_round_trip_continues_the_same_trajectory():
    wa, _, opt = _run(torch, "NAdam", {}, steps=5)
    sd = opt.state_dict()
    w2 = torch.tensor(wa, requires_grad=True)
    b2 = torch.zeros(4, requires_grad=True)
    opt2 = torch.optim.NAdam([{"params": [w2]}, {"params": [b2], "lr": 0.01}])
    opt2.load_state_dict(sd)
    state = opt2.state[w2]
    assert state["step"] == 5 and tuple(state["exp_avg"].shape) == (5, 4)
    assert abs(state["mu_product"].item() - opt.state[opt.param_groups[0]["params"][0]]["mu_product"].item()) == 0


def test_bad_arguments():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        torch.optim.NAdam([w], lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        torch.optim.RAdam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid rho value: 1.5"):
        torch.optim.Adadelta([w], rho=1.5)
    with pytest.raises(NotImplementedError, match="capturable"):
        torch.optim.Adamax([w], capturable=True)
