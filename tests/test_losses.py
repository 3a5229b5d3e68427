"""Losses (functional and modules), gradient clipping and ModuleDict: values and gradients
against float64 finite differences and, when installed, PyTorch."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck

REDUCTIONS = ["none", "mean", "sum"]


def _t(a, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def _data(rng):
    x = rng.standard_normal((4, 6))
    x[0, 0] = 0.0  # a kink of |x| and relu: the gradient must still be exact
    return {
        "x": x,
        "y": rng.standard_normal((4, 6)),
        "p": rng.uniform(0.02, 0.98, (4, 6)),
        "bits": (rng.uniform(size=(4, 6)) > 0.5).astype(np.float64),
        "soft": rng.uniform(size=(4, 6)),
        "w": rng.uniform(0.5, 2.0, (6,)),
        "logp": rng.standard_normal((6, 4)),
        "cls": np.array([0, 3, 1, -100, 2, 3]),
        "logp3": rng.standard_normal((2, 3, 4)),
        "cls3": np.array([[0, 2, 1, 1], [2, -100, 0, 1]]),
        "cw": rng.uniform(0.5, 2.0, (4,)),
        "cls_ig": np.array([0, 3, 1, 2, 2, 3]),  # for a non-default ignore_index (-100 would be out of range)
    }


# (name, fn(lib, F, d, reduction, differentiable input) -> loss); the same code runs in both libraries.
CASES = [
    ("smooth_l1", lambda L, F, d, r, x: F.smooth_l1_loss(x, L.tensor(d["y"]), reduction=r)),
    ("smooth_l1_beta", lambda L, F, d, r, x: F.smooth_l1_loss(x, L.tensor(d["y"]), reduction=r, beta=0.3)),
    ("smooth_l1_beta0", lambda L, F, d, r, x: F.smooth_l1_loss(x, L.tensor(d["y"]), reduction=r, beta=0.0)),
    ("huber", lambda L, F, d, r, x: F.huber_loss(x, L.tensor(d["y"]), reduction=r, delta=0.7)),
    ("bce_logits", lambda L, F, d, r, x: F.binary_cross_entropy_with_logits(x, L.tensor(d["soft"]), reduction=r)),
    ("bce_logits_weights", lambda L, F, d, r, x: F.binary_cross_entropy_with_logits(
        x * 3, L.tensor(d["bits"]), weight=L.tensor(d["w"]), pos_weight=L.tensor(d["w"][::-1].copy()),
        reduction=r)),
    ("bce", lambda L, F, d, r, x: F.binary_cross_entropy(x.sigmoid(), L.tensor(d["soft"]), reduction=r)),
    ("bce_weight", lambda L, F, d, r, x: F.binary_cross_entropy(x.sigmoid(), L.tensor(d["bits"]),
                                                               weight=L.tensor(d["w"]), reduction=r)),
    ("nll", lambda L, F, d, r, x: F.nll_loss(x.reshape(-1)[:24].reshape(6, 4), L.tensor(d["cls"]), reduction=r)),
    ("nll_weight", lambda L, F, d, r, x: F.nll_loss(x.reshape(-1)[:24].reshape(6, 4), L.tensor(d["cls"]),
                                                   weight=L.tensor(d["cw"]), reduction=r)),
    ("nll_3d", lambda L, F, d, r, x: F.nll_loss(x.reshape(-1)[:24].reshape(2, 3, 4), L.tensor(d["cls3"]),
                                               weight=L.tensor(d["cw"][:3].copy()), reduction=r)),
    ("nll_1d", lambda L, F, d, r, x: F.nll_loss(x[0], L.tensor(d["cls"][1] - 1), reduction=r)),
    ("nll_ignore_index", lambda L, F, d, r, x: F.nll_loss(x.reshape(-1)[:24].reshape(6, 4), L.tensor(d["cls_ig"]),
                                                         ignore_index=2, reduction=r)),
    ("nll_weight_ignore_index", lambda L, F, d, r, x: F.nll_loss(
        x.reshape(-1)[:24].reshape(6, 4), L.tensor(d["cls_ig"]), weight=L.tensor(d["cw"]), ignore_index=3,
        reduction=r)),
    ("mse", lambda L, F, d, r, x: F.mse_loss(x, L.tensor(d["y"]), reduction=r)),
    ("l1", lambda L, F, d, r, x: F.l1_loss(x, L.tensor(d["y"]), reduction=r)),
    ("mse_transposed", lambda L, F, d, r, x: F.mse_loss(x.t(), L.tensor(d["y"].T.copy()), reduction=r)),
    # Gradients with respect to the target (PyTorch differentiates it for these losses; it
    # refuses a weight or pos_weight of the BCE losses that requires grad, so those are not checked).
    ("smooth_l1_target", lambda L, F, d, r, x: F.smooth_l1_loss(L.tensor(d["y"]), x, reduction=r, beta=0.8)),
    ("huber_target", lambda L, F, d, r, x: F.huber_loss(L.tensor(d["y"]), x, reduction=r, delta=0.7)),
    ("mse_target", lambda L, F, d, r, x: F.mse_loss(L.tensor(d["y"]), x, reduction=r)),
    ("l1_target", lambda L, F, d, r, x: F.l1_loss(L.tensor(d["y"]), x, reduction=r)),
    ("mse_both", lambda L, F, d, r, x: F.mse_loss(x * 2, x.tanh() + L.tensor(d["y"]), reduction=r)),
    ("bce_target", lambda L, F, d, r, x: F.binary_cross_entropy(L.tensor(d["p"]), x.sigmoid(), reduction=r)),
    ("bce_target_weight", lambda L, F, d, r, x: F.binary_cross_entropy(L.tensor(d["p"]), x.sigmoid(),
                                                                      weight=L.tensor(d["w"]), reduction=r)),
    ("bce_logits_target", lambda L, F, d, r, x: F.binary_cross_entropy_with_logits(
        L.tensor(d["y"]), x.sigmoid(), reduction=r)),
    ("bce_logits_target_weights", lambda L, F, d, r, x: F.binary_cross_entropy_with_logits(
        L.tensor(d["y"]) * 3, x.sigmoid(), weight=L.tensor(d["w"]), pos_weight=L.tensor(d["w"][::-1].copy()),
        reduction=r)),
    ("bce_logits_both", lambda L, F, d, r, x: F.binary_cross_entropy_with_logits(x, (x * 0.5).sigmoid(),
                                                                                pos_weight=L.tensor(d["w"]),
                                                                                reduction=r)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_gradcheck(name, fn, reduction):
    d = _data(np.random.default_rng(0))
    x = _t(d["x"], requires_grad=True)
    assert gradcheck(lambda x: fn(torch, F, d, reduction, x), [x], eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_matches_pytorch(pt, name, fn, reduction):
    d = _data(np.random.default_rng(0))
    x = _t(d["x"], requires_grad=True)
    rx = pt.tensor(d["x"], requires_grad=True)
    ours, ref = fn(torch, F, d, reduction, x), fn(pt, pt.nn.functional, d, reduction, rx)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    ours.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), rx.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_float32_and_modules_match_pytorch(pt):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 3)).astype(np.float32) * 5
    y = (rng.uniform(size=(8, 3)) > 0.5).astype(np.float32)
    cls = rng.integers(0, 3, 8)
    pairs = [
        (nn.SmoothL1Loss(beta=0.5), pt.nn.SmoothL1Loss(beta=0.5), lambda L: (L.tensor(x), L.tensor(y))),
        (nn.HuberLoss(delta=2.0), pt.nn.HuberLoss(delta=2.0), lambda L: (L.tensor(x), L.tensor(y))),
        (nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 3.0])),
         pt.nn.BCEWithLogitsLoss(pos_weight=pt.tensor([1.0, 2.0, 3.0])), lambda L: (L.tensor(x), L.tensor(y))),
        (nn.BCELoss(reduction="sum"), pt.nn.BCELoss(reduction="sum"),
         lambda L: (L.tensor(x).sigmoid(), L.tensor(y))),
        (nn.NLLLoss(weight=torch.tensor([0.2, 1.0, 3.0]), ignore_index=1),
         pt.nn.NLLLoss(weight=pt.tensor([0.2, 1.0, 3.0]), ignore_index=1),
         lambda L: (L.tensor(x).log_softmax(1), L.tensor(cls))),
    ]
    for ours, ref, args in pairs:
        a, b = ours(*args(torch)), ref(*args(pt))
        assert a.dtype == torch.float32
        np.testing.assert_allclose(a.item(), b.item(), rtol=2e-6, err_msg=type(ours).__name__)


def test_extreme_values_are_finite(pt):
    x = _t([-800.0, -30.0, 0.0, 30.0, 800.0], requires_grad=True)
    y = _t([1.0, 0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    ref = pt.nn.functional.binary_cross_entropy_with_logits(pt.tensor(x.detach().numpy()), pt.tensor(y.numpy()),
                                                            reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), ref.numpy(), rtol=1e-12)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1 / (1 + math.exp(30)), -0.5, -1 / (1 + math.exp(30)), 1.0],
                               rtol=1e-9, atol=1e-15)  # 1 - sigmoid(30) cancels: exact to ~1 ulp of 1
    p = _t([0.0, 1.0, 0.5, 1e-60], requires_grad=True)
    t = _t([1.0, 0.0, 1.0, 0.0])
    bce = F.binary_cross_entropy(p, t, reduction="none")
    np.testing.assert_allclose(bce.detach().numpy(), [100.0, 100.0, math.log(2), 0.0], rtol=1e-12, atol=1e-60)
    bce.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


def test_nll_all_ignored_mean_is_nan_and_errors():
    logp = torch.zeros(2, 3)
    assert math.isnan(F.nll_loss(logp, torch.tensor([-100, -100])).item())
    with pytest.raises(IndexError, match="target 3 is out of bounds for 3 classes"):
        F.nll_loss(logp, torch.tensor([0, 3]))
    with pytest.raises(IndexError, match="target -1 is out of bounds"):
        F.nll_loss(logp, torch.tensor([0, -1]))
    with pytest.raises(TypeError, match="int64"):
        F.nll_loss(logp, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="does not fit input"):
        F.nll_loss(logp, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="reduction"):
        nn.BCELoss(reduction="avg")
    with pytest.raises(ValueError, match="negative values for beta"):
        F.smooth_l1_loss(torch.zeros(2), torch.zeros(2), beta=-1)


# ---- clip_grad ------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_pytorch(pt, norm_type, max_norm):
    rng = np.random.default_rng(5)
    grads = [rng.standard_normal(s) for s in ((3, 4), (4,), (2, 2, 2))]
    ours = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    ref = [pt.zeros(g.shape, dtype=pt.float64, requires_grad=True) for g in grads]
    for p, rp, g in zip(ours, ref, grads):
        p.grad = _t(g)
        rp.grad = pt.tensor(g)
    skip = torch.zeros(2, requires_grad=True)  # no gradient: ignored
    total = nn.utils.clip_grad_norm_(ours + [skip], max_norm, norm_type=norm_type)
    ref_total = pt.nn.utils.clip_grad_norm_(ref, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total.item(), ref_total.item(), rtol=1e-12)
    for p, rp in zip(ours, ref):
        np.testing.assert_allclose(p.grad.numpy(), rp.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_nonfinite():
    p = torch.zeros(4, requires_grad=True)
    p.grad = torch.tensor([-3.0, -0.5, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [-1.0, -0.5, 0.5, 1.0]
    p.grad = torch.tensor([float("inf"), 0.0, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert nn.utils.clip_grad_norm_([torch.zeros(2, requires_grad=True)], 1.0).item() == 0.0


def test_clip_grad_norm_in_training_loop():
    model = nn.Linear(3, 2)
    (model(torch.randn(5, 3)) * 100).sum().backward()
    total = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    assert total.item() > 1.0
    after = math.sqrt(sum((p.grad.numpy().astype(np.float64) ** 2).sum() for p in model.parameters()))
    assert after == pytest.approx(1.0, rel=1e-5)


# ---- ModuleDict -----------------------------------------------------------------------
def test_module_dict_registers_and_matches_pytorch_keys(pt):
    md = nn.ModuleDict({"enc": nn.Linear(2, 3), "dec": nn.Linear(3, 2)})
    md["head"] = nn.Linear(2, 1)
    assert list(md) == ["enc", "dec", "head"] and len(md) == 3 and "dec" in md
    ref = pt.nn.ModuleDict({"enc": pt.nn.Linear(2, 3), "dec": pt.nn.Linear(3, 2), "head": pt.nn.Linear(2, 1)})
    assert list(md.state_dict()) == list(ref.state_dict())
    md.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert isinstance(md.pop("head"), nn.Linear) and list(md.keys()) == ["enc", "dec"]
    assert len(list(md.parameters())) == 4
    md.update([("x", nn.ReLU())])
    assert list(dict(md.items())) == ["enc", "dec", "x"]
    del md["x"]
    md.clear()
    assert len(md) == 0
