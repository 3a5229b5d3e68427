"""Ranking, embedding and likelihood losses: values and gradients against PyTorch (skipped
without it) for every reduction, float64 gradients against finite differences, NumPy
forms, bad calls."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck


def sign(shape):
    return np.where(np.random.rand(*shape) < 0.5, -1.0, 1.0)


# name, module class, kwargs, makers of the float inputs (differentiated), other inputs
CASES = [
    ("MarginRankingLoss", dict(margin=0.3), [(6,), (6,)], lambda: [sign((6,))]),
    ("HingeEmbeddingLoss", dict(margin=0.8), [(3, 4)], lambda: [sign((3, 4))]),
    ("SoftMarginLoss", dict(), [(3, 4)], lambda: [sign((3, 4))]),
    ("MultiLabelSoftMarginLoss", dict(), [(3, 5)], lambda: [(np.random.rand(3, 5) < 0.4).astype(float)]),
    ("CosineEmbeddingLoss", dict(margin=0.2), [(4, 5), (4, 5)], lambda: [sign((4,))]),
    ("TripletMarginLoss", dict(margin=0.7, swap=True), [(4, 5), (4, 5), (4, 5)], lambda: []),
    ("TripletMarginLoss", dict(p=1.0), [(4, 5), (4, 5), (4, 5)], lambda: []),
    ("PoissonNLLLoss", dict(), [(3, 4)], lambda: [np.random.poisson(2.0, (3, 4)).astype(float)]),
    ("PoissonNLLLoss", dict(log_input=False, full=True), [(3, 4)],
     lambda: [np.random.poisson(3.0, (3, 4)).astype(float)]),
    ("GaussianNLLLoss", dict(full=True), [(3, 4)], lambda: [np.random.randn(3, 4), np.random.rand(3, 4) + 0.1]),
    ("GaussianNLLLoss", dict(), [(3, 4)], lambda: [np.random.randn(3, 4), np.random.rand(3, 1) + 0.1]),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _inputs(case, dtype):
    name, kw, shapes, others = case
    xs = [np.random.uniform(0.2, 2.0, s) if name == "PoissonNLLLoss" and not kw.get("log_input", True)
          else np.random.randn(*s) for s in shapes]
    return [x.astype(dtype) for x in xs], [o.astype(dtype) for o in others()]


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_against_pytorch(against_pytorch, case, reduction):
    name, kw = case[0], case[1]
    xs, others = _inputs(case, np.float32)

    def run(lib, *leaves):
        return getattr(lib.nn, name)(reduction=reduction, **kw)(*leaves, *[lib.tensor(o) for o in others])

    against_pytorch(run, xs, 1e-5, 1e-6, 1e-4, 1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_against_finite_differences(case):
    name, kw = case[0], case[1]
    xs, others = _inputs(case, np.float64)
    loss = getattr(nn, name)(reduction="sum", **kw)
    ins = [torch.tensor(x, requires_grad=True) for x in xs]
    rest = [torch.tensor(o) for o in others]
    if name == "GaussianNLLLoss":   # the variance is differentiated too
        rest[1].requires_grad_(True)
        assert gradcheck(lambda x, v: loss(x, rest[0], v), (ins[0], rest[1]))
    else:
        assert gradcheck(lambda *a: loss(*a, *rest), ins)


def test_against_numpy_forms():
    x1, x2, y = np.random.randn(5), np.random.randn(5), sign((5,))
    got = F.margin_ranking_loss(torch.tensor(x1), torch.tensor(x2), torch.tensor(y), 0.1).item()
    assert got == pytest.approx(np.maximum(0, -y * (x1 - x2) + 0.1).mean(), rel=1e-12)
    a, b = np.random.randn(3, 4), np.random.randn(3, 4)
    t = np.array([1.0, -1.0, 1.0])
    cos = (a * b).sum(1) / np.sqrt(((a * a).sum(1) + 1e-12) * ((b * b).sum(1) + 1e-12))
    want = np.where(t == 1, 1 - cos, np.maximum(cos - 0.1, 0)).sum()
    got = F.cosine_embedding_loss(torch.tensor(a), torch.tensor(b), torch.tensor(t), 0.1, reduction="sum").item()
    assert got == pytest.approx(want, rel=1e-12)
    x, v = np.random.randn(4), np.random.rand(4) + 0.5
    want = (0.5 * (np.log(v) + (x - 1.0) ** 2 / v) + 0.5 * math.log(2 * math.pi)).mean()
    got = F.gaussian_nll_loss(torch.tensor(x), torch.ones(4, dtype=torch.float64), torch.tensor(v), full=True)
    assert got.item() == pytest.approx(want, rel=1e-12)


def test_bad_calls():
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(ValueError, match="var has negative entry"):
        F.gaussian_nll_loss(torch.zeros(3), torch.zeros(3), torch.tensor([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(torch.zeros(3, 2), torch.zeros(3, 2), torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="the inputs must have the same size"):
        F.margin_ranking_loss(torch.zeros(3), torch.zeros(4), torch.ones(3))
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        F.soft_margin_loss(torch.zeros(3), torch.ones(3), reduction="avg")
