"""median / nanmedian (a partition instead of a sort per line) and the 1- and 2-norms (one
fused C reduction, pa_norm): values and indices against PyTorch (ties, NaN, signed zeros,
keepdim, int64, empty and 0-d tensors, non-contiguous inputs), float64 gradients against
finite differences and PyTorch, accuracy against float64 / long double NumPy, and errors."""
import math

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import ffi, lib
from pyautodiff._tensor import call
from pyautodiff.autograd import gradcheck

RNG = np.random.default_rng(11)


def _same(ours, theirs):
    """Equal values (NaN equal to NaN, the sign of zero too), shape and dtype."""
    a, b = ours.numpy(), theirs.numpy()
    assert a.shape == b.shape
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_array_equal(a, b)
    if a.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


def _arrays():
    """(name, array): continuous values, heavy ties, ints, NaNs, signed zeros."""
    out = [("normal", RNG.standard_normal((5, 7, 6))),
           ("ties", RNG.integers(0, 3, (5, 7, 6)).astype(np.float32)),
           ("int64", RNG.integers(-3, 3, (5, 7, 6))),
           ("zeros", np.where(RNG.random((5, 7, 6)) < 0.5, -0.0, 0.0))]
    with_nan = RNG.integers(0, 3, (5, 7, 6)).astype(np.float64)
    with_nan[RNG.random(with_nan.shape) < 0.25] = np.nan
    with_nan[1] = np.nan  # lines of NaNs alone too
    out.append(("nan", with_nan))
    return out


ARRAYS = _arrays()


# ---- median / nanmedian: values and indices against PyTorch -------------------------
@pytest.mark.parametrize("op", ["median", "nanmedian"])
@pytest.mark.parametrize("name,a", ARRAYS, ids=[n for n, _ in ARRAYS])
def test_median_along_each_dim_matches_pytorch(op, name, a, pt):
    for view in (lambda t: t, lambda t: t.transpose(0, 2), lambda t: t[:, ::2]):
        ours, theirs = view(torch.tensor(a)), view(pt.tensor(a))
        for dim in (0, 1, 2, -1):
            for keepdim in (False, True):
                v, i = getattr(ours, op)(dim, keepdim)
                w, j = getattr(theirs, op)(dim, keepdim)
                _same(i, j)
                _same(v, w)
        a_all, b_all = getattr(ours, op)(), getattr(theirs, op)()
        assert a_all.shape == () and a_all.dtype.name == str(b_all.dtype).replace("torch.", "")
        np.testing.assert_array_equal(a_all.numpy(), b_all.numpy())  # (a zero's sign may differ: see below)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 63, 64, 999, 1000, 1001, 4096])
@pytest.mark.parametrize("op", ["median", "nanmedian"])
def test_long_lines_with_ties_around_the_middle_match_pytorch(n, op, pt):
    a = RNG.integers(0, 4, (6, n)).astype(np.float32)
    a[1] = 1.0  # one value throughout
    a[2, : n // 2] = 0.0  # ties just below the middle
    if n > 1:
        a[3, RNG.integers(0, n, 2)] = np.nan
    for dim in (0, 1):
        v, i = getattr(torch.tensor(a), op)(dim)
        w, j = getattr(pt.tensor(a), op)(dim)
        _same(i, j)
        _same(v, w)
    np.testing.assert_array_equal(getattr(torch.tensor(a), op)().numpy(), getattr(pt.tensor(a), op)().numpy())


def test_ties_pick_the_stable_sort_position_as_pytorch(pt):
    # PyTorch orders by (value, index): the pick is the element at position (n - 1) // 2 of
    # the stable sort, not the first of the equal values
    x = [3.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0]
    assert torch.tensor(x).median(0).indices.item() == pt.tensor(x).median(0).indices.item() == 2
    x = [[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 5.0, 5.0]]
    assert torch.tensor(x).median(1).indices.tolist() == pt.tensor(x).median(1).indices.tolist() == [1, 1]


def test_nan_rules(pt):
    nan = math.nan
    x = [1.0, nan, 3.0, nan]
    v, i = torch.tensor(x).median(0)
    assert math.isnan(v.item()) and i.item() == 1  # the first NaN
    assert math.isnan(torch.tensor(x).median().item())
    v, i = torch.tensor(x).nanmedian(0)
    assert (v.item(), i.item()) == (1.0, 0)
    assert torch.tensor(x).nanmedian().item() == 1.0
    assert torch.tensor([[1.0, nan, 2.0, 2.0, nan, 2.0]]).nanmedian(1).indices.tolist() == [2]


def test_nanmedian_of_nans_alone_replays_pytorchs_nth_element(pt):
    # which NaN: whatever libstdc++'s nth_element leaves first (nothing to do with order)
    for n in list(range(1, 80)) + [127, 128, 1000, 4097]:
        ours = torch.full((2, n), math.nan).nanmedian(1).indices
        theirs = pt.full((2, n), math.nan).nanmedian(1).indices
        assert ours.tolist() == theirs.tolist(), n
    assert [torch.full((n,), math.nan).nanmedian(0).indices.item() for n in range(1, 11)] == [0, 0, 0, 2, 2, 3, 5, 6, 7, 8]


def test_zero_d_and_empty_inputs(pt):
    for op in ("median", "nanmedian"):
        x = torch.tensor(5.0)
        assert getattr(x, op)().item() == 5.0
        v, i = getattr(x, op)(0)
        assert (v.item(), i.item(), v.shape, i.shape) == (5.0, 0, (), ())
        v, i = getattr(x, op)(-1, keepdim=True)
        assert v.shape == () and i.dtype == torch.int64
        assert math.isnan(getattr(torch.ones(0), op)().item())
        assert math.isnan(getattr(torch.ones(0, 3, dtype=torch.float64), op)().item())
        assert getattr(torch.ones(0, 3, dtype=torch.float64), op)().dtype == torch.float64
        for shape, dim in (((0, 3), 1), ((3, 0, 2), 0), ((3, 0, 2), 2)):
            for keepdim in (False, True):
                v, i = getattr(torch.ones(*shape), op)(dim, keepdim)
                w, j = getattr(pt.ones(*shape), op)(dim, keepdim)
                assert tuple(v.shape) == tuple(w.shape) and tuple(i.shape) == tuple(j.shape)
                assert i.dtype == torch.int64


MEDIAN_ERRORS = [
    ("empty_dim", lambda: torch.ones(0, 3).median(0), IndexError, r"median\(\): Expected reduction dim 0 to have non-zero size"),
    ("empty_dim_nan", lambda: torch.ones(3, 0).nanmedian(1), IndexError, r"nanmedian\(\): Expected reduction dim 1 to have non-zero size"),
    ("empty_int", lambda: torch.ones(0, dtype=torch.int64).median(), RuntimeError, r"median\(\) input tensor cannot be empty"),
    ("bool", lambda: torch.tensor([True, False]).median(), NotImplementedError, "\"median_cpu\" not implemented for 'Bool'"),
    ("bool_dim", lambda: torch.tensor([True]).nanmedian(0), NotImplementedError, "not implemented for 'Bool'"),
    ("dim_range", lambda: torch.ones(2, 3).median(2), IndexError, r"expected to be in range of \[-2, 1\], but got 2"),
    ("dim_range_0d", lambda: torch.tensor(1.0).median(1), IndexError, r"range of \[-1, 0\], but got 1"),
]


@pytest.mark.parametrize("name,fn,exc,pattern", MEDIAN_ERRORS, ids=[e[0] for e in MEDIAN_ERRORS])
def test_median_bad_calls_raise_clear_errors(name, fn, exc, pattern):
    with pytest.raises(exc, match=pattern):
        fn()


def test_median_int64_keeps_its_dtype_and_has_no_gradient():
    x = torch.tensor([[3, 1, 2, 0], [5, 5, 5, 1]])
    v, i = x.median(1)
    assert v.dtype == torch.int64 and v.tolist() == [1, 5] and i.tolist() == [1, 0]
    assert x.median().item() == 2 and x.median().dtype == torch.int64


# ---- median / nanmedian: gradients --------------------------------------------------
DISTINCT = RNG.permutation(60).reshape(3, 4, 5).astype(np.float64) / 7.0


@pytest.mark.parametrize("name,fn", [
    ("median_dim", lambda x: x.median(1)[0] * 2 + x.median(-1, keepdim=True)[0].sum()),
    ("median_all", lambda x: x.median() * x.transpose(0, 2).median(0)[0]),
    ("nanmedian", lambda x: x.nanmedian(0)[0] + torch.nanmedian(x)),
])
def test_median_gradients_match_finite_differences(name, fn):
    assert gradcheck(fn, (torch.tensor(DISTINCT, requires_grad=True),), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("op", ["median", "nanmedian"])
@pytest.mark.parametrize("name,a", [n_a for n_a in ARRAYS if n_a[1].dtype.kind == "f"],
                         ids=[n for n, a in ARRAYS if a.dtype.kind == "f"])
def test_median_gradients_match_pytorch_with_ties_and_nans(op, name, a, pt):
    # along a dim the gradient goes to the picked element; over all elements it is shared
    # evenly among those equal to the result (the NaNs when it is NaN), as PyTorch's
    a = a.astype(np.float64)
    g = RNG.standard_normal((5, 6))
    ours, theirs = torch.tensor(a, requires_grad=True), pt.tensor(a, requires_grad=True)
    (getattr(ours, op)(1)[0] * torch.tensor(g)).sum().backward()
    (getattr(theirs, op)(1)[0] * pt.tensor(g)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    ours, theirs = torch.tensor(a, requires_grad=True), pt.tensor(a, requires_grad=True)
    (getattr(ours, op)() * 3.0).backward()
    (getattr(theirs, op)() * 3.0).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-15)


def test_median_with_and_without_grad_agree():
    a = RNG.integers(0, 3, (40, 33)).astype(np.float32)
    a[3, 5] = np.nan
    plain, tracked = torch.tensor(a), torch.tensor(a, requires_grad=True)
    for dim in (0, 1):
        for keepdim in (False, True):
            v, i = plain.median(dim, keepdim)
            w, j = tracked.median(dim, keepdim)
            assert w.requires_grad and not v.requires_grad
            np.testing.assert_array_equal(v.numpy(), w.detach().numpy())
            np.testing.assert_array_equal(i.numpy(), j.numpy())
    with torch.no_grad():
        assert not tracked.median(0).values.requires_grad and not tracked.median().requires_grad


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


def test_norm_bits_do_not_depend_on_the_thread_count():
    saved = torch.get_num_threads()
    a = RNG.standard_normal((300, 700)).astype(np.float32)
    long_row = RNG.standard_normal((1, 200003))
    try:
        results = []
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            x, y = torch.tensor(a), torch.tensor(long_row)
            results.append([t.numpy() for t in (x.norm(dim=1), x.norm(dim=0), x.norm(), torch.norm(x, p=1, dim=1),
                                                y.norm(), x.t().norm(dim=(0, 1)))])
        for other in results[1:]:
            for u, v in zip(results[0], other):
                np.testing.assert_array_equal(u, v)
    finally:
        torch.set_num_threads(saved)
