"""CTC loss (nn/_ctc.py): values and gradients against PyTorch (skipped without it), the
gradient through log_softmax against finite differences in float64, small cases worked
by hand, impossible targets and errors."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck

T, N, C = 12, 3, 5
TARGETS = np.array([[1, 2, 2, 3], [4, 1, 0, 0], [2, 2, 2, 0]])
TARGET_LENGTHS = [4, 2, 3]
INPUT_LENGTHS = [12, 9, 7]


def _logits(dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal((T, N, C)).astype(dtype)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("concatenated", [False, True])
def test_against_pytorch(pt, reduction, concatenated):
    x = _logits()
    tg = np.concatenate([TARGETS[b, :n] for b, n in enumerate(TARGET_LENGTHS)]) if concatenated else TARGETS
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    la = F.ctc_loss(torch.log_softmax(xa, 2), torch.tensor(tg), torch.tensor(INPUT_LENGTHS),
                    torch.tensor(TARGET_LENGTHS), reduction=reduction)
    lb = pt.nn.functional.ctc_loss(pt.log_softmax(xb, 2), pt.tensor(tg), pt.tensor(INPUT_LENGTHS),
                                   pt.tensor(TARGET_LENGTHS), reduction=reduction)
    np.testing.assert_allclose(la.detach().numpy(), lb.detach().numpy(), rtol=1e-13)
    w = np.random.default_rng(1).standard_normal(tuple(la.shape))
    (la * torch.tensor(w)).sum().backward()
    (lb * pt.tensor(w)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_leaf_log_probs_get_pytorchs_gradient_and_float32(pt):
    # The gradient PyTorch gives log_probs themselves: exp(lp) - occupancy (see nn/_ctc.py).
    lp = pt.log_softmax(pt.tensor(_logits(np.float32)), 2).numpy()
    a, b = torch.tensor(lp, requires_grad=True), pt.tensor(lp, requires_grad=True)
    la = torch.nn.CTCLoss(blank=0)(a, torch.tensor(TARGETS), INPUT_LENGTHS, TARGET_LENGTHS)
    lb = pt.nn.CTCLoss(blank=0)(b, pt.tensor(TARGETS), INPUT_LENGTHS, TARGET_LENGTHS)
    la.backward()
    lb.backward()
    assert la.dtype == torch.float32
    np.testing.assert_allclose(la.item(), lb.item(), rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert np.all(a.grad.numpy()[9:, 1] == 0)  # past the input length


def test_unbatched_and_blank_index(pt):
    x = _logits()[:, 0]
    tg = np.array([0, 1, 1])
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    la = F.ctc_loss(torch.log_softmax(xa, 1), torch.tensor(tg), (10,), (3,), blank=4, reduction="none")
    lb = pt.nn.functional.ctc_loss(pt.log_softmax(xb, 1), pt.tensor(tg), (10,), (3,), blank=4, reduction="none")
    assert tuple(la.shape) == tuple(lb.shape) == ()
    np.testing.assert_allclose(la.item(), lb.item(), rtol=1e-13)
    la.backward()
    lb.backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_gradient_through_log_softmax_against_finite_differences():
    x = torch.tensor(_logits()[:6, :2], requires_grad=True)
    tg = torch.tensor([[1, 2], [3, 3]])

    def loss(x):
        return F.ctc_loss(torch.log_softmax(x, 2), tg, [6, 5], [2, 2], reduction="sum")

    assert gradcheck(loss, (x,))


def test_small_cases_by_hand():
    p = np.array([[0.6, 0.4], [0.3, 0.7]])  # T = 2, classes (blank, a)
    lp = torch.tensor(np.log(p)[:, None, :])
    # target "a": paths "a-", "-a", "aa" -> 0.4*0.3 + 0.6*0.7 + 0.4*0.7
    want = -math.log(0.4 * 0.3 + 0.6 * 0.7 + 0.4 * 0.7)
    assert F.ctc_loss(lp, torch.tensor([[1]]), [2], [1], reduction="sum").item() == pytest.approx(want, rel=1e-14)
    # empty target: only the all-blank path
    assert F.ctc_loss(lp, torch.tensor([[1]]), [2], [0], reduction="sum").item() == pytest.approx(
        -math.log(0.6 * 0.3), rel=1e-14)
    # "aa" needs a blank between the two a's: impossible in 2 steps
    assert math.isinf(F.ctc_loss(lp, torch.tensor([[1, 1]]), [2], [2], reduction="sum").item())


def test_impossible_targets_and_zero_infinity():
    x = torch.tensor(_logits()[:3], requires_grad=True)
    lp = torch.log_softmax(x, 2)
    losses = F.ctc_loss(lp, torch.tensor(TARGETS), [3, 3, 3], TARGET_LENGTHS, reduction="none")
    assert math.isinf(losses[0].item()) and math.isfinite(losses[1].item()) and math.isinf(losses[2].item())
    zeroed = F.ctc_loss(lp, torch.tensor(TARGETS), [3, 3, 3], TARGET_LENGTHS, reduction="none", zero_infinity=True)
    assert zeroed[0].item() == 0 and zeroed[1].item() == losses[1].item()
    zeroed.sum().backward()
    g = x.grad.numpy()
    assert np.all(g[:, 0] == 0) and np.all(g[:, 2] == 0) and np.any(g[:, 1] != 0)


def test_bad_arguments_name_the_op():
    lp = torch.log_softmax(torch.tensor(_logits()), 2)
    tg = torch.tensor(TARGETS)
    with pytest.raises(RuntimeError, match="blank must be in label range \\[0, 5\\), got 5"):
        F.ctc_loss(lp, tg, INPUT_LENGTHS, TARGET_LENGTHS, blank=5)
    with pytest.raises(RuntimeError, match="targets of sequence 1 must be labels in \\[0, 5\\) other than the blank"):
        F.ctc_loss(lp, torch.tensor([[1, 2, 2, 3], [0, 1, 0, 0], [2, 2, 2, 0]]), INPUT_LENGTHS, TARGET_LENGTHS)
    with pytest.raises(RuntimeError, match="input_lengths must have length 3"):
        F.ctc_loss(lp, tg, [12, 9], TARGET_LENGTHS)
    with pytest.raises(RuntimeError, match="input_lengths must be in \\[0, 12\\]"):
        F.ctc_loss(lp, tg, [13, 9, 7], TARGET_LENGTHS)
    with pytest.raises(RuntimeError, match="do not fit the batch"):
        F.ctc_loss(lp, tg, INPUT_LENGTHS, [5, 2, 3])
    with pytest.raises(RuntimeError, match="concatenated targets hold 3 labels"):
        F.ctc_loss(lp, torch.tensor([1, 2, 3]), INPUT_LENGTHS, TARGET_LENGTHS)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.ctc_loss(lp, tg, INPUT_LENGTHS, TARGET_LENGTHS, reduction="avg")
