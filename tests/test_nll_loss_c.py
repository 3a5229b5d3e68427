"""nll_loss as one C call (pa_nll_loss): values and gradients against PyTorch and finite
differences, ignore_index, weights, reductions, errors."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck

CASES = {
    "2d": ((6, 5), (6,)),
    "1d": ((5,), ()),
    "spatial": ((3, 5, 2, 4), (3, 2, 4)),
}


def _data(name, seed=0):
    rng = np.random.default_rng(seed)
    in_shape, t_shape = CASES[name]
    x = rng.standard_normal(in_shape)
    t = rng.integers(0, 5, size=t_shape)
    if t.ndim:
        t.reshape(-1)[::3] = -100  # some ignored targets
    return x, t


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_pytorch(pt, name, reduction, weighted):
    x, t = _data(name)
    w = np.linspace(0.5, 2.0, 5)
    ours = torch.tensor(x, requires_grad=True)
    ref = pt.tensor(x, requires_grad=True)
    kw = dict(reduction=reduction)
    loss = F.nll_loss(ours, torch.tensor(t), weight=torch.tensor(w) if weighted else None, **kw)
    ref_loss = pt.nn.functional.nll_loss(ref, pt.tensor(t), weight=pt.tensor(w) if weighted else None, **kw)
    assert tuple(loss.shape) == tuple(ref_loss.shape)
    np.testing.assert_allclose(loss.detach().numpy(), ref_loss.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(tuple(ref_loss.shape))
    (loss * torch.tensor(g)).sum().backward()
    (ref_loss * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck(name, reduction):
    x, t = _data(name, seed=2)
    w = torch.tensor(np.linspace(0.5, 2.0, 5))
    target = torch.tensor(t)
    assert gradcheck(lambda a: F.nll_loss(a, target, weight=w, reduction=reduction),
                     (torch.tensor(x, requires_grad=True),))


def test_float32_matches_numpy_and_custom_ignore_index():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    t = rng.integers(0, 10, 64)
    t[::4] = 7
    loss = F.nll_loss(torch.tensor(x), torch.tensor(t), ignore_index=7)
    keep = t != 7
    want = -x[np.arange(64), t][keep].astype(np.float64).mean()
    assert loss.dtype == torch.float32
    assert abs(loss.item() - want) < 1e-6


def test_errors_and_all_ignored():
    logp = torch.zeros(4, 3)
    assert math.isnan(F.nll_loss(logp, torch.tensor([-100] * 4)).item())
    # ignored targets are never range-checked; the lowest bad target is named when negative
    assert F.nll_loss(logp, torch.tensor([5, 0, 5, 1]), ignore_index=5).item() == 0.0
    with pytest.raises(IndexError, match="nll_loss: target -2 is out of bounds for 3 classes"):
        F.nll_loss(logp, torch.tensor([7, -2, 0, 1]))
    with pytest.raises(IndexError, match="nll_loss: target 7 is out of bounds for 3 classes"):
        F.nll_loss(logp, torch.tensor([7, 2, 0, 1]))
    with pytest.raises(ValueError, match="weight of shape"):
        F.nll_loss(logp, torch.tensor([0, 1, 2, 0]), weight=torch.ones(4))
    with pytest.raises(TypeError):
        F.nll_loss(torch.zeros((4, 3), dtype=torch.int64), torch.tensor([0, 1, 2, 0]))
