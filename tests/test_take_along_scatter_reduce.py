"""take_along_dim and scatter_reduce (pyautodiff/_ops_gather.py over csrc/ops/index.c)
against PyTorch: values (every reduction, include_self both ways, float32 / float64 /
int64 / bool, broadcasting, strided operands, 0-dim and empty tensors), gradients (float64
finite differences and PyTorch's, ties and zeros included), the in-place form, and each
error's exception type and message."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck

REDUCTIONS = ["sum", "prod", "mean", "amax", "amin"]


def _idx(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape)


def _run(lib, fn, arrays):
    return fn(lib, *[lib.tensor(a) for a in arrays])


def _same(pt, fn, *arrays, exact=False):
    """fn(library, *tensors) with pyautodiff and with PyTorch: same shape, dtype, values."""
    ours, theirs = _run(torch, fn, arrays), _run(pt, fn, arrays)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
    if exact or ours.dtype.name in ("int64", "bool"):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    else:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)
    return ours


# ---- take_along_dim: values -----------------------------------------------------------
X = np.random.default_rng(3).standard_normal((4, 5, 6))

TAKE = [
    ("dim2", lambda T, x: T.take_along_dim(x, T.tensor(_idx((4, 5, 3), 6)), dim=2)),
    ("dim0", lambda T, x: T.take_along_dim(x, T.tensor(_idx((7, 5, 6), 4)), dim=0)),
    ("dim_negative", lambda T, x: T.take_along_dim(x, T.tensor(_idx((4, 2, 6), 5)), dim=-2)),
    ("indices_broadcast", lambda T, x: T.take_along_dim(x, T.tensor(_idx((1, 5, 2), 6)), dim=2)),
    ("both_broadcast", lambda T, x: T.take_along_dim(x[:, :1], T.tensor(_idx((1, 5, 2), 6)), dim=2)),
    ("input_broadcast", lambda T, x: T.take_along_dim(x[:1], T.tensor(_idx((3, 5, 2), 6)), dim=2)),
    ("negative_wrap", lambda T, x: T.take_along_dim(x, T.tensor(-1 - _idx((4, 5, 3), 6)), dim=2)),
    ("out_of_range_wraps", lambda T, x: T.take_along_dim(x, T.tensor(_idx((4, 5, 9), 40) - 20), dim=2)),
    ("huge_wraps", lambda T, x: T.take_along_dim(x, T.tensor([[[2 ** 40, -2 ** 40 - 1]]]), dim=2)),
    ("dim_none", lambda T, x: T.take_along_dim(x, T.tensor(_idx((3, 7), 120)))),
    ("dim_none_kw", lambda T, x: T.take_along_dim(x, T.tensor(_idx((11,), 120)), dim=None)),
    ("transposed", lambda T, x: T.take_along_dim(x.transpose(0, 2), T.tensor(_idx((6, 5, 2), 4)), dim=2)),
    ("argmax_pattern", lambda T, x: T.take_along_dim(x, x.argmax(dim=1, keepdim=True), dim=1)),
    ("sort_pattern", lambda T, x: T.take_along_dim(x, x.argsort(dim=2), dim=2)),
    ("method", lambda T, x: x.take_along_dim(T.tensor(_idx((4, 5, 3), 6)), 2)),
    ("int64_input", lambda T, x: T.take_along_dim((x * 10).long(), T.tensor(_idx((4, 5, 3), 6)), dim=2)),
    ("bool_input", lambda T, x: T.take_along_dim(x > 0, T.tensor(_idx((4, 5, 3), 6)), dim=2)),
    ("broadcast_to_empty", lambda T, x: T.take_along_dim(x[:, :1], T.tensor(np.zeros((4, 0, 2), np.int64)), dim=2)),
    ("empty_indices", lambda T, x: T.take_along_dim(x, T.tensor(np.zeros((4, 5, 0), np.int64)), dim=2)),
    ("zero_dim_flat", lambda T, x: T.take_along_dim(x[0, 0, 0], T.tensor(0))),
]


@pytest.mark.parametrize("name,fn", TAKE, ids=[t[0] for t in TAKE])
def test_take_along_dim_values(name, fn, pt):
    _same(pt, fn, X, exact=True)


def test_take_along_dim_large_matches_pytorch(pt):
    x = np.random.default_rng(0).standard_normal((300, 200)).astype(np.float32)
    i = _idx((300, 500), 200, seed=1)
    for d, ix in ((1, i), (0, _idx((400, 200), 300, seed=2) - 150)):
        _same(pt, lambda T, a, b: T.take_along_dim(a, b, dim=d), x, ix, exact=True)


# ---- take_along_dim: gradients --------------------------------------------------------
def test_take_along_dim_gradcheck():
    x = torch.tensor(X, requires_grad=True)
    i = torch.tensor(_idx((4, 5, 8), 6) - 3)  # repeats, negatives
    assert gradcheck(lambda a: torch.take_along_dim(a, i, dim=2), (x,))
    assert gradcheck(lambda a: torch.take_along_dim(a[:1], i[:, :, :2], dim=2), (x,))  # broadcast input
    assert gradcheck(lambda a: torch.take_along_dim(a, torch.tensor(_idx((30,), 120))), (x,))


@pytest.mark.parametrize("case", ["dim", "broadcast", "flat"])
def test_take_along_dim_gradient_matches_pytorch(case, against_pytorch):
    i = _idx((4, 5, 8), 12) - 6
    run = {"dim": lambda T, a: T.take_along_dim(a, T.tensor(i), dim=2),
           "broadcast": lambda T, a: T.take_along_dim(a[:, :1], T.tensor(i[:1]), dim=2),
           "flat": lambda T, a: T.take_along_dim(a, T.tensor(i % 120))}[case]
    against_pytorch(run, [X], 0, 0, 1e-12, 1e-12)


# ---- take_along_dim: errors -----------------------------------------------------------
L = np.int64
TAKE_ERRORS = [
    ("flat_negative", lambda T, x: T.take_along_dim(x, T.tensor([0, -1])), "index -1 is out of bounds"),
    ("flat_too_large", lambda T, x: T.take_along_dim(x, T.tensor([120])), "index 120 is out of bounds"),
    ("float_indices", lambda T, x: T.take_along_dim(x, T.tensor([[[0.0]]]), dim=1), "should be Long but got Float"),
    ("bool_indices", lambda T, x: T.take_along_dim(x, T.tensor([[[True]]]), dim=1), "should be Long but got Bool"),
    ("flat_float_indices", lambda T, x: T.take_along_dim(x, T.tensor([0.0])), "Expected dtype int"),
    ("ndim_mismatch", lambda T, x: T.take_along_dim(x, T.tensor([0]), dim=1), "same number of dimensions"),
    ("dim_too_large", lambda T, x: T.take_along_dim(x, T.tensor(np.zeros((1, 1, 1), L)), dim=3),
     "expected to be in range of [-3, 2], but got 3"),
    ("dim_too_small", lambda T, x: T.take_along_dim(x, T.tensor(np.zeros((1, 1, 1), L)), dim=-4),
     "but got -4"),
    ("zero_dim_with_dim", lambda T, x: T.take_along_dim(x[0, 0, 0], T.tensor(0), dim=0), "no dimensions"),
    ("no_broadcast", lambda T, x: T.take_along_dim(x, T.tensor(np.zeros((3, 5, 1), L)), dim=2),
     "size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 0"),
    ("size_zero_dim", lambda T, x: T.take_along_dim(x[:, :, :0], T.tensor(np.zeros((4, 5, 2), L)), dim=2), ""),
    ("dim_float", lambda T, x: T.take_along_dim(x, T.tensor(np.zeros((1, 1, 1), L)), dim=1.0), "must be int"),
    ("indices_list", lambda T, x: T.take_along_dim(x, [[[0]]], dim=1), "must be Tensor, not list"),
]


@pytest.mark.parametrize("name,fn,message", TAKE_ERRORS, ids=[t[0] for t in TAKE_ERRORS])
def test_take_along_dim_errors(name, fn, message, pt):
    with pytest.raises(Exception) as theirs:
        fn(pt, pt.tensor(X))
    with pytest.raises(theirs.type) as ours:
        fn(torch, torch.tensor(X))
    assert message in str(ours.value)
    assert "take_along_dim" in str(ours.value)


# ---- scatter_reduce: values -----------------------------------------------------------
S_IN = np.random.default_rng(4).standard_normal((5, 6, 4))
S_SRC = np.random.default_rng(5).standard_normal((7, 8, 4))
S_IDX = {0: _idx((7, 6, 4), 5, seed=6), 1: _idx((5, 8, 3), 6, seed=7), 2: _idx((5, 6, 4), 4, seed=8)}


def _scatter_case(d, reduce, include_self, dtype="float64"):
    """(fn, arrays) for input (5, 6, 4), index along d with repeats, src larger than index."""
    idx = S_IDX[d]
    src = S_SRC[:idx.shape[0] if d == 0 else 5, :, :]

    def cast(a):
        return {"float64": a, "float32": a.astype(np.float32), "int64": np.round(a * 3).astype(np.int64),
                "bool": a > 0}[dtype]

    return (lambda T, x, i, s: T.scatter_reduce(x, d, i, s, reduce, include_self=include_self)), \
        (cast(S_IN), idx, cast(src))


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("d", [0, 1, 2])
def test_scatter_reduce_values(d, reduce, include_self, pt):
    fn, arrays = _scatter_case(d, reduce, include_self)
    _same(pt, fn, *arrays)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_scatter_reduce_dtypes(dtype, reduce, include_self, pt):
    if dtype == "bool" and reduce == "mean":
        pytest.skip("mean of bool is an error (test_scatter_reduce_errors)")
    fn, arrays = _scatter_case(1, reduce, include_self, dtype)
    _same(pt, fn, *arrays)


@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_int_mean_floors(include_self, pt):
    """Integer mean is floor division, negative sums included: (-1 - 2 - 4) / 3 -> -3."""
    fn = lambda T, x, i, s: T.scatter_reduce(x, 0, i, s, "mean", include_self=include_self)  # noqa: E731
    out = _same(pt, fn, np.array([-1, 7, 5]), np.array([0, 0, 2, 2, 2]), np.array([-2, -4, 1, 1, 2]))
    assert out.tolist() == ([-3, 7, 2] if include_self else [-3, 7, 1])


@pytest.mark.parametrize("reduce", ["amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_nan_propagates(reduce, include_self, pt):
    nan = float("nan")
    fn = lambda T, x, i, s: T.scatter_reduce(x, 0, i, s, reduce, include_self=include_self)  # noqa: E731
    out = _same(pt, fn, np.array([1.0, nan, 3.0, 4.0]), np.array([0, 1, 2, 2]), np.array([nan, 2.0, nan, 1.0]))
    assert np.isnan(out.numpy()[[0, 2]]).all()


@pytest.mark.parametrize("alias,name", [("max", "amax"), ("min", "amin")])
def test_scatter_reduce_max_min_aliases(alias, name, pt):
    fn, arrays = _scatter_case(1, alias, True)
    ours = _same(pt, fn, *arrays)
    fn2, _ = _scatter_case(1, name, True)
    np.testing.assert_array_equal(ours.numpy(), _run(torch, fn2, arrays).numpy())


SCATTER_MORE = [
    ("strided_operands", lambda T, x, i, s: T.scatter_reduce(x.transpose(0, 2), 1, i.transpose(0, 2)[:, :, :3],
                                                              s.transpose(0, 2), "mean")),
    ("expanded_index", lambda T, x, i, s: T.scatter_reduce(x, 0, i[:1, :, :].expand(4, 6, 4), s, "amax",
                                                           include_self=False)),
    ("dim_negative", lambda T, x, i, s: T.scatter_reduce(x, -3, i, s, "prod")),
    ("empty_index", lambda T, x, i, s: T.scatter_reduce(x, 0, i[:0], s, "mean", include_self=False)),
    ("zero_dim_input", lambda T, x, i, s: T.scatter_reduce(x[0, 0, 0], 0, i[:3, 0, 0] * 0, s[:3, 0, 0], "sum")),
    ("zero_dim_all", lambda T, x, i, s: T.scatter_reduce(x[0, 0, 0], 0, i[0, 0, 0] * 0, s[0, 0, 0], "mean",
                                                         include_self=False)),
    ("zero_dim_index", lambda T, x, i, s: T.scatter_reduce(x[0, 0], 0, i[0, 0, 0], s[0, 0, :1], "amin")),
    ("method", lambda T, x, i, s: x.scatter_reduce(0, i, s, reduce="amin", include_self=False)),
]


@pytest.mark.parametrize("name,fn", SCATTER_MORE, ids=[t[0] for t in SCATTER_MORE])
def test_scatter_reduce_more_values(name, fn, pt):
    _same(pt, fn, S_IN, S_IDX[0][:4], S_SRC)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_large_both_dims(reduce, include_self, pt):
    """Big enough for the threaded walk, along dim 0 (chunks of the rows) and dim 1."""
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 1.5, (300, 400)).astype(np.float32)
    s = rng.uniform(0.9, 1.1, (300, 400)).astype(np.float32)
    for d in (0, 1):
        i = rng.integers(0, x.shape[d], (300, 400))
        fn = lambda T, a, b, c: T.scatter_reduce(a, d, b, c, reduce, include_self=include_self)  # noqa: E731
        ours, theirs = _run(torch, fn, (x, i, s)), _run(pt, fn, (x, i, s))
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-5)


def test_scatter_reduce_same_bits_for_any_thread_count():
    rng = np.random.default_rng(12)
    x, s = (torch.tensor(rng.standard_normal((500, 300)).astype(np.float32)) for _ in range(2))
    i = torch.tensor(rng.integers(0, 500, (500, 300)))
    old = torch.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            torch.set_num_threads(n)
            results.append([torch.scatter_reduce(x, 0, i, s, r).numpy() for r in REDUCTIONS])
    finally:
        torch.set_num_threads(old)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ---- scatter_reduce: in place ---------------------------------------------------------
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_inplace(reduce, pt):
    def fn(T, x, i, s):
        y = x.transpose(0, 2).clone().transpose(0, 2)  # a strided tensor, written in place
        r = y.scatter_reduce_(1, i, s, reduce, include_self=False)
        assert r is y
        return y
    _same(pt, fn, S_IN, S_IDX[1], S_SRC)


def test_scatter_reduce_inplace_reads_src_before_writing():
    """src a view of the tensor written: its values are those before the call."""
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    x.scatter_reduce_(0, torch.tensor([1, 2, 3]), x[:3], "sum")
    assert x.tolist() == [1.0, 3.0, 5.0, 7.0]
    y = torch.tensor([1, 0, 2])
    y.scatter_reduce_(0, y, torch.tensor([10, 20, 30]), "amax")  # index is y itself
    assert y.tolist() == [20, 10, 30]


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_inplace_records_gradient(reduce, pt):
    x, s, i = S_IN[:, :, 0], S_SRC[:5, :, 0], S_IDX[1][:, :, 0]

    def grads(T):
        xl, sl = T.tensor(x, requires_grad=True), T.tensor(s, requires_grad=True)
        y = xl * 1.0
        y.scatter_reduce_(1, T.tensor(i), sl, reduce)
        (y * T.tensor(np.arange(30.0).reshape(5, 6))).sum().backward()
        return y.detach().numpy(), xl.grad.numpy(), sl.grad.numpy()
    for a, b in zip(grads(torch), grads(pt)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_scatter_reduce_inplace_on_leaf_that_requires_grad(pt):
    for T in (pt, torch):
        x = T.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            x.scatter_reduce_(0, T.tensor([0]), T.ones(1), "sum")


# ---- scatter_reduce: gradients --------------------------------------------------------
def _distinct(shape, seed):
    """Values with no ties and no zeros: amax/amin and prod are differentiable there."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n) + 1.0).reshape(shape) / n * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("d", [0, 1])
def test_scatter_reduce_gradcheck(d, reduce, include_self):
    src_shape = (6, 5) if d == 0 else (4, 7)
    values = _distinct((20 + 30 + 8,), seed=d)
    x = torch.tensor(values[:20].reshape(4, 5), requires_grad=True)
    s = torch.tensor(values[20:20 + int(np.prod(src_shape))].reshape(src_shape), requires_grad=True)
    i = torch.tensor(_idx(src_shape, x.shape[d], seed=3))
    assert gradcheck(lambda a, b: torch.scatter_reduce(a, d, i, b, reduce, include_self=include_self), (x, s))


def test_scatter_reduce_gradcheck_zero_dim():
    x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    s = torch.tensor([1.3, -0.4], dtype=torch.float64, requires_grad=True)
    for r in REDUCTIONS:
        assert gradcheck(lambda a, b: torch.scatter_reduce(a, 0, torch.tensor([0, 0]), b, r), (x, s))


def _tied_case():
    """Ties with the input and among src for amax/amin, zeros (one, and two at one
    position) for prod, and a position nothing is sent to."""
    x = np.array([[1.0, 2.0, 0.0, 4.0, 3.0], [5.0, 6.0, 7.0, 60.0, 0.0]])
    s = np.array([[1.0, 20.0, 0.0, 2.0], [60.0, 50.0, 60.0, 0.0]])
    i = np.array([[0, 0, 2, 1], [1, 1, 1, 4]])
    return x, s, i


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_gradient_matches_pytorch(reduce, include_self, against_pytorch):
    x, s, i = _tied_case()
    against_pytorch(lambda T, a, b: T.scatter_reduce(a, 1, T.tensor(i), b, reduce, include_self=include_self),
                    [x, s], 0, 0, 1e-12, 1e-12)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_gradient_random_matches_pytorch(reduce, against_pytorch):
    rng = np.random.default_rng(21)
    x, s = rng.uniform(0.5, 2, (6, 7)), rng.uniform(0.5, 2, (6, 7))
    x[0, :3] = s[0, :3] = 0.0
    i = rng.integers(0, 6, (6, 7))
    against_pytorch(lambda T, a, b: T.scatter_reduce(a, 0, T.tensor(i), b, reduce), [x, s], 0, 0, 1e-10, 1e-12)


@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_gradient_of_one_input(reduce, pt):
    """Only input needs a gradient, or only src."""
    x, s, i = _tied_case()
    for which in ("input", "src"):
        out = []
        for T in (torch, pt):
            a, b = T.tensor(x, requires_grad=which == "input"), T.tensor(s, requires_grad=which == "src")
            T.scatter_reduce(a, 1, T.tensor(i), b, reduce, include_self=False).sum().backward()
            out.append((a if which == "input" else b).grad.numpy())
        np.testing.assert_allclose(out[0], out[1], rtol=1e-12)


@pytest.mark.parametrize("which", ["input", "src", "both"])
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_scatter_reduce_backward_with_src_larger_than_index(reduce, which, pt):
    """PyTorch's backward fails for src larger than index except for input's gradient of
    sum and mean; ours fails (RuntimeError) and succeeds in the same cases, with its values."""
    results = []
    for T in (pt, torch):
        a = T.ones(2, 5, dtype=T.float64, requires_grad=which != "src")
        b = T.ones(2, 8, dtype=T.float64, requires_grad=which != "input")
        y = T.scatter_reduce(a, 1, T.tensor([[0, 0, 2, 1], [1, 1, 1, 4]]), b, reduce)
        try:
            y.sum().backward()
            results.append(a.grad.numpy())
        except RuntimeError as e:
            results.append(type(e))
    if isinstance(results[0], np.ndarray):
        np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
    else:
        assert results[1] is RuntimeError
    assert isinstance(results[0], np.ndarray) == (which == "input" and reduce in ("sum", "mean"))


def test_scatter_reduce_no_graph_without_grad():
    x = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        y = torch.scatter_reduce(x, 0, torch.tensor([0]), torch.ones(1), "prod")
    assert not y.requires_grad
    assert torch.scatter_reduce(x, 0, torch.tensor([0]), torch.ones(1), "amax").requires_grad


# ---- scatter_reduce: errors -----------------------------------------------------------
F = np.float32
SCATTER_ERRORS = [
    ("reduce_invalid", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long), T.ones(2, 3),
                                                  "add"), "must be either sum, prod, mean, amax or amin, got add"),
    ("reduce_not_str", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long), T.ones(2, 3), 3),
     "'reduce' (position 5) must be str, not int"),
    ("src_number", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long), 1.0, "sum"),
     "'src' (position 4) must be Tensor, not float"),
    ("include_self_int", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long), T.ones(2, 3),
                                                    "sum", include_self=1), "'include_self' must be bool"),
    ("dim_float", lambda T: T.scatter_reduce(T.ones(2, 4), 0.5, T.zeros(2, 3, dtype=T.long), T.ones(2, 3), "sum"),
     "'dim' (position 2) must be int, not float"),
    ("dim_range", lambda T: T.scatter_reduce(T.ones(2, 4), 2, T.zeros(2, 3, dtype=T.long), T.ones(2, 3), "foo"),
     "expected to be in range of [-2, 1], but got 2"),
    ("index_float", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3), T.ones(2, 3), "sum"),
     "Expected dtype int"),
    ("src_dtype", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long),
                                             T.ones(2, 3, dtype=T.float64), "foo"),
     "Expected self.dtype to be equal to src.dtype"),
    ("int_into_float", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long),
                                                  T.ones(2, 3, dtype=T.long), "sum"),
     "Expected self.dtype to be equal to src.dtype"),
    ("index_ndim", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(3, dtype=T.long), T.ones(2, 3), "foo"),
     "same number of dimensions as self tensor"),
    ("src_ndim_fewer", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long), T.ones(3), "sum"),
     "expected to be in range of [-1, 0], but got 1"),
    ("src_ndim_more", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 3, dtype=T.long), T.ones(2, 3, 1),
                                                 "sum"), "same number of dimensions as src tensor"),
    ("index_larger_than_self", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.zeros(2, 5, dtype=T.long),
                                                          T.ones(2, 5), "sum"),
     "Expected index [2, 5] to be no larger than self [2, 4] apart from dimension 0"),
    ("index_larger_than_src", lambda T: T.scatter_reduce(T.ones(2, 4), 1, T.zeros(2, 3, dtype=T.long),
                                                         T.ones(2, 2), "amax"), "no larger size than src [2, 2]"),
    ("index_too_large", lambda T: T.scatter_reduce(T.ones(2, 4), 1, T.tensor([[0, 4]]), T.ones(1, 2), "sum"),
     "index 4 is out of bounds for dimension 1 with size 4"),
    ("index_negative", lambda T: T.scatter_reduce(T.ones(2, 4), 0, T.tensor([[0, -1]]), T.ones(1, 2), "prod"),
     "index -1 is out of bounds for dimension 0 with size 2"),
    ("bool_mean", lambda T: T.scatter_reduce(T.ones(2, 4, dtype=T.bool), 0, T.tensor([[0, 7]]),
                                             T.ones(1, 2, dtype=T.bool), "mean"), "not implemented for 'Bool'"),
    ("inplace_index_too_large", lambda T: T.ones(3).scatter_reduce_(0, T.tensor([3]), T.ones(1), "amin"),
     "index 3 is out of bounds"),
]


@pytest.mark.parametrize("name,fn,message", SCATTER_ERRORS, ids=[t[0] for t in SCATTER_ERRORS])
def test_scatter_reduce_errors(name, fn, message, pt):
    with pytest.raises(Exception) as theirs:
        fn(pt)
    with pytest.raises(theirs.type) as ours:
        fn(torch)
    assert message in str(ours.value)
    assert "scatter_reduce" in str(ours.value)


def test_scatter_reduce_inplace_error_leaves_input_unchanged():
    x = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError):
        x.scatter_reduce_(0, torch.tensor([0, 5]), torch.ones(2), "sum")
    assert x.tolist() == [1.0, 2.0, 3.0]


def test_c_entry_points_refuse_null_and_bad_reduce():
    from pyautodiff._ffi import ffi, lib

    out = ffi.new("pa_tensor *[1]")
    x, i = torch.ones(3), torch.tensor([0])
    assert lib.pa_take_along_dim(x._h, 0, ffi.NULL, 1, out) == lib.PA_ERR_VALUE
    assert lib.pa_scatter_reduce(x._h, 0, i._h, ffi.NULL, lib.PA_REDUCE_SUM, 1, 0, out) == lib.PA_ERR_VALUE
    assert lib.pa_scatter_reduce(x._h, 0, i._h, x._h, 9, 1, 0, out) == lib.PA_ERR_VALUE
    # shape checks in C as well, for callers that skip Python's
    assert lib.pa_scatter_reduce(x._h, 0, torch.zeros(4, dtype=torch.int64)._h, x._h, lib.PA_REDUCE_SUM, 1, 0,
                                 out) == lib.PA_ERR_RUNTIME
