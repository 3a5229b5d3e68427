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


def above_minus_one(shape):
    return np.random.uniform(-0.8, 2.0, shape)


def np_softmax(x, axis):
    return np.exp(np_log_softmax(x, axis))


def np_gelu_tanh(a):
    return 0.5 * a * (1 + np.tanh(np.sqrt(2 / np.pi) * (a + 0.044715 * a ** 3)))


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

# Argument modes beyond the basic ones above (all float64-gradchecked by the tests below).
MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, False]])
ROW_MASK = np.array([True, False, True])
COL_COND = np.array([[True, False, False, True]])
GATHER0 = np.array([[2, 0, 1, 1], [0, 0, 2, 1]])
GATHER3 = np.array([[[1, 0], [2, 2], [0, 1]], [[2, 1], [1, 1], [0, 0]]])
OPS += [
    # unary
    ("rsqrt", [((3, 2), pos)], lambda a: torch.rsqrt(a), lambda a: 1 / np.sqrt(a)),
    ("log1p", [((3, 2), above_minus_one)], lambda a: torch.log1p(a), np.log1p),
    ("expm1", [((3, 2), anyv)], lambda a: torch.expm1(a), np.expm1),
    ("gelu_tanh", [((6,), anyv)], lambda a: F.gelu(a, approximate="tanh"), np_gelu_tanh),
    ("erf", [((3, 4), anyv)], lambda a: torch.erf(a), lambda a: np.vectorize(__import__("math").erf)(a)),
    ("erfc", [((3, 4), anyv)], lambda a: a.erfc(), lambda a: np.vectorize(__import__("math").erfc)(a)),
    ("sin_wide", [((3, 4), lambda shape: np.random.uniform(-300.0, 300.0, shape))], lambda a: torch.sin(a), np.sin),
    ("cos_wide", [((3, 4), lambda shape: np.random.uniform(-300.0, 300.0, shape))], lambda a: a.cos(), np.cos),
    ("sign", [((3, 4), away_from_zero)], lambda a: torch.sign(a) * a, lambda a: np.sign(a) * a),
    ("sign_alone", [((3, 4), away_from_zero)], lambda a: torch.sign(a), np.sign),
    # pow
    ("pow_fractional", [((3, 2), pos)], lambda a: a ** 2.5, lambda a: a ** 2.5),
    ("pow_negative", [((3, 2), pos)], lambda a: a ** -1.5, lambda a: a ** -1.5),
    ("pow_negative_int", [((3, 2), pos)], lambda a: torch.pow(a, -2), lambda a: a ** -2.0),
    ("pow_sqrt", [((4,), pos)], lambda a: a ** 0.5, np.sqrt),
    ("rpow_scalar", [((3, 2), anyv)], lambda a: 2.5 ** a, lambda a: 2.5 ** a),
    ("pow_scalar_base_fn", [((4,), anyv)], lambda a: torch.pow(0.7, a), lambda a: 0.7 ** a),
    ("pow_tensor_broadcast", [((3, 1), pos), ((4,), anyv)], lambda a, b: a ** b, lambda a, b: a ** b),
    # clamp with one bound
    ("clamp_min_only", [((4, 5), away_from_zero)], lambda a: a.clamp(min=-0.5), lambda a: np.maximum(a, -0.5)),
    ("clamp_max_only", [((4, 5), away_from_zero)], lambda a: torch.clamp(a, max=0.7), lambda a: np.minimum(a, 0.7)),
    # where / masked_fill
    ("where_scalar_other", [((3, 4), away_from_zero)], lambda a: torch.where(a > 0, a, 0.5),
     lambda a: np.where(a > 0, a, 0.5)),
    ("where_scalar_input", [((3, 4), away_from_zero)], lambda a: torch.where(a > 0, -1.5, a),
     lambda a: np.where(a > 0, -1.5, a)),
    ("where_broadcast_cond", [((3, 4), anyv), ((3, 1), anyv)],
     lambda a, b: torch.where(torch.tensor(COL_COND), a, b), lambda a, b: np.where(COL_COND, a, b)),
    ("where_broadcast_all", [((4,), anyv), ((3, 1), anyv)],
     lambda a, b: torch.where(torch.tensor(ROW_MASK).unsqueeze(1), a, b),
     lambda a, b: np.where(ROW_MASK[:, None], a, b)),
    ("masked_fill", [((3, 4), anyv)], lambda a: a.masked_fill(torch.tensor(MASK), 0.25),
     lambda a: np.where(MASK, 0.25, a)),
    ("masked_fill_broadcast", [((3, 4), anyv)], lambda a: a.masked_fill(torch.tensor(COL_COND), -1.0),
     lambda a: np.where(COL_COND, -1.0, a)),
    # broadcasting, 0-d operands, alpha
    ("div_broadcast", [((3, 1), anyv), ((4,), pos)], lambda a, b: a / b, lambda a, b: a / b),
    ("div_broadcast_both", [((2, 1, 3), anyv), ((4, 1), pos)], lambda a, b: torch.div(a, b), lambda a, b: a / b),
    ("maximum_first_broadcast", [((4,), anyv), ((3, 4), anyv)], lambda a, b: torch.maximum(a, b), np.maximum),
    ("minimum_first_broadcast", [((3, 1), anyv), ((3, 4), anyv)], lambda a, b: torch.minimum(a, b), np.minimum),
    ("add_0d", [((3, 4), anyv), ((), anyv)], lambda a, b: a + b, lambda a, b: a + b),
    ("mul_0d_first", [((), anyv), ((3,), anyv)], lambda a, b: a * b, lambda a, b: a * b),
    ("div_0d_0d", [((), anyv), ((), pos)], lambda a, b: a / b, lambda a, b: a / b),
    ("sub_0d_unary", [((), pos)], lambda a: torch.sqrt(a) - a * 2, lambda a: np.sqrt(a) - a * 2),
    ("add_alpha", [((3, 4), anyv), ((3, 4), anyv)], lambda a, b: torch.add(a, b, alpha=2.5),
     lambda a, b: a + 2.5 * b),
    ("add_alpha_broadcast", [((3, 4), anyv), ((4,), anyv)], lambda a, b: a.add(b, alpha=-0.5),
     lambda a, b: a - 0.5 * b),
    ("sub_alpha", [((3, 4), anyv), ((3, 1), anyv)], lambda a, b: torch.sub(a, b, alpha=3),
     lambda a, b: a - 3 * b),
    ("sub_alpha_method", [((3, 4), anyv), ((3, 4), anyv)], lambda a, b: a.sub(b, alpha=0.25),
     lambda a, b: a - 0.25 * b),
    # reductions
    ("min_all", [((3, 5), anyv)], lambda a: a.min(), lambda a: a.min()),
    ("amax", [((3, 5), anyv)], lambda a: torch.amax(a, 1), lambda a: a.max(1)),
    ("amin_keepdim", [((3, 5), anyv)], lambda a: a.amin(0, keepdim=True), lambda a: a.min(0, keepdims=True)),
    ("amax_neg_dim_3d", [((2, 3, 4), anyv)], lambda a: a.amax(-2), lambda a: a.max(-2)),
    ("max_dim_keepdim", [((3, 5), anyv)], lambda a: a.max(1, keepdim=True).values, lambda a: a.max(1, keepdims=True)),
    ("max_dim0_3d", [((3, 2, 4), anyv)], lambda a: torch.max(a, 0)[0], lambda a: a.max(0)),
    ("min_dim", [((3, 5), anyv)], lambda a: a.min(-1).values, lambda a: a.min(-1)),
    ("mean_dims", [((3, 4, 2), anyv)], lambda a: a.mean((0, 2)), lambda a: a.mean((0, 2))),
    ("mean_dim_keepdim", [((3, 4), anyv)], lambda a: a.mean(1, keepdim=True), lambda a: a.mean(1, keepdims=True)),
    ("mean_dims_keepdim", [((2, 3, 4), anyv)], lambda a: torch.mean(a, (0, -1), keepdim=True),
     lambda a: a.mean((0, -1), keepdims=True)),
    ("sum_dtype", [((3, 4), anyv)], lambda a: a.sum(dtype=torch.float64), lambda a: a.astype(np.float64).sum()),
    ("sum_dim_dtype", [((3, 4), anyv)], lambda a: torch.sum(a, 1, dtype=torch.float64),
     lambda a: a.astype(np.float64).sum(1)),
    # casting, copies
    ("to_float64_view", [((3, 4), anyv)], lambda a: a.t().to(torch.float64) * 2,
     lambda a: a.T.astype(np.float64) * 2),
    ("double_slice", [((3, 4), anyv)], lambda a: a[1:, ::2].double(), lambda a: a[1:, ::2].astype(np.float64)),
    ("to_dtype_kwarg", [((5,), anyv)], lambda a: a.to(dtype=torch.float64) + a.to(torch.float64),
     lambda a: 2 * a.astype(np.float64)),
    ("clone", [((3, 4), anyv)], lambda a: a.clone() * a, lambda a: a * a),
    ("contiguous", [((3, 4), anyv)], lambda a: a.contiguous() + a.t().contiguous().t(), lambda a: 2 * a),
    ("contiguous_view", [((3, 4), anyv)], lambda a: a.t().contiguous().view(-1), lambda a: a.T.reshape(-1)),
    # indexing
    ("index_select_dim1", [((3, 5), anyv)], lambda a: a.index_select(1, torch.tensor([4, 0, 4, 2])),
     lambda a: a[:, [4, 0, 4, 2]]),
    ("index_select_neg_dim_3d", [((2, 3, 4), anyv)], lambda a: torch.index_select(a, -1, torch.tensor([1, 1, 3])),
     lambda a: a[..., [1, 1, 3]]),
    ("index_bool_mask", [((3, 4), anyv)], lambda a: a[torch.tensor(MASK)], lambda a: a[MASK]),
    ("index_bool_rows", [((3, 4), anyv)], lambda a: a[torch.tensor(ROW_MASK)], lambda a: a[ROW_MASK]),
    ("index_none", [((3, 4), anyv)], lambda a: a[None, :, 1], lambda a: a[None, :, 1]),
    ("index_none_middle", [((3, 4), anyv)], lambda a: a[:, None, 1:3], lambda a: a[:, None, 1:3]),
    ("index_ellipsis", [((2, 3, 4), anyv)], lambda a: a[..., 2], lambda a: a[..., 2]),
    ("index_ellipsis_mixed", [((2, 3, 4), anyv)], lambda a: a[1, ..., ::2], lambda a: a[1, ..., ::2]),
    # joining
    ("cat_dim1", [((2, 3), anyv), ((2, 2), anyv)], lambda a, b: torch.cat([a, b], 1),
     lambda a, b: np.concatenate([a, b], 1)),
    ("cat_three", [((2, 3), anyv), ((1, 3), anyv), ((3, 3), anyv)], lambda a, b, c: torch.cat([a, b, c]),
     lambda a, b, c: np.concatenate([a, b, c], 0)),
    ("cat_three_neg_dim", [((2, 1, 2), anyv), ((2, 3, 2), anyv), ((2, 2, 2), anyv)],
     lambda a, b, c: torch.cat([a, b, c], -2), lambda a, b, c: np.concatenate([a, b, c], -2)),
    ("stack_dim0", [((2, 3), anyv), ((2, 3), anyv)], lambda a, b: torch.stack([a, b], 0),
     lambda a, b: np.stack([a, b], 0)),
    ("stack_last", [((2, 3), anyv), ((2, 3), anyv), ((2, 3), anyv)], lambda a, b, c: torch.stack([a, b, c], -1),
     lambda a, b, c: np.stack([a, b, c], -1)),
    ("gather_dim0", [((3, 4), anyv)], lambda a: a.gather(0, torch.tensor(GATHER0)),
     lambda a: np.take_along_axis(a, GATHER0, 0)),
    ("gather_3d", [((2, 3, 4), anyv)], lambda a: torch.gather(a, 2, torch.tensor(GATHER3)),
     lambda a: np.take_along_axis(a, GATHER3, 2)),
    ("gather_3d_dim1", [((2, 3, 2), anyv)], lambda a: a.gather(1, torch.tensor(GATHER3[:, :2] % 3)),
     lambda a: np.take_along_axis(a, GATHER3[:, :2] % 3, 1)),
    # linear
    ("linear_1d", [((4,), anyv), ((3, 4), anyv), ((3,), anyv)], lambda x, w, b: F.linear(x, w, b),
     lambda x, w, b: w @ x + b),
    ("linear_1d_nobias", [((4,), anyv), ((3, 4), anyv)], lambda x, w: F.linear(x, w), lambda x, w: w @ x),
    ("linear_bias_3d", [((2, 5, 4), anyv), ((3, 4), anyv), ((3,), anyv)], lambda x, w, b: F.linear(x, w, b),
     lambda x, w, b: x @ w.T + b),
    # softmax / log_softmax on other dims
    ("softmax_dim0", [((3, 5), anyv)], lambda a: torch.softmax(a, 0), lambda a: np_softmax(a, 0)),
    ("softmax_3d_middle", [((2, 3, 4), anyv)], lambda a: F.softmax(a, dim=1), lambda a: np_softmax(a, 1)),
    ("softmax_3d_last", [((2, 3, 4), anyv)], lambda a: a.softmax(-1), lambda a: np_softmax(a, -1)),
    ("softmax_1d", [((5,), anyv)], lambda a: torch.softmax(a, 0), lambda a: np_softmax(a, 0)),
    ("log_softmax_dim0_2d", [((3, 5), anyv)], lambda a: F.log_softmax(a, dim=0), lambda a: np_log_softmax(a, 0)),
    ("log_softmax_3d_middle", [((2, 3, 4), anyv)], lambda a: a.log_softmax(1), lambda a: np_log_softmax(a, 1)),
    ("log_softmax_1d", [((5,), anyv)], lambda a: torch.log_softmax(a, -1), lambda a: np_log_softmax(a, -1)),
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


def test_cast_round_trip_gradient_matches_finite_differences():
    """ToCopyBackward in both directions (float64 -> float32 -> float64) gradchecked in
    float64: inputs on a coarse dyadic grid and a power-of-two step keep every perturbed
    value (and every float32 sum and halving below) exact in float32, so the casts lose
    nothing and the finite differences are exact."""
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.integers(-128, 128, (3, 4)) / 64.0, requires_grad=True)
    b = torch.tensor(rng.integers(-128, 128, (4,)) / 64.0, requires_grad=True)

    def fn(a, b):
        a32 = a.float()
        mixed = (a32 * 0.5 + a32.sum(0)).to(torch.float64) + a.t().float().t().double()
        return mixed * b.to(torch.float32).to(dtype=torch.float64)

    assert a.float().grad_fn.name() == "ToCopyBackward" and fn(a, b).dtype == torch.float64
    assert gradcheck(fn, [a, b], eps=2.0 ** -10, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("fn", [lambda a: np.float64(2.5) * a, lambda a: np.float64(0.5) - a,
                                lambda a: np.float32(2.0) * a.sum(), lambda a: a.sum() + np.float64(1.5) * a.sum()],
                         ids=["float64_mul", "float64_rsub", "float32_mul_0d", "float64_mul_0d_in_sum"])
def test_numpy_scalar_on_the_left_keeps_the_graph(fn):
    """`np.float64(c) * x` (e.g. `weights[i] * loss` with a NumPy array of weights) is a
    tensor in the graph, as in PyTorch: not a NumPy value that silently drops the gradient."""
    x = torch.tensor(anyv((3,)), requires_grad=True)
    assert isinstance(fn(x), torch.Tensor)
    assert gradcheck(fn, [x], eps=1e-6, atol=1e-6, rtol=1e-4)
