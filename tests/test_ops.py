"""Every differentiable op, one line each: forward against NumPy, backward against float64
central finite differences (gradcheck), and against PyTorch when it is installed."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck


def pos(shape):
    return np.random.uniform(0.5, 2.0, shape)


def anyv(shape):
    return np.random.uniform(-2.0, 2.0, shape)


def away_from_zero(shape):
    v = np.random.uniform(0.2, 2.0, shape)
    return v * np.where(np.random.rand(*shape) < 0.5, -1, 1)


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_cross_entropy(x, t):
    lp = np_log_softmax(x, 1)
    return -lp[np.arange(len(t)), t].mean()


# name, input makers (shape, generator), pyautodiff fn, numpy reference
OPS = [
    ("add", [((3, 4), anyv), ((3, 4), anyv)], lambda a, b: a + b, lambda a, b: a + b),
    ("add_broadcast", [((3, 1, 4), anyv), ((2, 1), anyv)], lambda a, b: a + b, lambda a, b: a + b),
    ("add_scalar", [((3, 4), anyv)], lambda a: a + 2.5, lambda a: a + 2.5),
    ("sub", [((3, 4), anyv), ((4,), anyv)], lambda a, b: a - b, lambda a, b: a - b),
    ("rsub_scalar", [((5,), anyv)], lambda a: 1.5 - a, lambda a: 1.5 - a),
    ("mul", [((2, 3), anyv), ((2, 3), anyv)], lambda a, b: a * b, lambda a, b: a * b),
    ("mul_broadcast", [((2, 3), anyv), ((1, 3), anyv)], lambda a, b: a * b, lambda a, b: a * b),
    ("div", [((2, 3), anyv), ((2, 3), pos)], lambda a, b: a / b, lambda a, b: a / b),
    ("rdiv_scalar", [((4,), pos)], lambda a: 2.0 / a, lambda a: 2.0 / a),
    ("pow_scalar", [((3,), pos)], lambda a: a ** 3, lambda a: a ** 3),
    ("pow_tensor", [((3,), pos), ((3,), anyv)], lambda a, b: a ** b, lambda a, b: a ** b),
    ("maximum", [((3, 4), anyv), ((4,), anyv)], torch.maximum, np.maximum),
    ("minimum", [((3, 4), anyv), ((3, 4), anyv)], torch.minimum, np.minimum),
    ("neg", [((3, 2), anyv)], lambda a: -a, lambda a: -a),
    ("exp", [((3, 2), anyv)], torch.exp, np.exp),
    ("log", [((3, 2), pos)], torch.log, np.log),
    ("sqrt", [((3, 2), pos)], torch.sqrt, np.sqrt),
    ("abs", [((3, 2), away_from_zero)], torch.abs, np.abs),
    ("tanh", [((3, 2), anyv)], torch.tanh, np.tanh),
    ("sigmoid", [((3, 2), anyv)], torch.sigmoid, lambda a: 1 / (1 + np.exp(-a))),
    ("relu", [((4, 5), away_from_zero)], torch.relu, lambda a: np.maximum(a, 0)),
    ("clamp", [((4, 5), away_from_zero)], lambda a: a.clamp(-0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7)),
    ("sin", [((4,), anyv)], torch.sin, np.sin),
    ("cos", [((4,), anyv)], torch.cos, np.cos),
    ("square", [((4,), anyv)], torch.square, np.square),
    ("reciprocal", [((4,), pos)], torch.reciprocal, np.reciprocal),
    ("where", [((3, 4), anyv), ((3, 4), anyv)], lambda a, b: torch.where(a > 0, a, b),
     lambda a, b: np.where(a > 0, a, b)),
    ("sum_all", [((3, 4), anyv)], lambda a: a.sum(), lambda a: a.sum()),
    ("sum_dim", [((3, 4, 2), anyv)], lambda a: a.sum(1), lambda a: a.sum(1)),
    ("sum_dims_keepdim", [((3, 4, 2), anyv)], lambda a: a.sum((0, 2), keepdim=True),
     lambda a: a.sum((0, 2), keepdims=True)),
    ("sum_neg_dim", [((3, 4), anyv)], lambda a: a.sum(-1), lambda a: a.sum(-1)),
    ("mean_all", [((3, 4), anyv)], lambda a: a.mean(), lambda a: a.mean()),
    ("mean_dim", [((3, 4), anyv)], lambda a: a.mean(0), lambda a: a.mean(0)),
    ("max_dim", [((3, 5), anyv)], lambda a: a.max(1).values, lambda a: a.max(1)),
    ("max_all", [((3, 5), anyv)], lambda a: a.max(), lambda a: a.max()),
    ("min_dim_keepdim", [((3, 5), anyv)], lambda a: a.min(0, keepdim=True)[0], lambda a: a.min(0, keepdims=True)),
    ("matmul_2d", [((3, 4), anyv), ((4, 5), anyv)], torch.matmul, np.matmul),
    ("matmul_batched", [((2, 3, 4), anyv), ((2, 4, 5), anyv)], torch.matmul, np.matmul),
    ("matmul_broadcast", [((2, 3, 4), anyv), ((4, 5), anyv)], torch.matmul, np.matmul),
    ("matmul_batch_bcast", [((2, 1, 3, 4), anyv), ((3, 4, 2), anyv)], torch.matmul, np.matmul),
    ("matmul_vec_mat", [((4,), anyv), ((4, 5), anyv)], torch.matmul, np.matmul),
    ("matmul_mat_vec", [((3, 4), anyv), ((4,), anyv)], torch.matmul, np.matmul),
    ("matmul_dot", [((4,), anyv), ((4,), anyv)], torch.matmul, np.matmul),
    ("matmul_transposed", [((4, 3), anyv), ((5, 4), anyv)], lambda a, b: a.t() @ b.t(), lambda a, b: a.T @ b.T),
    ("linear", [((5, 4), anyv), ((3, 4), anyv), ((3,), anyv)], F.linear, lambda x, w, b: x @ w.T + b),
    ("linear_nobias_3d", [((2, 5, 4), anyv), ((3, 4), anyv)], F.linear, lambda x, w: x @ w.T),
    ("reshape", [((3, 4), anyv)], lambda a: a.reshape(2, 6) * 1.0, lambda a: a.reshape(2, 6)),
    ("reshape_noncontig", [((3, 4), anyv)], lambda a: a.t().reshape(-1), lambda a: a.T.reshape(-1)),
    ("view", [((3, 4), anyv)], lambda a: a.view(4, 3), lambda a: a.reshape(4, 3)),
    ("transpose", [((2, 3, 4), anyv)], lambda a: a.transpose(0, 2), lambda a: a.transpose(2, 1, 0)),
    ("permute", [((2, 3, 4), anyv)], lambda a: a.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0)),
    ("expand", [((3, 1), anyv)], lambda a: a.expand(3, 4), lambda a: np.broadcast_to(a, (3, 4))),
    ("unsqueeze_squeeze", [((3, 4), anyv)], lambda a: a.unsqueeze(1).squeeze(1), lambda a: a),
    ("slice", [((5, 6), anyv)], lambda a: a[1:4, ::2], lambda a: a[1:4, ::2]),
    ("select", [((5, 6), anyv)], lambda a: a[2], lambda a: a[2]),
    ("index_neg_select", [((5, 6), anyv)], lambda a: a[:, -1], lambda a: a[:, -1]),
    ("index_tensor", [((5, 3), anyv)], lambda a: a[torch.tensor([0, 2, 2, 4])], lambda a: a[[0, 2, 2, 4]]),
    ("cat", [((2, 3), anyv), ((4, 3), anyv)], lambda a, b: torch.cat([a, b], 0), lambda a, b: np.concatenate([a, b], 0)),
    ("stack", [((2, 3), anyv), ((2, 3), anyv)], lambda a, b: torch.stack([a, b], 1), lambda a, b: np.stack([a, b], 1)),
    ("gather", [((3, 4), anyv)], lambda a: a.gather(1, torch.tensor([[0, 0], [3, 1], [2, 2]])),
     lambda a: np.take_along_axis(a, np.array([[0, 0], [3, 1], [2, 2]]), 1)),
    ("logsumexp", [((3, 4), anyv)], lambda a: torch.logsumexp(a, 1), lambda a: np.log(np.exp(a).sum(1))),
    ("logsumexp_dims", [((2, 3, 4), anyv)], lambda a: a.logsumexp((0, 2), keepdim=True),
     lambda a: np.log(np.exp(a).sum((0, 2), keepdims=True))),
    ("var", [((3, 5), anyv)], lambda a: a.var(1), lambda a: a.var(1, ddof=1)),
    ("std_all", [((3, 5), anyv)], lambda a: a.std(), lambda a: a.std(ddof=1)),
    ("var_biased", [((3, 5), anyv)], lambda a: torch.var(a, 0, correction=0), lambda a: a.var(0)),
    ("gelu", [((6,), anyv)], torch.gelu, lambda a: 0.5 * a * (1 + np.vectorize(__import__("math").erf)(a / np.sqrt(2)))),
    ("softmax", [((3, 5), anyv)], lambda a: torch.softmax(a, 1), lambda a: np.exp(np_log_softmax(a, 1))),
    ("log_softmax", [((3, 5), anyv)], lambda a: torch.log_softmax(a, -1), lambda a: np_log_softmax(a, -1)),
    ("log_softmax_dim0", [((4, 3, 2), anyv)], lambda a: torch.log_softmax(a, 0), lambda a: np_log_softmax(a, 0)),
]

CROSS_ENTROPY_TARGET = np.array([1, 0, 4, 2])
OPS.append(("cross_entropy", [((4, 5), anyv)],
            lambda x: F.cross_entropy(x, torch.tensor(CROSS_ENTROPY_TARGET)),
            lambda x: np_cross_entropy(x, CROSS_ENTROPY_TARGET)))


@pytest.mark.parametrize("name,makers,fn,ref", OPS, ids=[o[0] for o in OPS])
def test_forward_matches_numpy(name, makers, fn, ref):
    arrays = [gen(shape) for shape, gen in makers]
    for dtype, npdt, tol in ((torch.float64, np.float64, 1e-12), (torch.float32, np.float32, 1e-5)):
        xs = [torch.tensor(a.astype(npdt)) for a in arrays]
        got = fn(*xs).numpy()
        want = np.asarray(ref(*[a.astype(npdt) for a in arrays]))
        assert got.shape == want.shape, name
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)


def strided(array, dtype):
    """A tensor with array's values whose memory is not contiguous: every dim reversed in
    storage order and every other element skipped (a transposed, sliced view)."""
    nd = array.ndim
    big = np.zeros(tuple(2 * s for s in array.shape[::-1]), dtype=dtype)
    big[tuple(slice(None, None, 2) for _ in range(nd))] = array.transpose(*range(nd - 1, -1, -1))
    t = torch.tensor(big)[tuple(slice(None, None, 2) for _ in range(nd))]
    return t.permute(*range(nd - 1, -1, -1)) if nd > 1 else t


# view() of a non-viewable layout must fail (tested in test_errors.py).
NEEDS_CONTIGUOUS = {"view"}


@pytest.mark.parametrize("name,makers,fn,ref", OPS, ids=[o[0] for o in OPS])
def test_forward_on_strided_views(name, makers, fn, ref):
    if name in NEEDS_CONTIGUOUS:
        pytest.skip("view needs a viewable layout")
    arrays = [gen(shape) for shape, gen in makers]
    xs = [strided(a, np.float64) for a in arrays]
    assert all(x.ndim == 0 or not x.is_contiguous() for x in xs if x.numel() > 1)
    np.testing.assert_allclose(fn(*xs).numpy(), np.asarray(ref(*arrays)), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["contiguous", "strided"])
@pytest.mark.parametrize("name,makers,fn,ref", OPS, ids=[o[0] for o in OPS])
def test_gradient_matches_finite_differences(name, makers, fn, ref, layout):
    if layout == "contiguous" or name in NEEDS_CONTIGUOUS:
        xs = [torch.tensor(gen(shape), dtype=torch.float64) for shape, gen in makers]
    else:
        xs = [strided(gen(shape), np.float64) for shape, gen in makers]
    xs = [x.requires_grad_() for x in xs]
    assert gradcheck(fn, xs, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name,makers,fn,ref", OPS, ids=[o[0] for o in OPS])
def test_matches_pytorch(name, makers, fn, ref, pt):
    import sys

    arrays = [gen(shape) for shape, gen in makers]
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        ours = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        theirs = [pt.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        # Run the same lambda with `torch` bound to real PyTorch.
        g = dict(fn.__globals__)
        g.update(torch=pt, F=pt.nn.functional)
        import types

        pt_fn = fn if isinstance(fn, types.BuiltinFunctionType) else types.FunctionType(fn.__code__, g, closure=fn.__closure__)
        if fn in (torch.matmul, torch.maximum, torch.minimum, torch.exp, torch.log, torch.sqrt, torch.abs,
                  torch.tanh, torch.sigmoid, torch.relu, torch.sin, torch.cos, torch.square, torch.reciprocal,
                  F.linear, torch.gelu):
            pt_fn = getattr(pt.nn.functional, fn.__name__) if fn is torch.gelu else (
                getattr(pt, fn.__name__, None) or getattr(pt.nn.functional, fn.__name__))
        out_ours, out_theirs = fn(*ours), pt_fn(*theirs)
        np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=tol, atol=tol)
        seed = np.random.uniform(-1, 1, tuple(out_theirs.shape)).astype(dtype)
        out_ours.backward(torch.tensor(seed))
        out_theirs.backward(pt.tensor(seed))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol)
    del sys


def test_cast_gradient_flows_back_in_the_input_dtype():
    x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    (x.float() * 3).sum().backward()
    assert x.grad.dtype == torch.float64
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
