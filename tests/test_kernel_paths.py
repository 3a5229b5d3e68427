"""The specialised stride paths of elementwise kernels give the same bits as the general
strided loop: torch.where's select (contiguous, one or both values broadcast, strided)
and the blocked copy behind .contiguous() of transposed and permuted views."""
import numpy as np
import pytest

import pyautodiff as torch

SPECIALS = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-40, -3.5])


def _values(rng, dtype, n):
    if dtype == np.bool_:
        return rng.random(n) < 0.5
    if dtype == np.int64:
        return rng.integers(-1000, 1000, n)
    v = rng.standard_normal(n).astype(dtype)
    k = min(n, len(SPECIALS))
    v[:k] = SPECIALS[:k].astype(dtype)
    return v


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("pattern", ["both", "a_scalar", "b_scalar", "scalars", "strided"])
@pytest.mark.parametrize("n", [1, 37, 4099])
def test_where_select_paths_match_numpy_bit_for_bit(dtype, pattern, n):
    rng = np.random.default_rng(n)
    cond = rng.random(n) < 0.5
    a, b = _values(rng, dtype, 2 * n), _values(rng, dtype, n)
    if pattern == "strided":
        a_arg, a_np = torch.tensor(a)[::2], a[::2]  # a view with stride 2
    else:
        a_arg, a_np = torch.tensor(a[:n]), a[:n]
    b_arg, b_np = torch.tensor(b), b
    if pattern in ("a_scalar", "scalars"):
        a_arg, a_np = torch.tensor(a[1]), a[1]
    if pattern in ("b_scalar", "scalars"):
        b_arg, b_np = torch.tensor(b[0]), b[0]
    got = torch.where(torch.tensor(cond), a_arg, b_arg).numpy()
    want = np.where(cond, a_np, b_np)
    assert got.dtype == want.dtype and got.shape == want.shape
    if dtype in (np.float32, np.float64):  # NaN payloads and the sign of zero survive
        assert np.array_equal(got.view(np.uint8), want.view(np.uint8))
    else:
        assert np.array_equal(got, want)


@pytest.fixture(params=["auto", "generic"])
def isa(request):
    """The transpose's register-block kernels (auto) and its portable loop (generic)."""
    from pyautodiff._ffi import lib

    if request.param == "generic":
        assert lib.pa_set_gemm_isa(0) == 0
    yield request.param
    lib.pa_set_gemm_isa(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(8, 8), (9, 37), (64, 33), (1024, 96), (256, 1024)])
def test_contiguous_of_a_transpose_matches_numpy(dtype, shape, isa):
    a = _values(np.random.default_rng(shape[0] * shape[1]), dtype, shape[0] * shape[1]).reshape(shape)
    got = torch.tensor(a).T.contiguous().numpy()
    assert got.dtype == a.dtype
    assert np.array_equal(got.view(np.uint8), np.ascontiguousarray(a.T).view(np.uint8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("perm", [(0, 2, 1), (2, 1, 0), (1, 0, 2), (0, 2, 1, 3), (3, 1, 2, 0)])
def test_contiguous_of_a_permute_matches_numpy(dtype, perm):
    shape = (3, 17, 40, 9)[: len(perm)]
    a = _values(np.random.default_rng(len(perm)), dtype, int(np.prod(shape))).reshape(shape)
    got = torch.tensor(a).permute(*perm).contiguous().numpy()
    assert np.array_equal(got.view(np.uint8), np.ascontiguousarray(a.transpose(perm)).view(np.uint8))


def test_copy_into_a_transposed_view_and_from_a_sliced_transpose():
    rng = np.random.default_rng(7)
    src = rng.standard_normal((48, 70)).astype(np.float32)
    dst = torch.zeros(70, 48)
    dst.T.copy_(torch.tensor(src))  # destination walked down its columns
    assert np.array_equal(dst.numpy(), src.T)
    big = rng.standard_normal((100, 90)).astype(np.float64)
    view = torch.tensor(big)[5:90:1, 3:80].T  # offsets and a row stride wider than the rows
    assert np.array_equal(view.contiguous().numpy(), np.ascontiguousarray(big[5:90, 3:80].T))
    dst64 = torch.zeros(77, 85, dtype=torch.float64)
    dst64.copy_(view)
    assert np.array_equal(dst64.numpy(), big[5:90, 3:80].T)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("bounds", [(-0.5, 0.5), (-0.5, None), (None, 0.5), (0.7, -0.2)])
def test_clamp_select_paths(dtype, bounds):
    lo, hi = bounds
    rng = np.random.default_rng(3)
    a = (_values(rng, dtype, 5003) if dtype != np.int64 else rng.integers(-3, 3, 5003))
    if dtype == np.int64:
        lo, hi = (None if lo is None else int(np.floor(lo))), (None if hi is None else int(np.ceil(hi)))
    want = a
    if lo is not None:
        want = np.where(a < dtype(lo), dtype(lo), a)  # NaN stays: NaN < lo is false
    if hi is not None:
        want = np.where(want > dtype(hi), dtype(hi), want)
    for t, w in ((torch.tensor(a), want), (torch.tensor(a)[::3], want[::3])):
        got = t.clamp(lo, hi).numpy()
        assert got.dtype == a.dtype
        assert np.array_equal(got.view(np.uint8), np.ascontiguousarray(w).view(np.uint8))


def test_clamp_and_leaky_relu_gradients_are_selected_elementwise():
    rng = np.random.default_rng(4)
    a = rng.standard_normal(3001)
    a[:4] = [-0.5, 0.5, 0.0, -0.0]  # at the bounds the gradient passes (PyTorch)
    x = torch.tensor(a, requires_grad=True)
    g = rng.standard_normal(3001)
    x.clamp(-0.5, 0.5).backward(torch.tensor(g))
    assert np.array_equal(x.grad.numpy(), np.where((a < -0.5) | (a > 0.5), 0.0, g))
    x.grad = None
    y = torch.nn.functional.leaky_relu(x, 0.125)
    assert np.array_equal(y.detach().numpy(), np.where(a > 0, a, a * 0.125))
    y.backward(torch.tensor(g))
    assert np.array_equal(x.grad.numpy(), np.where(a > 0, g, g * 0.125))


def test_in_place_binary_ops_written_straight_into_the_tensor():
    rng = np.random.default_rng(9)
    a = rng.standard_normal((300, 70)).astype(np.float32)
    b = rng.standard_normal(70).astype(np.float32)
    x = torch.tensor(a)
    view = x[:5]  # shares x's memory: sees the writes
    version = x._version
    x.mul_(torch.tensor(b)).add_(2.5)
    want = a * b + np.float32(2.5)
    assert np.array_equal(x.numpy(), want) and np.array_equal(view.numpy(), want[:5])
    assert x._version == version + 2
    x.mul_(x)  # b is a itself: each element read before it is written
    assert np.array_equal(x.numpy(), want * want)
    sq = torch.tensor(a[:70, :70].copy())
    sq.add_(sq.t())  # b overlaps a elsewhere: computed out of place first
    assert np.array_equal(sq.numpy(), a[:70, :70] + a[:70, :70].T)
    y = torch.tensor(a)
    y[::3, 1::2].sub_(1.0)  # a strided view of y, in place
    want_y = a.copy()
    want_y[::3, 1::2] -= np.float32(1.0)
    assert np.array_equal(y.numpy(), want_y)
    n = torch.tensor(np.arange(12))
    n.mul_(3).add_(torch.tensor(np.arange(12)))
    assert np.array_equal(n.numpy(), np.arange(12) * 4) and n.dtype == torch.int64
    f = torch.tensor(a[0])
    f.add_(torch.tensor(b.astype(np.float64)))  # float64 into float32: computed, then cast
    assert np.array_equal(f.numpy(), (a[0].astype(np.float64) + b.astype(np.float64)).astype(np.float32))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batch_norm_on_n_by_c_input_matches_the_per_channel_path_bit_for_bit(dtype):
    """(N, C) inputs run kernels across channels; (1, C, N) holding the same values runs
    the per-channel loops.  Each channel adds the same values in the same order, so
    outputs, running statistics and gradients agree to the bit."""
    rng = np.random.default_rng(21)
    n, c = 37, 150  # three blocks of channels, the last one partial
    a = (rng.standard_normal((n, c)) * rng.uniform(0.1, 5, c) + rng.uniform(-3, 3, c))
    g = rng.standard_normal((n, c))
    w0, b0 = rng.standard_normal(c), rng.standard_normal(c)
    results = []
    for layout in ("nc", "1cn"):
        x = torch.tensor(a, dtype=dtype, requires_grad=True)
        w = torch.tensor(w0, dtype=dtype, requires_grad=True)
        b = torch.tensor(b0, dtype=dtype, requires_grad=True)
        rm, rv = torch.zeros(c, dtype=dtype), torch.ones(c, dtype=dtype)
        xin = x if layout == "nc" else x.t().unsqueeze(0)
        y = torch.nn.functional.batch_norm(xin, rm, rv, w, b, training=True, momentum=0.3)
        y = y if layout == "nc" else y.squeeze(0).t()
        y.backward(torch.tensor(g, dtype=dtype))
        results.append([t.detach().numpy().copy() for t in (y, rm, rv, x.grad, w.grad, b.grad)])
    for got, want in zip(*results):
        assert np.array_equal(got, want)
    assert np.allclose(results[0][0].mean(0), b0, atol=1e-4)  # and it normalised


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradient_with_zeros_matches_finite_differences(dim):
    rng = np.random.default_rng(5)
    a = rng.uniform(0.5, 1.5, (6, 7)) * rng.choice([-1.0, 1.0], (6, 7))
    a[2, 3] = a[4, 0] = a[4, 5] = a[0, 6] = 0.0  # one zero, two zeros in a slice, a last one
    g = rng.standard_normal((6, 7))
    x = torch.tensor(a, requires_grad=True)
    y = torch.cumprod(x, dim)
    assert np.array_equal(y.detach().numpy(), np.cumprod(a, dim))
    y.backward(torch.tensor(g))
    h, num = 1e-6, np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        up, down = a.copy(), a.copy()
        up[idx] += h
        down[idx] -= h
        num[idx] = ((np.cumprod(up, dim) - np.cumprod(down, dim)) * g).sum() / (2 * h)
    np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("kind", ["float32", "float64_nan", "int64", "bool"])
def test_topk_and_kthvalue_by_partition_equal_the_stable_sort_prefix(kind):
    """topk and kthvalue select by partition; ties (-0.0 and 0.0 too), infinities and NaN
    (above everything) come out exactly as the first k of the stable sort."""
    rng = np.random.default_rng(len(kind))
    shape = (5, 40, 3)
    if kind == "int64":
        a = rng.integers(-4, 4, shape)
    elif kind == "bool":
        a = rng.random(shape) < 0.3
    else:
        a = rng.integers(-4, 4, shape).astype(np.float32 if kind == "float32" else np.float64)
        m = rng.random(shape)
        a[m > 0.9] = np.inf
        a[m < 0.05] = -np.inf
        a[(m > 0.4) & (m < 0.5)] = -0.0
        if kind == "float64_nan":
            a[(m > 0.6) & (m < 0.7)] = np.nan
    t = torch.tensor(a)
    for dim in (0, 1, 2):
        for k in (1, 2, 7):
            if k > a.shape[dim]:
                continue
            for largest in (True, False):
                values, idx = t.topk(k, dim=dim, largest=largest)
                full_v, full_i = t.sort(dim=dim, descending=largest)
                assert np.array_equal(idx.numpy(), full_i.narrow(dim, 0, k).numpy())
                assert np.array_equal(values.numpy(), full_v.narrow(dim, 0, k).numpy(), equal_nan=kind != "bool")
            if kind != "bool":
                v, i = t.kthvalue(k, dim=dim)
                sv, si = t.sort(dim=dim, stable=True)
                assert np.array_equal(i.numpy(), si.select(dim, k - 1).numpy())
                assert np.array_equal(v.numpy(), sv.select(dim, k - 1).numpy(), equal_nan=True)


def test_topk_values_carry_the_gradient():
    a = np.random.default_rng(2).standard_normal((4, 60))
    x = torch.tensor(a, requires_grad=True)
    v, i = x.topk(3, dim=1)
    v.sum().backward()
    want = np.zeros_like(a)
    np.put_along_axis(want, np.argsort(-a, axis=1)[:, :3], 1.0, axis=1)
    assert np.array_equal(x.grad.numpy(), want)


@pytest.mark.parametrize("equation, shapes", [
    ("ij->ji", [(4, 5)]), ("ijk->kj", [(2, 3, 4)]), ("ij->", [(4, 5)]),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 6)]), ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("i,j->ij", [(4,), (5,)]), ("i,i->", [(4,), (4,)]), ("ij,jk", [(3, 4), (4, 5)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]), ("abc,cd->dba", [(2, 3, 4), (4, 5)]),
    ("ij,kl->ijkl", [(2, 3), (4, 5)]), ("ij,ij->ij", [(3, 4), (3, 4)]), ("ij,j->i", [(3, 4), (4,)]),
])
def test_einsum_by_matmul_matches_numpy_with_gradients(equation, shapes):
    """Two-operand (and one-operand) einsums run as sums, permutes and a batched matmul;
    values and gradients against NumPy's einsum in float64."""
    rng = np.random.default_rng(len(equation))
    arrays = [rng.standard_normal(s) for s in shapes]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = torch.einsum(equation, *ts)
    want = np.einsum(equation, *arrays)
    np.testing.assert_allclose(y.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(want.shape)
    y.backward(torch.tensor(g))
    lhs, _, rhs = equation.partition("->")
    subs = lhs.split(",")
    rhs = rhs if "->" in equation else "".join(sorted(c for c in set(lhs) if c.isalpha() and lhs.count(c) == 1))
    for k, (t, sub) in enumerate(zip(ts, subs)):
        others = [a for j, a in enumerate(arrays) if j != k]
        other_subs = [s for j, s in enumerate(subs) if j != k]
        # (a ones operand of sub's shape broadcasts g over labels only this one has)
        grad = np.einsum(",".join([rhs] + other_subs + [sub]) + "->" + sub, g, *others, np.ones(t.shape))
        np.testing.assert_allclose(t.grad.numpy(), grad, rtol=1e-12, atol=1e-12)


def test_einsum_of_a_permutation_is_a_view():
    x = torch.randn(6, 7)
    y = torch.einsum("ij->ji", x)
    assert y.data_ptr() == x.data_ptr() and tuple(y.shape) == (7, 6)


@pytest.mark.parametrize("shape, perm", [((300, 70), (1, 0)), ((5, 40, 33), (0, 2, 1)), ((6, 64, 48), (2, 0, 1)),
                                         ((70, 300), (1, 0))])
def test_elementwise_ops_on_transposed_views_run_in_tiles_with_the_same_bits(shape, perm):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(tuple(shape[p] for p in perm)).astype(np.float32)
    view = torch.tensor(a).permute(*perm)
    dense = torch.tensor(np.ascontiguousarray(a.transpose(perm)))
    for f in (lambda t: t.exp(), lambda t: t.abs(), lambda t: torch.tanh(t), lambda t: t * torch.tensor(b),
              lambda t: torch.tensor(b) - t, lambda t: torch.where(t > 0, t, torch.tensor(b))):
        assert np.array_equal(f(view).numpy(), f(dense).numpy())


def test_in_place_op_between_views_of_one_numpy_array_is_computed_out_of_place():
    """Two tensors over overlapping views of one NumPy array have different storages;
    writing the result straight into one would overwrite values the other still has to
    read, so the result is computed first, as if from the old values."""
    base = np.arange(20, dtype=np.float64)
    a = torch.from_numpy(base[1:])
    b = torch.from_numpy(base[:-1])
    a.add_(b)
    assert np.array_equal(base[1:], np.arange(1, 20) + np.arange(0, 19))


def _softmax64(x, dim, log):
    m = np.max(x, axis=dim, keepdims=True)
    z = x - m
    ls = np.log(np.sum(np.exp(z), axis=dim, keepdims=True))
    return z - ls if log else np.exp(z - ls)


# inner (the product of the dims after `dim`) 1, 3, 17 (a partial vector), 256 + 5 (two
# lane blocks, the second partial) and a large power of two (classes 64 KiB apart)
SOFTMAX_CASES = [((33, 40), 1), ((5, 40, 3), 1), ((4, 20, 17), 1), ((2, 9, 261), 1), ((6, 16384), 0)]


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
def test_softmax_over_any_dim_matches_float64_reference_and_thread_counts(shape, dim, log):
    rng = np.random.default_rng(len(shape) * 100 + dim)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    fn = torch.nn.functional.log_softmax if log else torch.nn.functional.softmax
    results = []
    for threads in (1, 2):
        old = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            xt = torch.tensor(x, requires_grad=True)
            y = fn(xt, dim)
            y.backward(torch.tensor(g))
            results.append((y.detach().numpy(), xt.grad.numpy()))
        finally:
            torch.set_num_threads(old)
    assert all(np.array_equal(a, b) for a, b in zip(*results))  # the same bits on 1 and 2
    y64 = _softmax64(x.astype(np.float64), dim, log)
    p64 = np.exp(y64) if log else y64
    gs = np.sum(g if log else g * y64, axis=dim, keepdims=True)
    gx64 = g - p64 * gs if log else y64 * (g - gs)
    y, gx = results[0]
    np.testing.assert_allclose(y, y64, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(gx, gx64, rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("log", [False, True])
def test_softmax_lanes_with_infinities_and_nans_follow_the_row_rules(log):
    x = np.random.default_rng(3).standard_normal((3, 7, 20)).astype(np.float32)
    x[0, 2, 4] = np.nan        # a NaN class: that position's outputs are all NaN
    x[1, :, 5] = -np.inf       # all -inf: NaN (-inf - -inf), as PyTorch
    x[2, 3, 6] = np.inf        # one +inf: NaN (inf - inf), as PyTorch
    fn = torch.nn.functional.log_softmax if log else torch.nn.functional.softmax
    got = fn(torch.tensor(x), 1).numpy()
    ref = fn(torch.tensor(np.ascontiguousarray(np.moveaxis(x, 1, 2))), 2).numpy()
    assert np.array_equal(got, np.moveaxis(ref, 2, 1), equal_nan=True)
    finite = np.broadcast_to(np.isfinite(x).all(axis=1)[:, None, :], x.shape)
    assert np.isnan(got[~finite]).all() and np.isfinite(got[finite]).all()


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2}, {"reduction": "none"}])
def test_segmentation_cross_entropy_lanes_match_the_transposed_rows(kw):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 5, 37)).astype(np.float32)
    t = rng.integers(0, 6, (3, 5, 37))
    t[0, 0, :4] = -100
    a = torch.tensor(x, requires_grad=True)
    la = torch.nn.functional.cross_entropy(a, torch.tensor(t), **kw)
    la.sum().backward()
    rows = np.ascontiguousarray(np.moveaxis(x, 1, 3).reshape(-1, 6))
    b = torch.tensor(rows, requires_grad=True)
    lb = torch.nn.functional.cross_entropy(b, torch.tensor(t.reshape(-1)), **kw)
    lb.sum().backward()
    np.testing.assert_allclose(la.detach().numpy().reshape(-1), lb.detach().numpy().reshape(-1),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.moveaxis(a.grad.numpy(), 1, 3).reshape(-1, 6), b.grad.numpy(),
                               rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("shape,perm,dims", [
    ((64, 48), (1, 0), (1,)), ((64, 48), (1, 0), (0,)), ((4, 5, 6), (2, 0, 1), (0,)),
    ((4, 5, 6), (2, 0, 1), (1, 2)), ((4, 5, 6), (1, 0, 2), (0, 1)), ((4, 5, 6), (0, 2, 1), (2,)),
    ((3, 1, 5), (2, 1, 0), (2,)), ((7, 8, 9), (2, 1, 0), (0, 2))])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean_of_permuted_views_match_numpy(shape, perm, dims, keepdim):
    """Permuted views are summed where they lie when their layout allows (memory_block)."""
    x = np.random.default_rng(len(dims)).standard_normal(shape)
    v = torch.tensor(x).permute(*perm)
    ref = np.transpose(x, perm)
    np.testing.assert_allclose(v.sum(dims, keepdim=keepdim).numpy(), ref.sum(axis=dims, keepdims=keepdim),
                               rtol=1e-13)
    np.testing.assert_allclose(v.mean(dims, keepdim=keepdim).numpy(), ref.mean(axis=dims, keepdims=keepdim),
                               rtol=1e-13)
    xt = torch.tensor(x, requires_grad=True)
    xt.permute(*perm).sum(dims).sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy(), np.ones(shape))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape,dim", [((9, 1100), 0), ((3, 7, 530), 1), ((5, 3, 4), 0)])
def test_max_min_over_columns_match_numpy_first_index_and_nan(dtype, shape, dim):
    """Column kernels (more than one task of 512 columns): values, first index of ties,
    NaN winning."""
    rng = np.random.default_rng(7)
    x = rng.integers(-3, 4, shape).astype(dtype)  # many ties
    if dtype != np.int64:
        x.flat[::41] = np.nan
    for op, npf, argf in (("max", np.max, np.argmax), ("min", np.min, np.argmin)):
        values, indices = getattr(torch.tensor(x), op)(dim)
        # NumPy's argmax/argmin also take the first of ties and the first NaN
        np.testing.assert_array_equal(indices.numpy(), argf(x, axis=dim))
        np.testing.assert_array_equal(values.numpy(), npf(x, axis=dim))
        np.testing.assert_array_equal(getattr(torch.tensor(x), "a" + op)(dim).numpy(), npf(x, axis=dim))


def test_float32_row_sums_are_the_correctly_rounded_sum_at_every_length():
    """float32 rows sum in double (8 lanes under 64 elements, 32 from 64 on, each with
    its tails): the result is the exact sum rounded once to float32, for any thread
    count."""
    import math
    rng = np.random.default_rng(12)
    before = torch.get_num_threads()
    try:
        for r in (1, 7, 8, 9, 63, 64, 65, 71, 95, 96, 100, 1000, 1031, 100_003):
            x = (rng.standard_normal((3, r)) * rng.uniform(0.1, 1e4, (3, 1))).astype(np.float32)
            want = np.array([math.fsum(row.astype(np.float64)) for row in x], dtype=np.float32)
            for threads in (1, 2):
                torch.set_num_threads(threads)
                assert np.array_equal(torch.tensor(x).sum(1).numpy(), want), (r, threads)
                assert torch.tensor(x[0]).sum().item() == float(want[0]), (r, threads)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_max_min_along_rows_of_every_length_match_numpy_first_index_and_nan(dtype):
    """Row kernel: short rows (one scalar pass), the 16- and 64-lane passes and their
    tails; ties go to the first index, the first NaN wins wherever it lies, and -0.0 and
    0.0 tie."""
    rng = np.random.default_rng(11)
    for r in (1, 2, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200, 1000):
        x = rng.integers(-3, 4, (12, r)).astype(dtype)  # many ties
        if dtype in (np.float32, np.float64):
            x[1] = 0.0
            x[1, r // 3] = -0.0
            x[2, r - 1] = np.nan          # NaN in the scalar tail
            x[3, r // 2] = np.nan         # in the lanes
            x[3, -1] = np.nan             # and a later one
            x[4, :] = np.nan
            x[5, r // 2:] = np.inf
        for op, argf in (("max", np.argmax), ("min", np.argmin)):
            values, indices = getattr(torch.tensor(x), op)(1)
            np.testing.assert_array_equal(indices.numpy(), argf(x, axis=1), err_msg=f"{op} r={r}")
            want = np.take_along_axis(x, argf(x, axis=1)[:, None], 1)[:, 0]
            assert np.array_equal(values.numpy().view(np.uint8), want.view(np.uint8)), (op, r)
            if dtype != np.bool_:  # argmax / argmin refuse bool, as PyTorch's do
                flat = x[3]
                assert getattr(torch.tensor(flat), "arg" + op)().item() == argf(flat)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_index_select_and_flip_along_the_last_dim_gather_elements(dtype):
    x = _values(np.random.default_rng(9), dtype, 6 * 37).reshape(6, 37)
    idx = np.array([36, 0, -1, 5, 5, -37])
    got = torch.tensor(x).index_select(1, torch.tensor(idx)).numpy()
    want = np.ascontiguousarray(x[:, idx])
    assert got.dtype == want.dtype and np.array_equal(got.view(np.uint8), want.view(np.uint8))
    assert np.array_equal(torch.tensor(x).flip(1).numpy().view(np.uint8), np.ascontiguousarray(x[:, ::-1]).view(np.uint8))


@pytest.mark.parametrize("shifts,dims", [(0, 1), (37, 1), (-40, 1), ((2, -3), (0, 1)), (11, None)])
def test_roll_by_block_copies_matches_numpy_with_gradient(shifts, dims):
    x = np.random.default_rng(4).standard_normal((5, 37))
    xt = torch.tensor(x, requires_grad=True)
    y = xt.roll(shifts, dims)
    np.testing.assert_array_equal(y.detach().numpy(), np.roll(x, shifts, dims))
    assert y is not xt
    g = np.random.default_rng(5).standard_normal(x.shape)
    y.backward(torch.tensor(g))
    back = tuple(-s for s in shifts) if isinstance(shifts, tuple) else -shifts
    np.testing.assert_array_equal(xt.grad.numpy(), np.roll(g, back, dims))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("shape,dim", [((1000,), 0), ((37, 513), 1), ((37, 513), 0), ((4, 5, 600), 1),
                                       ((11, 3), -1), ((), 0), ((0, 4), 1)])
def test_cumsum_rows_and_columns_equal_a_sequential_double_scan(dtype, shape, dim):
    """Each output is the double running sum rounded once (PyTorch's CPU kernel): rows
    scanned eight at a time and columns scanned as vectors give those bits, and the
    gradient is the reversed running sum."""
    rng = np.random.default_rng(11)
    if dtype == np.bool_:
        x = rng.random(shape) < 0.5
    elif dtype == np.int64:
        x = rng.integers(-1000, 1000, shape)
    else:
        x = (rng.standard_normal(shape) * 100).astype(dtype)
    acc = np.float64 if dtype in (np.float32, np.float64) else np.int64
    out_dtype = dtype if dtype in (np.float32, np.float64) else np.int64
    want = np.cumsum(x.astype(acc), axis=dim if x.ndim else None).reshape(x.shape).astype(out_dtype)
    xt = torch.tensor(x, requires_grad=dtype in (np.float32, np.float64))
    y = xt.cumsum(dim)
    got = y.detach().numpy()
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
    if xt.requires_grad and x.size:
        g = rng.standard_normal(shape).astype(dtype)
        y.backward(torch.tensor(g))
        d = dim if x.ndim else None
        rev = np.flip(np.cumsum(np.flip(g.astype(np.float64), d), axis=d), d) if x.ndim else g
        assert np.array_equal(xt.grad.numpy(), np.asarray(rev).astype(dtype))


@pytest.mark.parametrize("shape,dim", [((1000,), None), ((37, 70), 1), ((37, 70), 0), ((3, 5, 600), 1),
                                       ((2, 3), None), ((), None), ((), 0), ((0, 4), 1), ((4, 0), 1),
                                       ((70000,), 0)])
def test_prod_in_double_matches_numpy_and_its_gradient(shape, dim):
    rng = np.random.default_rng(12)
    x = (1 + 0.01 * rng.standard_normal(shape)).astype(np.float32)
    want = np.prod(x.astype(np.float64), axis=dim).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    y = xt.prod() if dim is None else xt.prod(dim)
    got = y.detach().numpy()
    assert got.shape == want.shape and got.dtype == np.float32
    # rounded once from double: within one ulp of NumPy's double product, whatever the order
    assert np.all(np.abs(got.astype(np.float64) - want) <= np.spacing(np.abs(want)))
    if x.size and x.size < 10000:
        y.sum().backward()
        others = np.prod(x.astype(np.float64), axis=dim, keepdims=True) / x.astype(np.float64)
        np.testing.assert_allclose(xt.grad.numpy(), others, rtol=1e-6)


def test_prod_of_int64_wraps_and_bools_count_as_int64():
    x = np.array([[2 ** 40, 2 ** 30, 3], [-5, 7, 1]], dtype=np.int64)
    assert np.array_equal(torch.tensor(x).prod(1).numpy(), np.prod(x, axis=1))  # 2**70 wraps
    b = torch.tensor(np.array([[True, False], [True, True]]))
    assert b.prod(1).dtype == torch.int64 and b.prod(1).tolist() == [0, 1]


def test_prod_gradient_with_zeros_is_the_product_of_the_others():
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 0.0, 5.0, 1.0], [1.5, 2.0, 3.0, 0.5]])
    xt = torch.tensor(x, requires_grad=True)
    xt.prod(1).sum().backward()
    want = np.array([[0.0, 24.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 2.25, 1.5, 9.0]])
    np.testing.assert_array_equal(xt.grad.numpy(), want)


@pytest.mark.parametrize("dtype", [np.bool_, np.float32, np.int64])
@pytest.mark.parametrize("shape", [(4, 3), (3, 0), (0, 3), (0,)])
def test_any_all_count_nonzero_match_numpy_including_empty_dims(dtype, shape):
    x = (np.random.default_rng(13).integers(0, 3, shape) * (np.arange(shape[-1]) % 2 if shape[-1] else 1)).astype(dtype)
    t = torch.tensor(x)
    assert t.any().item() == x.any() and t.all().item() == x.all()
    assert t.count_nonzero().item() == np.count_nonzero(x)
    for d in range(x.ndim):
        for keep in (False, True):
            assert np.array_equal(t.any(d, keepdim=keep).numpy(), x.any(axis=d, keepdims=keep))
            assert np.array_equal(t.all(d, keepdim=keep).numpy(), x.all(axis=d, keepdims=keep))
        assert np.array_equal(t.count_nonzero(d).numpy(), np.count_nonzero(x, axis=d))


def test_unbind_gives_views_with_gradients_and_refuses_0_dim():
    x = torch.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    parts = x.unbind(1)
    assert len(parts) == 4 and all(tuple(p.shape) == (3,) for p in parts)
    assert np.array_equal(parts[2].detach().numpy(), [2.0, 6.0, 10.0])
    sum(p.sum() * k for k, p in enumerate(parts)).backward()
    assert np.array_equal(x.grad.numpy(), np.tile(np.arange(4.0), (3, 1)))
    with pytest.raises(IndexError, match="unbind"):
        torch.tensor(1.0).unbind(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("dims", [(0, 2, 3), (0, 2), (1, 3), (0, 3), (0, 1, 3)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_and_mean_over_dims_that_are_not_one_block(dtype, dims, keepdim):
    """Such reductions run in stages (the last block of reduced dims first, in double)."""
    rng = np.random.default_rng(len(dims))
    shape = (3, 4, 1, 6) if dims == (0, 1, 3) else (3, 4, 5, 6)
    x = rng.random(shape) < 0.5 if dtype == np.bool_ else (rng.standard_normal(shape) * 10).astype(dtype)
    wide = x.astype(np.float64 if dtype in (np.float32, np.float64) else np.int64)
    got = torch.tensor(x).sum(dims, keepdim=keepdim).numpy()
    want = wide.sum(axis=dims, keepdims=keepdim)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-13)
    if dtype in (np.float32, np.float64):
        np.testing.assert_allclose(torch.tensor(x).mean(dims, keepdim=keepdim).numpy(),
                                   wide.mean(axis=dims, keepdims=keepdim), rtol=1e-6 if dtype == np.float32 else 1e-13)
        xt = torch.tensor(x, requires_grad=True)
        xt.mean(dims).sum().backward()
        np.testing.assert_allclose(xt.grad.numpy(), np.full(shape, 1.0 / np.prod([shape[d] for d in dims])))


@pytest.mark.parametrize("shape,dim", [((8, 40), 1), ((40, 8), 0), ((16, 5), 1), ((3, 20, 17), 1)])
def test_softmax_rows_with_minus_infinity_entries_stay_on_the_vector_path(shape, dim):
    """-inf entries under a finite maximum (an attention mask) give exact zeros and the
    float64 reference elsewhere; a row of -inf alone gives NaN, as PyTorch."""
    rng = np.random.default_rng(14)
    x = rng.standard_normal(shape).astype(np.float32)
    mask = rng.random(shape) < 0.4
    x[mask] = -np.inf
    first = [0] * len(shape)
    first[dim] = slice(None)
    x[tuple(first)] = -np.inf  # one line all -inf
    got = torch.nn.functional.softmax(torch.tensor(x), dim).numpy()
    lgot = torch.nn.functional.log_softmax(torch.tensor(x), dim).numpy()
    all_masked = np.broadcast_to(np.isneginf(x).all(axis=dim, keepdims=True), x.shape)
    assert np.isnan(got[all_masked]).all() and np.isnan(lgot[all_masked]).all()
    live = ~all_masked
    with np.errstate(invalid="ignore"):
        ref = _softmax64(x.astype(np.float64), dim, False)
    assert np.array_equal(got[live & mask], np.zeros(np.count_nonzero(live & mask), np.float32))
    assert np.isneginf(lgot[live & mask]).all()
    np.testing.assert_allclose(got[live & ~mask], ref[live & ~mask], rtol=2e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape,dim", [((1000,), 0), ((37, 513), 1), ((37, 513), 0), ((4, 5, 600), 1), ((), 0)])
def test_cumprod_equals_a_sequential_double_product_with_gradient(dtype, shape, dim):
    """pa_cumprod: the running product in double (int64 wrapping), rounded at each step,
    rows eight at a time or columns as vectors; its gradient with a zero in a line."""
    rng = np.random.default_rng(15)
    if dtype == np.int64:
        x = rng.integers(-3, 4, shape)
    else:
        x = (1 + 0.01 * rng.standard_normal(shape)).astype(dtype)
        if x.ndim:
            x.flat[5] = 0.0
    acc = np.int64 if dtype == np.int64 else np.float64
    want = np.multiply.accumulate(x.astype(acc).reshape(x.shape if x.ndim else (1,)),
                                  axis=dim if x.ndim else 0).reshape(x.shape).astype(dtype)
    xt = torch.tensor(x, requires_grad=dtype != np.int64)
    y = xt.cumprod(dim)
    assert np.array_equal(y.detach().numpy(), want)
    if dtype != np.int64 and x.ndim:
        y.sum().backward()
        # d/dx_j sum_k prod_{i<=k} x_i = sum_{k>=j} prod_{i<=k, i != j} x_i, in float64
        x64 = np.moveaxis(x.astype(np.float64), dim, -1)
        n = x64.shape[-1]
        ref = np.zeros_like(x64)
        for j in range(n):
            others = x64.copy()
            others[..., j] = 1.0
            ref[..., j] = np.cumprod(others, axis=-1)[..., j:].sum(axis=-1)
        np.testing.assert_allclose(xt.grad.numpy(), np.moveaxis(ref, -1, dim).astype(dtype),
                                   rtol=1e-4 if dtype == np.float32 else 1e-10, atol=1e-5)
