"""In-place methods (clamp_, relu_, masked_fill_, exp_, ...): the same values as their
out-of-place forms, recorded by autograd on non-leaf tensors, refused on leaves that
require grad, and writing into the tensor's own memory."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck

INPLACE = [
    ("clamp_", lambda t: t.clamp_(-0.8, 0.9), lambda t: t.clamp(-0.8, 0.9)),
    ("clamp_min", lambda t: t.clamp_(min=-0.3), lambda t: t.clamp(min=-0.3)),
    ("clip_", lambda t: t.clip_(max=0.4), lambda t: t.clamp(max=0.4)),
    ("relu_", lambda t: t.relu_(), lambda t: t.relu()),
    ("masked_fill_", lambda t: t.masked_fill_(t > 0.5, 2.0), lambda t: t.masked_fill(t > 0.5, 2.0)),
    ("pow_", lambda t: t.pow_(3), lambda t: t.pow(3)),
    ("exp_", lambda t: t.exp_(), lambda t: t.exp()),
    ("abs_", lambda t: t.abs_(), lambda t: t.abs()),
    ("neg_", lambda t: t.neg_(), lambda t: t.neg()),
    ("tanh_", lambda t: t.tanh_(), lambda t: t.tanh()),
    ("sigmoid_", lambda t: t.sigmoid_(), lambda t: t.sigmoid()),
    ("sin_", lambda t: t.sin_(), lambda t: t.sin()),
    ("cos_", lambda t: t.cos_(), lambda t: t.cos()),
    ("erf_", lambda t: t.erf_(), lambda t: t.erf()),
    ("erfc_", lambda t: t.erfc_(), lambda t: t.erfc()),
    ("square_", lambda t: t.square_(), lambda t: t.square()),
    ("expm1_", lambda t: t.expm1_(), lambda t: t.expm1()),
    ("sign_", lambda t: t.sign_(), lambda t: t.sign()),
    ("log_", lambda t: t.abs().add_(0.5).log_(), lambda t: t.abs().add(0.5).log()),
    ("sqrt_", lambda t: t.abs().add_(0.5).sqrt_(), lambda t: t.abs().add(0.5).sqrt()),
    ("rsqrt_", lambda t: t.abs().add_(0.5).rsqrt_(), lambda t: t.abs().add(0.5).rsqrt()),
    ("log1p_", lambda t: t.abs().log1p_(), lambda t: t.abs().log1p()),
    ("reciprocal_", lambda t: t.abs().add_(0.5).reciprocal_(), lambda t: t.abs().add(0.5).reciprocal()),
]
VALUES = np.array([[-1.3, -0.45, 0.2], [0.7, 1.1, -0.05]])


@pytest.mark.parametrize("name,inplace,outofplace", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_writes_the_out_of_place_values_into_the_same_memory(name, inplace, outofplace):
    for dtype in (torch.float32, torch.float64):
        t = torch.tensor(VALUES, dtype=dtype)
        view = t[1]  # shares memory: sees the write (no grad involved)
        got = inplace(t)
        want = outofplace(torch.tensor(VALUES, dtype=dtype))
        if got is t:
            np.testing.assert_array_equal(view.numpy(), want.numpy()[1])
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("name,inplace,outofplace", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_on_a_non_leaf_matches_finite_differences(name, inplace, outofplace):
    x = torch.tensor(VALUES, requires_grad=True)
    assert gradcheck(lambda x: inplace(x * 1.5), (x,), eps=1e-6, atol=1e-7, rtol=1e-5)
    a, b = x * 1.5, x * 1.5
    ia, ob = inplace(a), outofplace(b)
    assert ia.grad_fn is not None
    np.testing.assert_array_equal(ia.detach().numpy(), ob.detach().numpy())


def test_inplace_refusals():
    leaf = torch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="relu_: a leaf Variable that requires grad"):
        leaf.relu_()
    h = leaf * 2
    v = h[0]
    with pytest.raises(RuntimeError, match="clamp_: in-place operation on a tensor whose memory"):
        h.clamp_(0, 1)
    del v
    with pytest.raises(TypeError, match="sqrt_: result type float32 can't be cast to the desired "
                                        "output type int64"):
        torch.tensor([1, 4]).sqrt_()
    i = torch.tensor([-3, 1, 5])
    assert i.clamp_(0, 2).tolist() == [0, 1, 2] and i.tolist() == [0, 1, 2]


def test_inplace_chain_matches_pytorch(pt):
    results = []
    for lib_ in (torch, pt):
        w = lib_.tensor(VALUES, requires_grad=True)
        h = w * 3
        h.add_(0.25).mul_(2)
        h.clamp_(-4, 5)
        h.masked_fill_(h > 4.5, 0.0)
        h.sum().backward()
        results.append((h.detach().numpy(), w.grad.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_array_equal(results[0][1], results[1][1])


UNARY_INPLACE = ["relu", "exp", "abs", "neg", "tanh", "sigmoid", "sin", "cos", "erf", "erfc", "square",
                 "expm1", "sign"]


@pytest.mark.parametrize("name", UNARY_INPLACE)
def test_unary_inplace_writes_strided_views_where_they_lie(name):
    """Without grad the op runs in the tensor's own memory, whatever its strides: a
    transposed view and a column slice get the out-of-place values, and only them."""
    rng = np.random.default_rng(3)
    for dtype in (torch.float32, torch.float64):
        base = rng.standard_normal((5, 8))
        t = torch.tensor(base, dtype=dtype)
        got = getattr(t.T, name + "_")()
        want = getattr(torch.tensor(base, dtype=dtype), name)().numpy()
        np.testing.assert_array_equal(t.numpy(), want)
        np.testing.assert_array_equal(got.numpy(), want.T)
        t = torch.tensor(base, dtype=dtype)
        getattr(t[:, 1::3], name + "_")()
        expect = base.astype(t.numpy().dtype)
        expect[:, 1::3] = want[:, 1::3]
        np.testing.assert_array_equal(t.numpy(), expect)


def test_unary_inplace_on_integers_keeps_the_dtype():
    i = torch.tensor([-3, 0, 5])
    assert i.abs_().tolist() == [3, 0, 5] and i.dtype == torch.int64
    assert i.neg_().tolist() == [-3, 0, -5]
    assert i.square_().tolist() == [9, 0, 25]
    assert i.sign_().tolist() == [1, 0, 1]


def test_recorded_neg_and_sign_inplace_match_pytorch(pt):
    results = []
    for lib_ in (torch, pt):
        w = lib_.tensor(VALUES, requires_grad=True)
        h = w * 3
        h.neg_()
        h.retain_grad()
        s = (w * 2).sign_()
        (h * h + s * w).sum().backward()
        results.append((h.detach().numpy(), h.grad.numpy(), w.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_unary_inplace_without_grad_on_a_saved_value_is_caught_at_backward():
    x = torch.tensor(VALUES, requires_grad=True)
    z = x.exp()  # saves its output
    with torch.no_grad():
        z.relu_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_inplace_sin_cos_keep_huge_arguments_exact(name):
    """float32 sin and cos recompute rare (huge) arguments after their vector pass, from
    the input: in place they must still see the input, not the first pass's results."""
    x = np.float32([1e30, -3.4e38, 1234567.0, 0.5, 2.0 ** 100])
    t = torch.from_numpy(x.copy())
    getattr(t, name + "_")()
    want = getattr(np, name)(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_allclose(t.numpy(), want, rtol=0, atol=1.2e-7)


@pytest.mark.parametrize("name", ["exp", "sigmoid"])
def test_inplace_exp_sigmoid_redo_rare_arguments_as_out_of_place(name):
    """exp and sigmoid's vector pass skips arguments outside the normal range, which are
    redone afterwards from the input; in place they must get the same bits."""
    x = np.float32([-200.0, -104.5, -88.5, -87.1, 0.5, 88.5, 89.5, 120.0, np.inf, -np.inf, np.nan] * 3)
    want = getattr(torch.from_numpy(x.copy()), name)().numpy()
    t = torch.from_numpy(x.copy())
    getattr(t, name + "_")()
    np.testing.assert_array_equal(t.numpy(), want)
