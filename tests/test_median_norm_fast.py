"""The 1- and 2-norms (one fused C reduction, pa_norm): accuracy against long double NumPy,
layouts, values against PyTorch, float64 gradients against finite differences and
PyTorch (zero vectors, NaN), and errors."""
import math

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import ffi, lib
from pyautodiff._tensor import call
from pyautodiff.autograd import gradcheck

RNG = np.random.default_rng(11)


# ---- norm: values --------------------------------------------------------------------
NORM_CASES = [
    ((1000, 1000), 1), ((1000, 1000), 0), ((64, 128, 128), (1, 2)), ((4, 5, 6), (0, 2)), ((4, 5, 6), (2, 0)),
    ((4, 5, 6), None), ((4, 5, 6), ()), ((4, 5, 6), -1), ((3, 1, 5), 1), ((2, 70000), 1), ((1, 100003), None),
]


def _reference(a, p, dim):
    """The norm in long double (float64 elements squared exactly enough for ~1e-18)."""
    axis = None if dim is None or dim == () else dim
    x = a.astype(np.longdouble)
    if p == 1:
        return np.abs(x).sum(axis=axis)
    return np.sqrt((x * x).sum(axis=axis))


@pytest.mark.parametrize("shape,dim", NORM_CASES, ids=[f"{s}-{d}" for s, d in NORM_CASES])
@pytest.mark.parametrize("p", [2, "fro", 1])
def test_norm_is_accurate(shape, dim, p):
    a = RNG.standard_normal(shape)
    for dtype, rtol in ((np.float32, 1e-6), (np.float64, 2e-15)):  # (PyTorch: up to 1e-5, 3e-15)
        x = a.astype(dtype)
        want = _reference(x, p, dim)
        got = torch.norm(torch.tensor(x), p=p, dim=dim)
        assert got.dtype.name == np.dtype(dtype).name
        np.testing.assert_allclose(got.numpy().astype(np.longdouble), want, rtol=rtol, atol=0)


def test_norm_layouts_give_the_contiguous_result():
    a = RNG.standard_normal((6, 5, 4, 3))
    x = torch.tensor(a)
    for view in (lambda t: t.permute(2, 0, 3, 1), lambda t: t.transpose(1, 3), lambda t: t[:, ::2, 1:], lambda t: t.expand(2, 6, 5, 4, 3)):
        v = view(x)
        dense = v.contiguous()
        for dim in (0, 1, (1, 2), (0, 2), (0, 3), -1, None):
            for p in (1, 2):
                for keepdim in (False, True):
                    want = torch.norm(dense, p=p, dim=dim, keepdim=keepdim)
                    got = torch.norm(v, p=p, dim=dim, keepdim=keepdim)
                    assert got.shape == want.shape
                    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-15)


@pytest.mark.parametrize("fn", [
    lambda T, x: T.norm(x, dim=1),
    lambda T, x: x.norm(dim=(0, 2), keepdim=True),
    lambda T, x: T.norm(x, p=1, dim=-1),
    lambda T, x: T.norm(x),
    lambda T, x: T.norm(x, dim=()),
    lambda T, x: T.linalg.vector_norm(x, dim=1),
    lambda T, x: T.linalg.vector_norm(x, 1, dim=(1, 2)),
    lambda T, x: T.linalg.vector_norm(x),
    lambda T, x: T.linalg.vector_norm(x, keepdim=True),
    lambda T, x: T.linalg.norm(x, dim=2),
    lambda T, x: T.linalg.matrix_norm(x),
    lambda T, x: T.norm(x, dim=0, dtype=T.float64),
])
def test_norm_entry_points_match_pytorch(fn, pt):
    a = RNG.standard_normal((4, 5, 6)).astype(np.float32)
    ours, theirs = fn(torch, torch.tensor(a)), fn(pt, pt.tensor(a))
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6)


def test_norm_edge_values_match_pytorch(pt):
    # float32 squares overflow and underflow in float32, as PyTorch's (and as before)
    for v in (1e30, 1e-30, 3e19, 1e-23, math.inf, -math.inf, math.nan, 0.0):
        a = np.full((2, 3), v, dtype=np.float32)
        a[0, 0] = 1.0
        for kw in (dict(), dict(dim=1), dict(dim=0), dict(p=1, dim=1)):
            ours = torch.norm(torch.tensor(a), **kw)
            tracked = torch.norm(torch.tensor(a, requires_grad=True), **kw)
            theirs = pt.norm(pt.tensor(a), **kw)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
            np.testing.assert_allclose(tracked.detach().numpy(), theirs.numpy(), rtol=1e-6)
    for shape, dim in (((0, 3), 0), ((0, 3), 1), ((3, 0), 1), ((), None), ((), 0)):
        for p in (1, 2):
            ours, theirs = torch.norm(torch.ones(shape) * -2, p=p, dim=dim), pt.norm(pt.ones(shape) * -2, p=p, dim=dim)
            assert tuple(ours.shape) == tuple(theirs.shape)
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- norm: gradients -----------------------------------------------------------------
A = RNG.standard_normal((3, 4, 5))


@pytest.mark.parametrize("name,fn", [
    ("two_dim", lambda x: x.norm(dim=1) * torch.arange(15.0, dtype=torch.float64).reshape(3, 5)),
    ("two_dims_keep", lambda x: torch.norm(x, dim=(0, 2), keepdim=True) ** 2),
    ("two_all", lambda x: x.norm() + x.transpose(0, 2).norm(dim=(1, 2)).sum()),
    ("one", lambda x: torch.norm(x, p=1, dim=(1, 2)) * torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)),
    ("vector_norm", lambda x: torch.linalg.vector_norm(x[:, ::2], dim=-1)),
])
def test_norm_gradients_match_finite_differences(name, fn):
    assert gradcheck(fn, (torch.tensor(A, requires_grad=True),), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("kw", [dict(), dict(dim=1), dict(dim=(0, 2), keepdim=True), dict(p=1, dim=2), dict(p=1)])
def test_norm_gradients_match_pytorch_with_zero_vectors_and_nans(kw, pt):
    a = A.copy()
    a[1] = 0.0  # zero vectors: gradient 0 (2-norm), sign(0) = 0 (1-norm)
    a[2, 0, 0] = 0.0
    b = A.copy()
    b[0, 1, 2] = np.nan
    for arr in (a, b, np.zeros_like(A)):
        g = RNG.standard_normal(tuple(pt.norm(pt.tensor(arr), **kw).shape))
        ours, theirs = torch.tensor(arr, requires_grad=True), pt.tensor(arr, requires_grad=True)
        y, z = torch.norm(ours, **kw), pt.norm(theirs, **kw)
        np.testing.assert_allclose(y.detach().numpy(), z.detach().numpy(), rtol=1e-15)
        (y * torch.tensor(g)).sum().backward()
        (z * pt.tensor(g)).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-14, atol=1e-300)


def test_norm_sees_an_inplace_change_of_its_input():
    x = torch.tensor(A, requires_grad=True)
    h = x * 1.0
    y = h.norm(dim=1).sum()
    with torch.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_norm_without_grad_records_nothing():
    x = torch.tensor(A, requires_grad=True)
    with torch.no_grad():
        assert not x.norm(dim=1).requires_grad
    assert x.norm(dim=1).requires_grad and not torch.tensor(A).norm(dim=1).requires_grad


# ---- norm: errors --------------------------------------------------------------------
def _c_norm(t, p, dims, keepdim=0):
    return call(lib.pa_norm, t._h, p, len(dims), ffi.new("int64_t[]", dims) if dims else ffi.NULL, keepdim)


NORM_ERRORS = [
    ("int", lambda: torch.arange(3).norm(), RuntimeError, "norm: expected a floating point tensor"),
    ("int_dim", lambda: torch.norm(torch.arange(6).reshape(2, 3), dim=1), RuntimeError, "floating point"),
    ("dim_range", lambda: torch.ones(2, 3).norm(dim=2), IndexError, r"norm: dim 2 out of range|out of range"),
    ("dims_repeat", lambda: torch.ones(2, 3).norm(dim=(1, -1)), ValueError, "dim -1 appears multiple times"),
    ("p_negative", lambda: torch.ones(2).norm(-1), RuntimeError, "norm: p=-1 is not supported"),
    ("c_dtype", lambda: _c_norm(torch.arange(3), 2.0, []), TypeError, "norm: expected a float32 or float64 tensor, got int64"),
    ("c_bool", lambda: _c_norm(torch.ones(3) > 0, 1.0, [0]), TypeError, "got bool"),
    ("c_p", lambda: _c_norm(torch.ones(3), 3.0, [0]), ValueError, "norm: p must be 1 or 2"),
    ("c_dim", lambda: _c_norm(torch.ones(2, 3), 2.0, [-3]), IndexError, "norm"),
    ("c_repeat", lambda: _c_norm(torch.ones(2, 3), 2.0, [0, 0]), ValueError, "norm: dim 0 appears multiple times"),
]


@pytest.mark.parametrize("name,fn,exc,pattern", NORM_ERRORS, ids=[e[0] for e in NORM_ERRORS])
def test_norm_bad_calls_raise_clear_errors(name, fn, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn()


def test_c_norm_refuses_null_pointers():
    with pytest.raises(ValueError, match="norm: invalid argument"):
        call(lib.pa_norm, ffi.NULL, 2.0, 0, ffi.NULL, 0)
    with pytest.raises(ValueError, match="norm: invalid argument"):
        call(lib.pa_norm, torch.ones(2)._h, 2.0, 1, ffi.NULL, 0)
