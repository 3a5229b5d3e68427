"""The functions of pyautodiff/_ops_extra.py (chunk ... cumsum): values against NumPy,
float64 gradients against finite differences, errors, and PyTorch when installed."""
import math

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((3, 4))


def t64(a, grad=False):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


# ---- values against NumPy -----------------------------------------------------------
VALUES = [
    ("chunk", lambda T, x: T.cat([c * (i + 1) for i, c in enumerate(x.chunk(3, 1))], 1),
     lambda a: np.concatenate([c * (i + 1) for i, c in enumerate(np.array_split(a, [2], 1))], 1)),
    ("split_sizes", lambda T, x: T.split(x, [1, 2], 0)[1], lambda a: a[1:3]),
    ("split_int", lambda T, x: x.split(3, 1)[1], lambda a: a[:, 3:]),
    ("unbind", lambda T, x: x.unbind(1)[2], lambda a: a[:, 2]),
    ("dot", lambda T, x: T.dot(x[0], x[1]), lambda a: a[0] @ a[1]),
    ("outer", lambda T, x: T.outer(x[0], x[1, :3]), lambda a: np.outer(a[0], a[1, :3])),
    ("bmm", lambda T, x: T.bmm(x.reshape(3, 1, 4), x.reshape(3, 4, 1)), lambda a: a[:, None, :] @ a[:, :, None]),
    ("addmm", lambda T, x: T.addmm(x[:, :3], x, x[:3].t(), beta=0.5, alpha=2.0),
     lambda a: 0.5 * a[:, :3] + 2.0 * (a @ a[:3].T)),
    ("tril", lambda T, x: x.tril(), lambda a: np.tril(a)),
    ("triu_1", lambda T, x: T.triu(x, 1), lambda a: np.triu(a, 1)),
    ("tril_m1", lambda T, x: T.tril(x, -1), lambda a: np.tril(a, -1)),
    ("flip", lambda T, x: x.flip(0, 1), lambda a: a[::-1, ::-1]),
    ("roll", lambda T, x: x.roll((1, -2), (0, 1)), lambda a: np.roll(a, (1, -2), (0, 1))),
    ("roll_flat", lambda T, x: T.roll(x, 5), lambda a: np.roll(a, 5)),
    ("floor", lambda T, x: (x * 3).floor(), lambda a: np.floor(a * 3)),
    ("ceil", lambda T, x: (x * 3).ceil(), lambda a: np.ceil(a * 3)),
    ("round", lambda T, x: (x * 3).round(), lambda a: np.round(a * 3)),
    ("round_half_even", lambda T, x: T.round(T.tensor([0.5, 1.5, 2.5, -0.5], dtype=T.float64)),
     lambda a: np.array([0.0, 2.0, 2.0, -0.0])),
    ("round_decimals", lambda T, x: T.round(x, decimals=2), lambda a: np.round(a, 2)),
    ("trunc", lambda T, x: (x * 3).trunc(), lambda a: np.trunc(a * 3)),
    ("frac", lambda T, x: (x * 3).frac(), lambda a: a * 3 - np.trunc(a * 3)),
    ("floordiv", lambda T, x: x * 5 // 2, lambda a: np.floor_divide(a * 5, 2)),
    ("remainder", lambda T, x: x * 5 % -2, lambda a: np.mod(a * 5, -2)),
    ("rmod", lambda T, x: 7 % (x + 3), lambda a: np.mod(7, a + 3)),
    ("fmod", lambda T, x: T.fmod(x * 5, 2), lambda a: np.fmod(a * 5, 2)),
    ("sort", lambda T, x: x.sort(1)[0], lambda a: np.sort(a, 1)),
    ("sort_desc_idx", lambda T, x: x.sort(0, descending=True)[1], lambda a: np.argsort(-a, 0, kind="stable")),
    ("argsort", lambda T, x: x.argsort(1), lambda a: np.argsort(a, 1, kind="stable")),
    ("topk", lambda T, x: x.topk(2)[0], lambda a: -np.sort(-a, 1)[:, :2]),
    ("topk_smallest_idx", lambda T, x: x.topk(2, dim=0, largest=False)[1], lambda a: np.argsort(a, 0)[:2]),
    ("lerp", lambda T, x: T.lerp(x[0], x[1], 0.3), lambda a: a[0] + 0.3 * (a[1] - a[0])),
    ("lerp_tensor", lambda T, x: x[0].lerp(x[1], x[2]), lambda a: a[0] + a[2] * (a[1] - a[0])),
    ("norm", lambda T, x: x.norm(), lambda a: np.linalg.norm(a)),
    ("norm_dim", lambda T, x: x.norm(dim=1), lambda a: np.linalg.norm(a, axis=1)),
    ("norm_1", lambda T, x: T.norm(x, p=1, dim=0, keepdim=True), lambda a: np.abs(a).sum(0, keepdims=True)),
    ("norm_inf", lambda T, x: x.norm(math.inf), lambda a: np.abs(a).max()),
    ("norm_3", lambda T, x: x.norm(3, dim=(0, 1)), lambda a: (np.abs(a) ** 3).sum() ** (1 / 3)),
    ("cumsum", lambda T, x: x.cumsum(1), lambda a: np.cumsum(a, 1)),
    ("repeat", lambda T, x: x.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3))),
    ("isnan", lambda T, x: T.isnan(x / (x > 0) * 0), lambda a: np.isnan(a / (a > 0) * 0)),
    ("isinf", lambda T, x: (x / (x > 0)).isinf(), lambda a: np.isinf(a / (a > 0))),
    ("isfinite", lambda T, x: T.isfinite(x / (x > 0)), lambda a: np.isfinite(a / (a > 0))),
    ("isclose", lambda T, x: T.isclose(x, x + 1e-9 * (x > 0)), lambda a: np.isclose(a, a + 1e-9 * (a > 0))),
    ("any", lambda T, x: (x > 1).any(1), lambda a: (a > 1).any(1)),
    ("all", lambda T, x: T.all(x > -1, 0, keepdim=True), lambda a: (a > -1).all(0, keepdims=True)),
    ("nonzero", lambda T, x: (x > 0.5).nonzero(), lambda a: np.argwhere(a > 0.5)),
]


@pytest.mark.parametrize("name,fn,ref", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_numpy(name, fn, ref):
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.asarray(ref(A))
        got = fn(torch, t64(A))
    got = got.numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,fn,ref", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_pytorch(name, fn, ref, pt):
    with np.errstate(divide="ignore", invalid="ignore"):
        ours, theirs = fn(torch, t64(A)), fn(pt, pt.tensor(A))
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64),
                               rtol=1e-12, atol=1e-14)


# ---- gradients ----------------------------------------------------------------------
GRADS = [
    ("chunk_split_unbind", lambda x: x.chunk(2, 1)[1].sum(1) * 3 + x.split([2, 1], 0)[0].sum(0)[:3] + x.unbind(0)[2][:3]),
    ("dot_outer", lambda x: torch.outer(x[0], x[1]) * torch.dot(x[1], x[2])),
    ("bmm_addmm", lambda x: torch.bmm(x.reshape(3, 2, 2), x.reshape(3, 2, 2)).sum(0) + torch.addmm(x[:2, :2], x[:2], x[1:3].t(), beta=0.5, alpha=2)[:, :2]),
    ("tril_triu", lambda x: x.tril(1) * 2 + torch.triu(x, -1)),
    ("flip_roll", lambda x: x.flip(1) * torch.roll(x, (1, 2), (0, 1))),
    ("frac", lambda x: (x * 3).frac()),
    ("remainder", lambda x: (x * 5 % 2) * x + torch.fmod(x * 3, x[0] + 3)),
    ("sort_topk", lambda x: x.sort(1, descending=True)[0] * torch.arange(4.0, dtype=torch.float64) + x.topk(2, 0)[0].sum()),
    ("lerp", lambda x: torch.lerp(x[0], x[1], x[2]) + x[0].lerp(x[2], 0.75)),
    ("norm", lambda x: torch.stack([x.norm(), x.norm(dim=1).sum(), x.norm(1), x.norm(3, dim=0).sum(), x.norm(math.inf)])),
    ("cumsum", lambda x: x.cumsum(1) * torch.arange(4.0, dtype=torch.float64) + torch.cumsum(x, 0)),
    ("repeat", lambda x: x.repeat(2, 3) * torch.arange(12.0, dtype=torch.float64)),
]


@pytest.mark.parametrize("name,fn", GRADS, ids=[g[0] for g in GRADS])
def test_gradients_match_finite_differences(name, fn):
    assert gradcheck(fn, (t64(A, grad=True),), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_remainder_gradient_with_respect_to_the_divisor():
    b = t64(np.abs(B) + 0.5, grad=True)
    assert gradcheck(lambda b: t64(A * 4) % b + torch.fmod(t64(A * 4), b), (b,), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_piecewise_constant_results_have_a_zero_gradient():
    x = t64(A, grad=True)
    for y in (x.floor(), x.ceil(), x.round(), x.trunc(), torch.round(x, decimals=1), x // 0.5):
        assert y.requires_grad
        y.sum().backward()
        assert x.grad.abs().sum().item() == 0
    assert not t64(A).floor().requires_grad


def test_norm_gradient_at_a_zero_vector_is_zero():
    x = t64(np.zeros((2, 3)), grad=True)
    y = x.norm(dim=1).sum() + x.norm()
    y.backward()
    assert x.grad.tolist() == [[0.0] * 3] * 2


def test_float32_cumsum_accumulates_in_double():
    x = np.full(4097, 0.1, dtype=np.float32)
    x[0] = 1e8
    want = np.cumsum(x.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(torch.tensor(x).cumsum(0).numpy(), want)
    assert torch.arange(5).cumsum(0).tolist() == [0, 1, 3, 6, 10]


def test_integer_division_and_promotion():
    i = torch.arange(-5, 5)
    assert (i // 3).tolist() == [v // 3 for v in range(-5, 5)] and (i // 3).dtype == torch.int64
    assert (i % 3).tolist() == [v % 3 for v in range(-5, 5)]
    assert torch.fmod(i, 3).tolist() == [int(math.fmod(v, 3)) for v in range(-5, 5)]
    assert (i // 2.0).dtype == torch.float32 and (torch.ones(2) % torch.tensor(2, dtype=torch.float64)).dtype == torch.float32
    with pytest.raises(ZeroDivisionError, match="floor_divide: integer division by zero"):
        i // 0
    with pytest.raises(ZeroDivisionError, match="remainder: integer division by zero"):
        i % torch.zeros(10, dtype=torch.int64)


def test_sort_puts_nan_above_everything_and_keeps_ties_in_order():
    x = torch.tensor([2.0, float("nan"), -1.0, 2.0, float("inf")])
    assert x.sort()[1].tolist() == [2, 0, 3, 4, 1]
    assert x.sort(descending=True)[1].tolist() == [1, 4, 0, 3, 2]


def test_new_and_type_as():
    x = torch.ones(2, dtype=torch.float64)
    assert x.new_zeros(2, 3).dtype == torch.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones(2).tolist() == [1.0, 1.0] and x.new_full((2,), 3).tolist() == [3.0, 3.0]
    assert x.new_empty(4).shape == (4,) and x.new_tensor([1, 2]).dtype == torch.float64
    assert torch.arange(3).type_as(x).dtype == torch.float64
    assert torch.equal(x, x.clone()) and not torch.equal(x, x[:1]) and torch.allclose(x, x + 1e-9)


ERRORS = [
    ("chunk", lambda: torch.ones(3).chunk(0), ValueError, "chunk: expected chunks to be greater than 0"),
    ("split_sum", lambda: torch.ones(5).split([2, 2]), ValueError,
     r"split_with_sizes expects split_sizes to sum exactly to 5 .* split_sizes=\[2, 2\]"),
    ("unbind_dim", lambda: torch.ones(2, 3).unbind(2), IndexError, "unbind: dimension out of range"),
    ("dot_dims", lambda: torch.dot(torch.ones(2, 2), torch.ones(2)), RuntimeError, "dot: 1D tensors expected, but got 2D and 1D"),
    ("dot_size", lambda: torch.dot(torch.ones(2), torch.ones(3)), RuntimeError, "dot: inconsistent tensor size"),
    ("bmm_dims", lambda: torch.bmm(torch.ones(2, 2), torch.ones(2, 2)), RuntimeError, "bmm: batch1 and batch2 must be 3D"),
    ("tril_1d", lambda: torch.ones(3).tril(), RuntimeError, "tril: input tensor must have at least 2 dimensions"),
    ("flip_dup", lambda: torch.ones(2, 2).flip(0, 0), RuntimeError, "flip: dims has duplicates"),
    ("roll_align", lambda: torch.ones(2, 2).roll((1, 1), 0), RuntimeError, "roll: shifts and dimensions must align"),
    ("topk_k", lambda: torch.ones(3).topk(4), RuntimeError, r"topk: selected index k out of range \(k = 4"),
    ("repeat_dims", lambda: torch.ones(2, 2).repeat(2), RuntimeError, "Number of dimensions of repeat dims"),
    ("norm_p", lambda: torch.ones(2).norm(-1), RuntimeError, "norm: p=-1 is not supported"),
    ("norm_int", lambda: torch.arange(3).norm(), RuntimeError, "norm: expected a floating point tensor"),
]


@pytest.mark.parametrize("name,call,exc,pattern", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_calls_raise_clear_errors(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


# ---- second batch -------------------------------------------------------------------
V = RNG.standard_normal(3)
IDX = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])

VALUES2 = [
    ("count_nonzero", lambda T, x: T.count_nonzero(x > 0, dim=1), lambda a: np.count_nonzero(a > 0, axis=1)),
    ("diag_vec", lambda T, x: T.diag(x[0], 1), lambda a: np.diag(a[0], 1)),
    ("diag_vec_neg", lambda T, x: T.diag(x[1], -2), lambda a: np.diag(a[1], -2)),
    ("diag_mat", lambda T, x: x.diag(-1), lambda a: np.diag(a, -1)),
    ("diagonal_3d", lambda T, x: x.reshape(3, 2, 2).diagonal(0, 1, 2), lambda a: np.diagonal(a.reshape(3, 2, 2), 0, 1, 2)),
    ("trace", lambda T, x: T.trace(x), lambda a: np.trace(a)),
    ("meshgrid_xy", lambda T, x: T.meshgrid(x[:, 0], x[0], indexing="xy")[0], lambda a: np.meshgrid(a[:, 0], a[0])[0]),
    ("meshgrid_ij", lambda T, x: T.meshgrid(x[:, 0], x[0], indexing="ij")[1], lambda a: np.meshgrid(a[:, 0], a[0], indexing="ij")[1]),
    ("std_mean", lambda T, x: T.std_mean(x, dim=1)[0], lambda a: a.std(1, ddof=1)),
    ("var_mean", lambda T, x: T.var_mean(x, dim=0)[1], lambda a: a.mean(0)),
    ("unique", lambda T, x: T.unique((x * 2).floor()), lambda a: np.unique(np.floor(a * 2))),
    ("bincount", lambda T, x: T.bincount(T.tensor(IDX.reshape(-1)), minlength=5), lambda a: np.bincount(IDX.reshape(-1), minlength=5)),
    ("median", lambda T, x: x.median(), lambda a: np.sort(a.reshape(-1))[(a.size - 1) // 2]),
    ("median_dim", lambda T, x: x.median(1)[0], lambda a: np.sort(a, 1)[:, 1]),
    ("prod", lambda T, x: x.prod(1), lambda a: np.prod(a, 1)),
    ("einsum", lambda T, x: T.einsum("ij,kj->ik", x, x), lambda a: a @ a.T),
    ("einsum_implicit", lambda T, x: T.einsum("ij,jk", x[:, :3], x[:, :3]), lambda a: a[:, :3] @ a[:, :3]),
    ("einsum_batch", lambda T, x: T.einsum("bij,bjk->bik", x.reshape(3, 2, 2), x.reshape(3, 2, 2)),
     lambda a: a.reshape(3, 2, 2) @ a.reshape(3, 2, 2)),
    ("scatter", lambda T, x: T.zeros(3, 4, dtype=T.float64).scatter(0, T.tensor(IDX[:, :3]), x[:2, :3]),
     lambda a: _np_scatter(np.zeros((3, 4)), IDX[:, :3], a[:2, :3])),
    ("scatter_add", lambda T, x: x.scatter_add(0, T.tensor(IDX), x[:2]), lambda a: _np_scatter_add(a.copy(), IDX, a[:2])),
    ("index_add", lambda T, x: x.index_add(0, T.tensor([2, 0, 2]), x, alpha=2), lambda a: _np_index_add(a, [2, 0, 2], a, 2)),
    ("div_trunc", lambda T, x: T.div(x * 3, 2, rounding_mode="trunc"), lambda a: np.trunc(a * 3 / 2)),
    ("div_floor", lambda T, x: x.div(0.3, rounding_mode="floor"), lambda a: np.floor_divide(a, 0.3)),
    ("cdist", lambda T, x: T.cdist(x, x[:2] + 1), lambda a: np.sqrt(((a[:, None] - a[None, :2] - 1) ** 2).sum(-1))),
]


def _np_scatter(out, idx, src):
    out = out.copy()
    for i, j in np.ndindex(idx.shape):
        out[idx[i, j], j] = src[i, j]
    return out


def _np_scatter_add(out, idx, src):
    for i, j in np.ndindex(idx.shape):
        out[idx[i, j], j] += src[i, j]
    return out


def _np_index_add(a, idx, src, alpha):
    out = a.copy()
    for k, i in enumerate(idx):
        out[i] += alpha * src[k]
    return out


@pytest.mark.parametrize("name,fn,ref", VALUES2, ids=[v[0] for v in VALUES2])
def test_second_batch_values_match_numpy(name, fn, ref):
    got, want = fn(torch, t64(A)), np.asarray(ref(A))
    assert tuple(got.shape) == want.shape
    np.testing.assert_allclose(got.numpy().astype(np.float64), want.astype(np.float64), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,fn,ref", VALUES2, ids=[v[0] for v in VALUES2])
def test_second_batch_values_match_pytorch(name, fn, ref, pt):
    ours, theirs = fn(torch, t64(A)), fn(pt, pt.tensor(A))
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-12, atol=1e-14)


GRADS2 = [
    ("prod", lambda x: torch.stack([x.prod(1).sum(), x.prod(), torch.prod(x * (x > 0), 0).sum()])),
    ("einsum", lambda x: torch.einsum("ij,kj->ik", x, x[:2]) + torch.einsum("ij,k->ik", x[:2, :2], x[0, :2]).sum()),
    ("scatter", lambda x: x.scatter(0, torch.tensor(IDX[:, :3]), x[1:, :3] * 2) * torch.arange(4.0, dtype=torch.float64)),
    ("scatter_add", lambda x: x.scatter_add(0, torch.tensor(IDX), x[:2] * 3) ** 2),
    ("index_add", lambda x: x.index_add(0, torch.tensor([2, 0, 2]), x.tanh(), alpha=2) ** 2),
    ("median", lambda x: x.median(1)[0] * 3 + x.median()),
    ("diag_trace", lambda x: torch.diag(x).sum() + torch.diag(x[0], 1).pow(2) .sum() + x.trace() * 3),
    ("cdist", lambda x: torch.cdist(x, x[:2] + 1)),
    ("meshgrid_diagonal", lambda x: torch.meshgrid(x[:, 0], x[0], indexing="ij")[0] * x + x.reshape(3, 2, 2).diagonal(1, 1, 2).sum()),
]


@pytest.mark.parametrize("name,fn", GRADS2, ids=[g[0] for g in GRADS2])
def test_second_batch_gradients_match_finite_differences(name, fn):
    assert gradcheck(fn, (t64(A, grad=True),), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_inplace_scatter_and_index_add_are_recorded():
    x = t64(A, grad=True)
    h = x * 1.0
    h.index_add_(0, torch.tensor([1]), x[:1] * 2)
    h.scatter_add_(1, torch.tensor([[0], [0], [3]]), x[:, :1])
    h.scatter_(0, torch.tensor([[2, 2, 2, 2]]), 0.5)
    assert h.grad_fn is not None
    h.sum().backward()
    want = np.ones((3, 4))
    want[2] = 0.0
    want[0] += 2.0
    want[:2, 0] += 1.0  # row 2's scatter_add target was overwritten by scatter_
    np.testing.assert_array_equal(x.grad.numpy(), want)


def test_random_draws_are_seeded():
    torch.manual_seed(3)
    a = torch.normal(torch.zeros(1000), torch.full((1000,), 2.0))
    b = torch.bernoulli(torch.full((1000,), 0.25))
    torch.manual_seed(3)
    assert torch.equal(a, torch.normal(torch.zeros(1000), torch.full((1000,), 2.0)))
    assert abs(a.std().item() - 2.0) < 0.2 and abs(b.mean().item() - 0.25) < 0.05
    assert torch.normal(1.0, 0.5, size=(3, 2)).shape == (3, 2)
    assert set(b.unique().tolist()) <= {0.0, 1.0} and b.dtype == torch.float32


ERRORS2 = [
    ("diag_3d", lambda: torch.diag(torch.ones(2, 2, 2)), RuntimeError, "diag: matrix or a vector expected, got 3D"),
    ("trace_1d", lambda: torch.trace(torch.ones(3)), RuntimeError, "trace: expected a matrix"),
    ("meshgrid_indexing", lambda: torch.meshgrid(torch.ones(2), indexing="ji"), ValueError, "meshgrid: indexing must be"),
    ("bincount_neg", lambda: torch.bincount(torch.tensor([1, -1])), RuntimeError, "bincount only supports"),
    ("median_empty_int", lambda: torch.ones(0, dtype=torch.int64).median(), RuntimeError, "median.* cannot be empty"),
    ("scatter_negative", lambda: torch.zeros(3).scatter(0, torch.tensor([-1]), 1.0), IndexError,
     "scatter: index -1 is out of bounds for dimension 0 with size 3"),
    ("index_add_shape", lambda: torch.zeros(3, 2).index_add(0, torch.tensor([0]), torch.ones(1)), RuntimeError,
     "source tensor shape must match self tensor shape"),
    ("einsum_operands", lambda: torch.einsum("ij,jk->ik", torch.ones(2, 2)), ValueError, "fewer operands"),
    ("scatter_index_dtype", lambda: torch.zeros(2, 2).scatter(0, torch.tensor([[0.0]]), 1.0), RuntimeError,
     r"scatter\(\): Expected dtype int64 for index"),
    ("scatter_oob", lambda: torch.zeros(2, 2).scatter(0, torch.tensor([[5]]), 1.0), IndexError,
     "scatter: index 5 is out of bounds for dimension 0 with size 2"),
    ("index_add_count", lambda: torch.zeros(3, 2).index_add(0, torch.tensor([0, 1]), torch.ones(3, 2)), RuntimeError,
     r"Number of indices \(2\) should be equal to source.size\(dim\) \(3\)"),
    ("index_add_oob", lambda: torch.zeros(3, 2).index_add(0, torch.tensor([3]), torch.ones(1, 2)), IndexError,
     "index 3 is out of bounds for dimension 0 with size 3"),
    ("div_mode", lambda: torch.div(torch.ones(2), 2, rounding_mode="round"), ValueError, "div expected rounding_mode"),
    ("cdist_cols", lambda: torch.cdist(torch.ones(2, 3), torch.ones(2, 4)), RuntimeError, "same number of columns"),
    ("normal_std", lambda: torch.normal(torch.zeros(2), torch.tensor([1.0, -1.0])), RuntimeError, "std >= 0.0"),
    ("bernoulli_p", lambda: torch.bernoulli(torch.tensor([1.5])), RuntimeError, "between 0 and 1"),
]


@pytest.mark.parametrize("name,call,exc,pattern", ERRORS2, ids=[e[0] for e in ERRORS2])
def test_second_batch_bad_calls_raise_clear_errors(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_median_and_prod_edges():
    assert np.isnan(torch.ones(0).median().item())
    v, i = torch.tensor(2.0).median(0)
    assert v.item() == 2.0 and i.item() == 0
    x = torch.ones(2, 0, requires_grad=True)
    p = x.prod(1)
    assert p.tolist() == [1.0, 1.0]
    p.sum().backward()
    assert x.grad.shape == (2, 0)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
@pytest.mark.parametrize("sizes", [(30, 7), (5, 26), (4, 6)])
def test_cdist_compute_modes_match_pytorch_values_and_gradients(pt, mode, sizes):
    """p = 2 goes through the matrix product where PyTorch's does (P or R over 25, or
    asked for), with its clamp at 1e-30: coinciding points get a zero gradient."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, sizes[0], 3))
    b = rng.standard_normal((1, sizes[1], 3))
    b[0, 1] = a[1, 2]  # one zero distance
    results = []
    for lib_ in (torch, pt):
        x1 = lib_.tensor(a, requires_grad=True)
        x2 = lib_.tensor(b, requires_grad=True)
        d = lib_.cdist(x1, x2, compute_mode=mode)
        (d * lib_.tensor(np.arange(d.numel()).reshape(d.shape) % 7)).sum().backward()
        results.append((d.detach().numpy(), x1.grad.numpy(), x2.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-13)


def test_cdist_product_form_float32_and_argument_errors(pt):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((200, 64)).astype(np.float32)
    b = rng.standard_normal((300, 64)).astype(np.float32)
    got = torch.cdist(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    want = np.sqrt(((a[:, None].astype(np.float64) - b[None]) ** 2).sum(-1))
    np.testing.assert_allclose(got, want, rtol=2e-6)
    np.testing.assert_allclose(got, pt.cdist(pt.from_numpy(a), pt.from_numpy(b)).numpy(), rtol=1e-6)
    for mode in ("bogus", None):  # PyTorch's default is the string, and None is refused
        with pytest.raises(ValueError, match=f"{mode} is not a valid value for compute_mode"):
            torch.cdist(torch.ones(2, 3), torch.ones(2, 3), compute_mode=mode)
    with pytest.raises(RuntimeError, match="cdist only supports non-negative p values"):
        torch.cdist(torch.ones(2, 3), torch.ones(2, 3), p=-1.0)
