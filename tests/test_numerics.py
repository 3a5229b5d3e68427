"""Accuracy of the vectorised math and numerically delicate ops."""
import numpy as np

import pyautodiff as torch
import pyautodiff.nn.functional as F


def ulp_error(got, want):
    """|got - want| in units of float32 spacing at want (want computed in float64)."""
    spacing = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


def test_float32_exp_within_one_ulp_everywhere():
    x = np.concatenate([np.linspace(-104, 89, 400_001, dtype=np.float32),
                        np.float32([0.0, -0.0, 1e-30, -1e-30, 88.72, -87.3, -100.0])])
    got = torch.exp(torch.from_numpy(x)).numpy()
    want = np.exp(x.astype(np.float64))
    finite = np.isfinite(want.astype(np.float32)) & (want > np.finfo(np.float32).tiny)
    assert ulp_error(got[finite], want[finite]).max() <= 1.0
    subnormal = (want <= np.finfo(np.float32).tiny) & (want > 0)
    np.testing.assert_allclose(got[subnormal], want[subnormal].astype(np.float32), rtol=0, atol=2e-45)


def test_float32_exp_special_values():
    x = torch.tensor([np.inf, -np.inf, np.nan, 89.0, -110.0, 0.0])
    got = torch.exp(x).numpy()
    assert got[0] == np.inf and got[1] == 0 and np.isnan(got[2]) and got[3] == np.inf
    assert got[4] == 0 and got[5] == 1


def test_sigmoid_saturates_cleanly():
    x = np.array([-200.0, -20.0, 0.0, 20.0, 200.0])
    got = torch.sigmoid(torch.tensor(x, dtype=torch.float32)).numpy()
    want = (1 / (1 + np.exp(-x))).astype(np.float32)  # 1e-87 is 0 in float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


def test_extreme_logits_give_finite_gradients():
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]], dtype=dtype, requires_grad=True)
        t = torch.tensor([0, 2])
        F.cross_entropy(x, t).backward()
        assert np.isfinite(x.grad.numpy()).all()
        for fn in (lambda v: torch.log_softmax(v, 1), lambda v: torch.softmax(v, 1), lambda v: v.logsumexp(1)):
            x.grad = None
            out = fn(x)
            assert np.isfinite(out.detach().numpy()).all()
            out.sum().backward()
            assert np.isfinite(x.grad.numpy()).all()
