"""Property-based fuzzing of the core against NumPy (hypothesis).

Random shapes (0-size and size-1 broadcast dims), layouts (contiguous, transposed,
sliced with steps, expanded, permuted), dtypes and values (inf, NaN, denormals, huge)
go through every op family and are compared with NumPy references, including NaN/inf
semantics; gradients of a random subset are compared with finite differences; random
malformed calls must raise Python exceptions.

Profiles: 'ci' (the default here: fixed budget, derandomized) and 'long' (5000
examples): `pytest --hypothesis-profile=long tests/test_fuzz.py` (tests/conftest.py
registers it for pytest's configure step) or HYPOTHESIS_PROFILE=long.
"""
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import pyautodiff as torch
import pyautodiff.nn.functional as F

_COMMON = dict(deadline=None, suppress_health_check=list(HealthCheck), print_blob=True,
               phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink])
settings.register_profile("ci", max_examples=200, derandomize=True, database=None, **_COMMON)
settings.register_profile("long", max_examples=5000, **_COMMON)
if settings.get_current_profile_name() == "default":
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# NumPy's references warn on empty means and overflow; the core itself never warns.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

ERRORS = (ValueError, TypeError, IndexError, RuntimeError, MemoryError, NotImplementedError)
NP = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64, torch.bool: np.bool_}
FLOATS = [torch.float32, torch.float64]


# ---- strategies ------------------------------------------------------------------------
def _float_elements(np_dtype, special=True, bound=None):
    width = 32 if np_dtype == np.float32 else 64
    if bound is not None:
        bound = float(np_dtype(bound))
        return st.floats(-bound, bound, width=width, allow_subnormal=True)
    if not special:
        return st.floats(-1e3, 1e3, width=width)
    return st.one_of(
        st.floats(width=width, allow_nan=True, allow_infinity=True, allow_subnormal=True),
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5]),
        st.floats(-10, 10, width=width),
    )


def elements(dtype, special=True, bound=None):
    np_dtype = NP[dtype]
    if dtype is torch.bool:
        return st.booleans()
    if dtype is torch.int64:
        return st.integers(-(bound or 2**40), bound or 2**40)
    return _float_elements(np_dtype, special, bound)


def arrays(dtype, shape, special=True, bound=None):
    return hnp.arrays(NP[dtype], shape, elements=elements(dtype, special, bound))


shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
nonempty_shapes = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)


@st.composite
def laid_out(draw, arr, allow_expand=True):
    """A tensor equal to `arr` (NumPy) in a random memory layout, and the array it equals
    (an expanded layout repeats a slice of `arr`)."""
    kind = draw(st.sampled_from(["contiguous", "permuted", "sliced", "expanded"] if allow_expand
                                else ["contiguous", "permuted", "sliced"]))
    nd = arr.ndim
    if kind == "contiguous" or nd == 0:
        return torch.from_numpy(arr.copy()) if draw(st.booleans()) else torch.tensor(arr), arr
    if kind == "permuted":
        perm = draw(st.permutations(range(nd)))
        inv = np.argsort(perm)
        base = np.ascontiguousarray(arr.transpose(perm))
        return torch.from_numpy(base).permute(*[int(i) for i in inv]), arr
    if kind == "sliced":
        steps = [draw(st.integers(1, 3)) for _ in range(nd)]
        starts = [draw(st.integers(0, 2)) for _ in range(nd)]
        big = np.zeros([s0 + n * s + 1 for n, s, s0 in zip(arr.shape, steps, starts)], dtype=arr.dtype)
        key = tuple(slice(s0, s0 + n * s, s) for n, s, s0 in zip(arr.shape, steps, starts))
        big[key] = arr
        return torch.from_numpy(big)[key], arr
    dims = [d for d in range(nd) if draw(st.booleans())]
    src = arr[tuple(slice(0, 1) if d in dims else slice(None) for d in range(nd))]
    if 0 in src.shape and 0 not in arr.shape:
        return torch.tensor(arr), arr
    expected = np.broadcast_to(src, arr.shape)
    return torch.from_numpy(src.copy()).expand(*arr.shape), expected


@st.composite
def tensor_and_array(draw, dtypes=FLOATS, shape=shapes, special=True, bound=None, allow_expand=True):
    dtype = draw(st.sampled_from(dtypes))
    shp = draw(shape)
    arr = draw(arrays(dtype, shp, special, bound))
    t, ref = draw(laid_out(arr, allow_expand))
    return t, np.array(ref)


# ---- comparison ----------------------------------------------------------------------
def tol(dtype):
    return (1e-5, 1e-6) if dtype in (torch.float32, np.float32) else (1e-10, 1e-300)


def assert_same(got, expected, rtol=None, atol=None, check_dtype=None):
    """Equal shapes, NaN where NumPy has NaN, same infinities, finite values close."""
    got_arr = got.detach().numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
    expected = np.asarray(expected)
    assert got_arr.shape == expected.shape, (got_arr.shape, expected.shape)
    if check_dtype is not None:
        assert got_arr.dtype == np.dtype(check_dtype), (got_arr.dtype, check_dtype)
    if expected.dtype.kind not in "fc":
        np.testing.assert_array_equal(got_arr, expected)
        return
    g = got_arr.astype(np.float64)
    e = expected.astype(np.float64)
    if rtol is None:
        rtol, atol = tol(got_arr.dtype.type)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(e), err_msg="NaN positions differ")
    big = np.isinf(e)
    np.testing.assert_array_equal(g[big], e[big], err_msg="infinities differ")
    fin = ~np.isnan(e) & ~big
    np.testing.assert_allclose(g[fin], e[fin], rtol=rtol, atol=atol)


def _ignore():
    return np.errstate(all="ignore")


# ---- elementwise unary -----------------------------------------------------------------
_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    with _ignore():
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


UNARY = {
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh,
    "sigmoid": _sigmoid, "relu": lambda x: np.where(np.isnan(x), x, np.maximum(x, 0)),
    "sin": np.sin, "cos": np.cos, "rsqrt": lambda x: 1 / np.sqrt(x), "log1p": np.log1p, "expm1": np.expm1,
    "square": np.square, "reciprocal": lambda x: 1 / x,
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))) if x.size else x,
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    "sign": np.sign,
}
# Ops whose value at +-inf/NaN (or, for sin/cos, at huge arguments) is a convention, not
# arithmetic: compared on moderate finite inputs only.
_FINITE_ONLY = {"gelu", "gelu_tanh", "sign", "sin", "cos"}


@given(st.sampled_from(sorted(UNARY)), st.data())
def test_unary_matches_numpy(name, data):
    special = name not in _FINITE_ONLY
    t, a = data.draw(tensor_and_array(special=special, bound=None if special else 1e4))
    from pyautodiff._tensor import unary

    got = unary(name, t)
    with _ignore():
        expected = UNARY[name](a.astype(np.float64)).astype(a.dtype)
    rtol, atol = tol(a.dtype.type)
    if name in ("gelu", "gelu_tanh", "sin", "cos", "tanh", "sigmoid", "expm1", "log1p"):
        atol = max(atol, 1e-6 if a.dtype == np.float32 else 1e-13)
    assert_same(got, expected, rtol, atol, check_dtype=a.dtype)


@given(st.sampled_from(["neg", "abs", "square", "sign", "logical_not", "exp", "sqrt"]),
       st.data())
def test_unary_integer_and_bool(name, data):
    dtype = data.draw(st.sampled_from([torch.int64, torch.bool]))
    if dtype is torch.bool and name in ("neg", "sign", "square"):
        t, _ = data.draw(tensor_and_array([dtype]))
        try:
            getattr(torch, name)(t)
        except ERRORS:
            pass
        return
    t, a = data.draw(tensor_and_array([dtype], bound=3000))
    got = getattr(torch, name)(t)
    with _ignore():
        if name == "logical_not":
            expected = np.logical_not(a)
        elif name in ("exp", "sqrt"):
            expected = getattr(np, name)(a.astype(np.float64)).astype(np.float32)  # PyTorch: int -> float32
        elif dtype is torch.bool and name == "abs":
            expected = a
        else:
            expected = UNARY[name](a)
    assert_same(got, expected, 1e-5, 1e-6)


# ---- elementwise binary ----------------------------------------------------------------
def _np_pow(a, b):
    with _ignore():
        return np.power(a, b)


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": _np_pow,
    "maximum": np.maximum, "minimum": np.minimum, "eq": np.equal, "ne": np.not_equal, "lt": np.less,
    "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
}


@st.composite
def broadcast_pair(draw, dtypes, special=True, bound=None):
    shapes2 = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0, max_side=4))
    da, db = (draw(st.sampled_from(dtypes)) for _ in range(2))
    a = draw(arrays(da, shapes2.input_shapes[0], special, bound))
    b = draw(arrays(db, shapes2.input_shapes[1], special, bound))
    ta, ea = draw(laid_out(a))
    tb, eb = draw(laid_out(b))
    return ta, np.array(ea), tb, np.array(eb)


@given(st.sampled_from(sorted(BINARY)), st.data())
def test_binary_float_matches_numpy(name, data):
    dtype = data.draw(st.sampled_from(FLOATS))
    ta, a, tb, b = data.draw(broadcast_pair([dtype]))
    from pyautodiff._tensor import binary

    got = binary(name, ta, tb)
    with _ignore():
        expected = BINARY[name](a, b)
    rtol, atol = tol(dtype)
    if name == "pow":
        rtol = 1e-4 if dtype is torch.float32 else 1e-9
    assert_same(got, expected, rtol, atol, check_dtype=expected.dtype)


_PROMOTE = {
    (torch.bool, torch.bool): np.bool_, (torch.bool, torch.int64): np.int64, (torch.int64, torch.int64): np.int64,
    (torch.bool, torch.float32): np.float32, (torch.int64, torch.float32): np.float32,
    (torch.bool, torch.float64): np.float64, (torch.int64, torch.float64): np.float64,
    (torch.float32, torch.float64): np.float64, (torch.float32, torch.float32): np.float32,
    (torch.float64, torch.float64): np.float64,
}


_CATEGORY = {torch.bool: 0, torch.int64: 1, torch.float32: 2, torch.float64: 2}


def _promoted(da, db, a0d=False, b0d=False):
    """PyTorch's result type: a 0-dim tensor only decides when its category is higher."""
    if a0d != b0d:
        (dd, zd) = (db, da) if a0d else (da, db)
        return NP[zd] if _CATEGORY[zd] > _CATEGORY[dd] else NP[dd]
    return _PROMOTE.get((da, db)) or _PROMOTE[(db, da)]


@given(st.sampled_from(["add", "sub", "mul", "div", "maximum", "minimum", "eq", "lt", "ge", "logical_and",
                        "logical_or"]), st.data())
def test_binary_mixed_dtypes_promote_like_pytorch(name, data):
    dts = [torch.bool, torch.int64, torch.float32, torch.float64]
    ta, a, tb, b = data.draw(broadcast_pair(dts, special=False, bound=50))
    from pyautodiff._tensor import binary

    res = _promoted(ta.dtype, tb.dtype, ta.ndim == 0, tb.ndim == 0)
    if name in ("add", "sub", "mul") and res is np.bool_:
        return  # see test_bool_arithmetic_stays_bool (core bug, xfail)
    got = binary(name, ta, tb)
    with _ignore():
        if name in ("eq", "lt", "ge", "logical_and", "logical_or"):
            expected = BINARY[name](a.astype(res), b.astype(res))
        elif name == "div":
            out = res if np.dtype(res).kind == "f" else np.float32
            # both operands in the result dtype first, as PyTorch (a float64 0-dim 1e-54
            # beside a float32 tensor is 0 there, so 0 / it is NaN)
            expected = np.true_divide(a.astype(out), b.astype(out)).astype(out)
        else:
            expected = BINARY[name](a.astype(res), b.astype(res))
    assert_same(got, expected, 1e-5, 1e-6, check_dtype=expected.dtype)


def test_clamp_min_above_max():
    assert torch.tensor([1.0, 2.0, 3.0]).clamp(3, 1).tolist() == [1.0, 1.0, 1.0]


def test_bool_arithmetic_stays_bool():
    t = torch.tensor([True, False, True])
    assert (t + t).dtype is torch.bool and (t + t).tolist() == [True, False, True]
    assert (t * t).dtype is torch.bool


@given(st.sampled_from(["add", "sub", "mul", "div", "pow", "maximum", "lt"]), st.data(), st.booleans())
def test_binary_with_python_scalar(name, data, scalar_first):
    t, a = data.draw(tensor_and_array(FLOATS))
    width = 32 if a.dtype == np.float32 else 64  # a scalar the tensor's dtype holds exactly
    s = data.draw(st.one_of(st.floats(width=width), st.integers(-5, 5)))
    from pyautodiff._tensor import binary

    got = binary(name, s, t) if scalar_first else binary(name, t, s)
    with _ignore():
        sv = np.array(s, dtype=a.dtype)
        expected = BINARY[name](sv, a) if scalar_first else BINARY[name](a, sv)
        expected = np.asarray(expected).astype(expected.dtype if name == "lt" else a.dtype)
    rtol, atol = tol(a.dtype.type)
    assert_same(got, expected, 1e-4 if name == "pow" else rtol, atol)


@given(st.data())
def test_where_and_clamp(data):
    ta, a, tb, b = data.draw(broadcast_pair([torch.float64]))
    cond = data.draw(arrays(torch.bool, np.broadcast_shapes(a.shape, b.shape)))
    assert_same(torch.where(torch.tensor(cond), ta, tb), np.where(cond, a, b))
    t, x = data.draw(tensor_and_array(FLOATS))
    lo = data.draw(st.floats(-5, 5))
    hi = data.draw(st.floats(lo, 5))  # min > max: see test_clamp_min_above_max (core bug, xfail)
    expected = np.minimum(np.maximum(x, x.dtype.type(lo)), x.dtype.type(hi))  # PyTorch: min > max gives max
    assert_same(t.clamp(lo, hi), expected)


# ---- reductions ----------------------------------------------------------------------
def _reduce_tol(a):
    fin = a[np.isfinite(a)].astype(np.float64)
    scale = np.abs(fin).sum() if fin.size else 0.0
    rtol, atol = (1e-5, 1e-6 * scale + 1e-30) if a.dtype == np.float32 else (1e-10, 1e-12 * scale + 1e-300)
    return rtol, atol


@st.composite
def dims_for(draw, ndim):
    if ndim == 0:
        return None
    dims = draw(st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim))
    return tuple(d - ndim if draw(st.booleans()) else d for d in dims) or None


@given(st.sampled_from(["sum", "mean"]), st.booleans(), st.data())
def test_sum_mean(name, keepdim, data):
    t, a = data.draw(tensor_and_array(FLOATS + [torch.int64, torch.bool], bound=2**20))
    dims = data.draw(dims_for(a.ndim))
    if name == "mean" and a.dtype.kind in "ib":
        with pytest.raises(TypeError, match="mean"):
            t.mean(dims, keepdim)
        return
    got = getattr(t, name)(dims, keepdim)
    with _ignore():
        expected = getattr(np, name)(a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64),
                                     axis=dims, keepdims=keepdim)
    expected = np.asarray(expected).astype(a.dtype if a.dtype.kind == "f" else np.int64)
    rtol, atol = _reduce_tol(a) if a.dtype.kind == "f" else (0, 0)
    assert_same(got, expected, rtol, atol, check_dtype=expected.dtype)


@given(st.sampled_from(["max", "min"]), st.booleans(), st.data())
def test_max_min_argmax(name, keepdim, data):
    t, a = data.draw(tensor_and_array(FLOATS + [torch.int64], shape=nonempty_shapes))
    np_val, np_arg = (np.max, np.argmax) if name == "max" else (np.min, np.argmin)
    if data.draw(st.booleans()):
        assert_same(getattr(t, name)(), np_val(a))
        assert getattr(t, "arg" + name)().item() == np_arg(a)  # NaN is the extreme, first one wins
        return
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    values, indices = getattr(t, name)(dim, keepdim)
    ev = np_val(a, axis=dim, keepdims=keepdim)
    ei = np_arg(a, axis=dim, keepdims=keepdim) if keepdim else np_arg(a, axis=dim)
    assert_same(values, ev)
    assert_same(indices, ei.astype(np.int64))


@given(st.booleans(), st.data())
def test_logsumexp(keepdim, data):
    t, a = data.draw(tensor_and_array(FLOATS, shape=nonempty_shapes, bound=1e30))
    dims = data.draw(dims_for(a.ndim)) or tuple(range(a.ndim))
    x = a.astype(np.float64)
    m = np.max(x, axis=dims, keepdims=True)
    with _ignore():
        ref = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
    if not keepdim:
        ref = np.squeeze(ref, axis=dims)
    assert_same(t.logsumexp(dims, keepdim), ref.astype(a.dtype), *(1e-5, 1e-5) if a.dtype == np.float32 else (1e-10, 1e-10))


# ---- shapes and views ----------------------------------------------------------------
@given(st.data())
def test_shape_ops_match_numpy(data):
    t, a = data.draw(tensor_and_array(FLOATS + [torch.int64, torch.bool], shape=shapes))
    op = data.draw(st.sampled_from(["reshape", "permute", "transpose", "unsqueeze", "squeeze", "flatten",
                                    "index", "index_select", "contiguous", "clone", "T"]))
    nd = a.ndim
    if op == "reshape":
        shape = list(data.draw(st.permutations(list(a.shape))))
        if shape and data.draw(st.booleans()) and a.size:
            shape[data.draw(st.integers(0, len(shape) - 1))] = -1
        assert_same(t.reshape(*shape) if shape else t.reshape(()), a.reshape(shape))
    elif op == "permute" and nd:
        perm = data.draw(st.permutations(range(nd)))
        assert_same(t.permute(*perm), a.transpose(perm))
    elif op == "transpose" and nd:
        d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
        assert_same(t.transpose(d0, d1), np.swapaxes(a, d0, d1))
    elif op == "unsqueeze" and nd < 8:
        d = data.draw(st.integers(-nd - 1, nd))
        assert_same(t.unsqueeze(d), np.expand_dims(a, d))
    elif op == "squeeze":
        assert_same(t.squeeze(), np.squeeze(a))
    elif op == "flatten":
        assert_same(t.flatten(), a.reshape(-1))
    elif op == "index" and nd:
        key = []
        for n in a.shape[:data.draw(st.integers(1, nd))]:
            if data.draw(st.booleans()):
                key.append(None)  # consumes no dim
            kind = data.draw(st.sampled_from(["int", "slice", "all"]))
            if kind == "int" and n:
                key.append(data.draw(st.integers(-n, n - 1)))
            elif kind == "slice":
                key.append(slice(data.draw(st.integers(-6, 6)), data.draw(st.integers(-6, 6)), data.draw(st.integers(1, 3))))
            else:
                key.append(slice(None))
        if data.draw(st.booleans()):
            key.insert(data.draw(st.integers(0, len(key))), Ellipsis)
        key = tuple(key)
        try:
            expected = a[key]
        except IndexError:  # e.g. [..., 0] on an empty last dim: both must refuse
            with pytest.raises(IndexError):
                t[key]
            return
        assert_same(t[key], expected)
    elif op == "index_select" and nd and a.shape[0]:
        d = data.draw(st.integers(0, nd - 1))
        n = a.shape[d]
        if n:
            idx = data.draw(st.lists(st.integers(0, n - 1), max_size=5))
            assert_same(t.index_select(d, torch.tensor(idx, dtype=torch.int64)), np.take(a, idx, axis=d))
    elif op == "T":
        assert_same(t.T, a.T)
    elif op in ("contiguous", "clone"):
        assert_same(getattr(t, op)(), a)


@given(st.data())
def test_cat_stack_expand_gather(data):
    dtype = data.draw(st.sampled_from(FLOATS + [torch.int64]))
    shape = data.draw(nonempty_shapes)
    d = data.draw(st.integers(0, len(shape) - 1))
    parts, refs = [], []
    for _ in range(data.draw(st.integers(1, 3))):
        s = list(shape)
        s[d] = data.draw(st.integers(0, 3))
        t, a = data.draw(laid_out(data.draw(arrays(dtype, tuple(s)))))
        parts.append(t)
        refs.append(np.array(a))
    assert_same(torch.cat(parts, d), np.concatenate(refs, d))
    same = [r for r in refs if r.shape == refs[0].shape]
    sd = data.draw(st.integers(0, len(shape)))
    assert_same(torch.stack([torch.tensor(r) for r in same], sd), np.stack(same, sd))
    base = refs[0]
    target = tuple(data.draw(st.integers(0, 3)) if n == 1 else n for n in base.shape)
    lead = tuple(data.draw(st.lists(st.integers(0, 2), max_size=2)))
    assert_same(torch.tensor(base).expand(*(lead + target)), np.broadcast_to(base, lead + target))
    if base.size:
        gd = data.draw(st.integers(0, base.ndim - 1))
        ishape = tuple(data.draw(st.integers(1, n)) if i != gd else data.draw(st.integers(0, 3))
                       for i, n in enumerate(base.shape))
        idx = data.draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, base.shape[gd] - 1)))
        expected = np.take_along_axis(base[tuple(slice(0, n) if i != gd else slice(None) for i, n in enumerate(ishape))],
                                      idx, axis=gd)
        assert_same(torch.tensor(base).gather(gd, torch.tensor(idx)), expected)


# ---- matmul --------------------------------------------------------------------------
@st.composite
def matmul_operands(draw):
    m, k, n = (draw(st.integers(0, 6)) for _ in range(3))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, min_side=0, max_side=3))
    kind_a, kind_b = draw(st.sampled_from(["1d", "2d", "nd"])), draw(st.sampled_from(["1d", "2d", "nd"]))
    sa = (k,) if kind_a == "1d" else (m, k) if kind_a == "2d" else batch.input_shapes[0] + (m, k)
    sb = (k,) if kind_b == "1d" else (k, n) if kind_b == "2d" else batch.input_shapes[1] + (k, n)
    return sa, sb


@given(matmul_operands(), st.sampled_from(FLOATS), st.data())
def test_matmul_matches_numpy(shapes2, dtype, data):
    sa, sb = shapes2
    if sa[-1] == 0 and (len(sa) > 2 or len(sb) > 2):
        return  # see test_batched_matmul_with_empty_inner_dim (core bug, xfail)
    a = data.draw(arrays(dtype, sa, special=False))
    b = data.draw(arrays(dtype, sb, special=False))
    ta, ea = data.draw(laid_out(a))
    tb, eb = data.draw(laid_out(b))
    ea, eb = np.array(ea), np.array(eb)
    got = ta @ tb
    expected = np.matmul(ea.astype(np.float64), eb.astype(np.float64))
    scale = np.matmul(np.abs(ea).astype(np.float64), np.abs(eb).astype(np.float64))
    err = np.abs(got.numpy().astype(np.float64) - expected)
    eps = 1e-6 if dtype is torch.float32 else 1e-14
    assert got.shape == expected.shape and got.dtype is dtype
    assert np.all(err <= eps * 4 * (scale + 1e-30)), err.max()


@given(st.integers(1, 5), st.integers(1, 40), st.integers(1, 5), st.sampled_from(FLOATS), st.data())
def test_matmul_propagates_nan(m, k, n, dtype, data):
    a = data.draw(arrays(dtype, (m, k), special=False))
    b = data.draw(arrays(dtype, (k, n), special=False))
    i, j = data.draw(st.integers(0, m - 1)), data.draw(st.integers(0, k - 1))
    a[i, j] = np.nan
    b[data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, n - 1))] = np.inf
    got = (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()
    with _ignore():
        expected = a.astype(np.float64) @ b.astype(np.float64)
    assert np.all(np.isnan(got[i]))  # a NaN in row i of A poisons row i of the product
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))


# ---- softmax, cross_entropy ------------------------------------------------------------
def test_softmax_large_logits_exact():
    x = torch.tensor([1e5, 1e5])
    assert torch.softmax(x, 0).tolist() == [0.5, 0.5]
    assert abs(torch.log_softmax(x, 0)[0].item() - math.log(0.5)) < 1e-6


def test_batched_matmul_with_empty_inner_dim():
    assert (torch.ones(2, 3, 0) @ torch.ones(0, 4)).tolist() == np.zeros((2, 3, 4)).tolist()
    assert (torch.ones(0, 0, 0) @ torch.ones(0, 0)).shape == (0, 0, 0)


# Moderate magnitudes (large offsets hit test_softmax_large_logits_exact) and no +inf (the
# core gives softmax([0, inf]) = [0, nan] where the naive formula gives [nan, nan]).
_SOFTMAX_ELEMENTS = {
    dt: st.one_of(st.floats(-30, 30, width=w), st.sampled_from([-math.inf, math.nan, 0.0, -0.0]))
    for dt, w in ((torch.float32, 32), (torch.float64, 64))}


@given(st.booleans(), st.data())
def test_softmax_log_softmax(log, data):
    dtype = data.draw(st.sampled_from(FLOATS))
    arr = data.draw(hnp.arrays(NP[dtype], data.draw(nonempty_shapes), elements=_SOFTMAX_ELEMENTS[dtype]))
    t, a = data.draw(laid_out(arr))
    a = np.array(a)
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    x = a.astype(np.float64)
    with _ignore():
        z = x - np.max(x, axis=dim, keepdims=True)
        lse = np.log(np.sum(np.exp(z), axis=dim, keepdims=True))
        ref = z - lse if log else np.exp(z - lse)
    got = (torch.log_softmax if log else torch.softmax)(t, dim)
    assert_same(got, ref.astype(a.dtype), 1e-5 if a.dtype == np.float32 else 1e-10,
                1e-6 if a.dtype == np.float32 else 1e-12)


def _np_cross_entropy(x, target, weight, reduction, ignore_index, smoothing):
    x = x.astype(np.float64)
    c = x.shape[1]
    xm = np.moveaxis(x, 1, -1).reshape(-1, c)
    t = target.reshape(-1)
    with _ignore():
        m = xm.max(axis=1, keepdims=True)
        logp = xm - m - np.log(np.exp(xm - m).sum(axis=1, keepdims=True))
    w = np.ones(c) if weight is None else weight.astype(np.float64)
    keep = t != ignore_index
    safe = np.where(keep, t, 0)
    wt = np.where(keep, w[safe], 0.0)
    nll = -logp[np.arange(len(t)), safe] * wt
    smooth = np.where(keep, -(logp * w).sum(axis=1), 0.0)
    loss = (1 - smoothing) * nll + smoothing / c * smooth
    if reduction == "none":
        return loss.reshape((x.shape[0],) + x.shape[2:])
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / wt.sum()


@given(st.data())
def test_cross_entropy_matches_reference(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    n, c = data.draw(st.integers(0, 5)), data.draw(st.integers(1, 5))
    extra = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    x = data.draw(arrays(dtype, (n, c) + extra, special=False))
    target = data.draw(hnp.arrays(np.int64, (n,) + extra, elements=st.sampled_from(list(range(c)) + [-100])))
    weight = data.draw(st.none() | arrays(dtype, (c,), bound=2.0).map(np.abs))
    reduction = data.draw(st.sampled_from(["none", "mean", "sum"]))
    smoothing = data.draw(st.sampled_from([0.0, 0.1, 0.5]))
    tx, ex = data.draw(laid_out(x, allow_expand=False))
    got = F.cross_entropy(tx, torch.tensor(target), None if weight is None else torch.tensor(weight),
                          reduction=reduction, label_smoothing=smoothing)
    expected = _np_cross_entropy(np.array(ex), target, weight, reduction, -100, smoothing)
    assert_same(got, np.asarray(expected).astype(x.dtype), 1e-4 if dtype is torch.float32 else 1e-9,
                1e-5 if dtype is torch.float32 else 1e-12)


# ---- convolution, pooling, normalisation ------------------------------------------------
def _np_conv2d(x, w, b, stride, pad, dil, groups):
    n, cin, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0],) * 2, (pad[1],) * 2))
    oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dil[0]: i * dil[0] + stride[0] * (oh - 1) + 1: stride[0],
                           j * dil[1]: j * dil[1] + stride[1] * (ow - 1) + 1: stride[1]]
                out[:, g * og:(g + 1) * og] += np.einsum("nchw,oc->nohw", patch, w[g * og:(g + 1) * og, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out


@given(st.data())
def test_conv2d_matches_reference(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    groups = data.draw(st.integers(1, 3))
    cg, og = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    dil = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    pad = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    h = data.draw(st.integers(max(1, dil[0] * (kh - 1) + 1 - 2 * pad[0]), 7))
    w_ = data.draw(st.integers(max(1, dil[1] * (kw - 1) + 1 - 2 * pad[1]), 7))
    n = data.draw(st.integers(0, 2))
    x = data.draw(arrays(dtype, (n, groups * cg, h, w_), special=False))
    w = data.draw(arrays(dtype, (groups * og, cg, kh, kw), special=False))
    b = data.draw(st.none() | arrays(dtype, (groups * og,), special=False))
    tx, ex = data.draw(laid_out(x))
    got = F.conv2d(tx, torch.tensor(w), None if b is None else torch.tensor(b), stride, pad, dil, groups)
    expected = _np_conv2d(np.array(ex, dtype=np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                          stride, pad, dil, groups)
    scale = _np_conv2d(np.abs(np.array(ex, dtype=np.float64)), np.abs(w.astype(np.float64)), None, stride, pad, dil, groups)
    err = np.abs(got.numpy().astype(np.float64) - expected)
    assert got.shape == expected.shape
    assert np.all(err <= (1e-5 if dtype is torch.float32 else 1e-12) * (scale + 1 + (0 if b is None else np.abs(b).max()))), err.max()


def _pool_out(size, k, s, p, d, ceil):
    eff = d * (k - 1) + 1
    num = size + 2 * p - eff
    out = (-(-num // s) if ceil else num // s) + 1
    if ceil and (out - 1) * s >= size + p:
        out -= 1
    return out


@given(st.data())
def test_pools_match_reference(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    sh, sw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    ph, pw = data.draw(st.integers(0, kh // 2)), data.draw(st.integers(0, kw // 2))
    dh, dw = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))
    ceil = data.draw(st.booleans())
    h = data.draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 7))
    w = data.draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 7))
    x = data.draw(arrays(dtype, (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)), h, w), special=False))
    tx, ex = data.draw(laid_out(x))
    ex = np.array(ex, dtype=np.float64)
    oh, ow = _pool_out(h, kh, sh, ph, dh, ceil), _pool_out(w, kw, sw, pw, dw, ceil)
    # max pool (with indices into each plane)
    ref = np.full(x.shape[:2] + (oh, ow), -np.inf)
    ridx = np.zeros(x.shape[:2] + (oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - ph, j * sw - pw
            while r0 < 0:
                r0 += dh
            while c0 < 0:
                c0 += dw
            ridx[:, :, i, j] = r0 * w + c0  # PyTorch's index for a window of padding only
            for a in range(kh):
                for b in range(kw):
                    r, c = i * sh - ph + a * dh, j * sw - pw + b * dw
                    if 0 <= r < h and 0 <= c < w:
                        v = ex[:, :, r, c]
                        better = v > ref[:, :, i, j]
                        ref[:, :, i, j] = np.where(better, v, ref[:, :, i, j])
                        ridx[:, :, i, j] = np.where(better, r * w + c, ridx[:, :, i, j])
    got, idx = F.max_pool2d(tx, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode=ceil, return_indices=True)
    assert_same(got, ref.astype(x.dtype))
    assert_same(idx, ridx)
    # avg pool (no dilation)
    ceil_a = data.draw(st.booleans())
    include = data.draw(st.booleans())
    divisor = data.draw(st.none() | st.integers(1, 5))
    oh, ow = _pool_out(h, kh, sh, ph, 1, ceil_a), _pool_out(w, kw, sw, pw, 1, ceil_a)
    if oh < 1 or ow < 1:
        return
    ref = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * sh - ph, j * sw - pw
            h1, w1 = min(h0 + kh, h + ph), min(w0 + kw, w + pw)
            pool = (h1 - h0) * (w1 - w0)
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, h), min(w1, w)
            total = ex[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
            div = divisor or (pool if include else (h1 - h0) * (w1 - w0))
            ref[:, :, i, j] = total / div
    got = F.avg_pool2d(tx, (kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil_a, count_include_pad=include,
                       divisor_override=divisor)
    assert_same(got, ref.astype(x.dtype), 1e-5 if dtype is torch.float32 else 1e-10, 1e-5)
    # adaptive
    aoh, aow = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5))
    ref = np.zeros(x.shape[:2] + (aoh, aow))
    for i in range(aoh):
        for j in range(aow):
            h0, h1 = (i * h) // aoh, -(-((i + 1) * h) // aoh)
            w0, w1 = (j * w) // aow, -(-((j + 1) * w) // aow)
            ref[:, :, i, j] = ex[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    assert_same(F.adaptive_avg_pool2d(tx, (aoh, aow)), ref.astype(x.dtype), 1e-5 if dtype is torch.float32 else 1e-10, 1e-5)


@given(st.data())
def test_batch_norm_layer_norm(data):
    dtype = data.draw(st.sampled_from(FLOATS))
    shape = (data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))) + tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    x = data.draw(arrays(dtype, shape, special=False))
    tx, ex = data.draw(laid_out(x))
    ex = np.array(ex, dtype=np.float64)
    axes = (0,) + tuple(range(2, ex.ndim))
    bshape = (1, -1) + (1,) * (ex.ndim - 2)
    rm, rv = np.zeros(shape[1], dtype=x.dtype), np.ones(shape[1], dtype=x.dtype)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    wgt = data.draw(arrays(dtype, (shape[1],), special=False))
    bias = data.draw(arrays(dtype, (shape[1],), special=False))
    eps, mom = 1e-5, 0.1
    got = F.batch_norm(tx, trm, trv, torch.tensor(wgt), torch.tensor(bias), training=True, momentum=mom, eps=eps)
    mean, var = ex.mean(axis=axes), ex.var(axis=axes)
    count = ex.size // shape[1]
    ref = (ex - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + eps) * wgt.reshape(bshape) + bias.reshape(bshape)
    # A mean off by one ulp of max|x| is amplified by 1 / sqrt(eps) for (near-)constant inputs.
    ulp = float(np.spacing(x.dtype.type(np.abs(ex).max()))) * max(1.0, float(np.abs(wgt).max()))
    rt = (2e-4, 2e-4 + 4 * ulp / math.sqrt(eps)) if dtype is torch.float32 else (1e-8, 1e-8 + 4 * ulp / math.sqrt(eps))
    assert_same(got, ref.astype(x.dtype), *rt)
    assert_same(trm, ((1 - mom) * rm + mom * mean).astype(x.dtype), *rt)
    assert_same(trv, ((1 - mom) * rv + mom * var * count / max(count - 1, 1)).astype(x.dtype), *rt)
    got = F.batch_norm(tx, trm, trv, training=False, eps=eps)
    ref = (ex - trm.numpy().reshape(bshape)) / np.sqrt(trv.numpy().astype(np.float64).reshape(bshape) + eps)
    assert_same(got, ref.astype(x.dtype), *rt)
    k = data.draw(st.integers(1, ex.ndim))
    norm_axes = tuple(range(ex.ndim - k, ex.ndim))
    ref = (ex - ex.mean(axis=norm_axes, keepdims=True)) / np.sqrt(ex.var(axis=norm_axes, keepdims=True) + eps)
    assert_same(F.layer_norm(tx, shape[ex.ndim - k:], eps=eps), ref.astype(x.dtype), *rt)


# ---- gradients against finite differences --------------------------------------------
GRAD_OPS = {
    "mul_add": (2, lambda a, b: a * b + a),
    "div": (2, lambda a, b: a / (b * b + 1)),
    "exp_tanh_sigmoid": (1, lambda a: a.exp() * a.tanh() + a.sigmoid()),
    "gelu_sin_cos": (1, lambda a: torch.gelu(a) + a.sin() * a.cos()),
    "sum_mean_dims": (1, lambda a: a.sum(-1, keepdim=True) * a.mean(0)),
    "max_dim": (1, lambda a: a.max(-1)[0]),
    "logsumexp": (1, lambda a: a.logsumexp(-1)),
    "softmax": (1, lambda a: torch.softmax(a, -1)),
    "log_softmax": (1, lambda a: torch.log_softmax(a, 0)),
    "matmul": (2, lambda a, b: a @ b.t()),
    "transpose_reshape": (1, lambda a: a.t().reshape(-1) * 2),
    "index": (1, lambda a: a[1:, ::2] * a[0, ::2]),
    "cross_entropy": (1, lambda a: F.cross_entropy(a, torch.tensor([0] * a.shape[0]), label_smoothing=0.1)),
    "layer_norm": (1, lambda a: F.layer_norm(a, a.shape[-1:])),
    "cat_stack": (2, lambda a, b: torch.cat([a, b], 0) * torch.stack([a, b], 0).sum(0).sum()),
    "maximum_where": (2, lambda a, b: torch.maximum(a, b) + torch.where(a > 0, a, b * 2)),
    # an intermediate that several later ops (and reductions) reuse
    "reuse_matmul_sum": (2, lambda a, b: _reuse(a @ b.t(), lambda h: h.tanh() * h + h.sum())),
    "reuse_cross_entropy_penalty": (1, lambda a: _reuse(a * 2 + 1, lambda h: F.cross_entropy(
        h, torch.tensor([0] * h.shape[0])) + 0.01 * h.sum())),
    "reuse_mean_expand": (1, lambda a: _reuse(a.sin(), lambda h: h - h.mean(0, keepdim=True).expand_as(h)
                                              + h.sum(-1, keepdim=True))),
    "reuse_views": (1, lambda a: _reuse(a.exp() * 0.5, lambda h: h.t()[0] * h[:, 0] + h.reshape(-1).sum()
                                        + h[0].sum() * h.t().mean())),
}


def _reuse(h, f):
    return f(h)


def _check_against_finite_differences(loss_of, xs, label):
    """loss_of(arrays, grad) -> (scalar loss, input tensors): the backward gradients of
    each input against central differences (step 1e-6) in float64."""
    loss, ts = loss_of(xs, grad=True)
    loss.backward()
    h = 1e-6
    for i, x in enumerate(xs):
        num = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            hi = [a.copy() for a in xs]
            lo = [a.copy() for a in xs]
            hi[i][idx] += h
            lo[i][idx] -= h
            num[idx] = (loss_of(hi)[0].item() - loss_of(lo)[0].item()) / (2 * h)
        got = np.zeros_like(x) if ts[i].grad is None else ts[i].grad.numpy()  # None: a leaf never read
        np.testing.assert_allclose(got, num, rtol=1e-5, atol=1e-6, err_msg=label)


@given(st.sampled_from(sorted(GRAD_OPS)), st.integers(2, 4), st.integers(2, 4), st.data())
def test_gradients_match_finite_differences(name, m, n, data):
    n_in, fn = GRAD_OPS[name]
    xs = [data.draw(hnp.arrays(np.float64, (m, n), elements=st.floats(-2, 2))) for _ in range(n_in)]
    if name in ("max_dim", "maximum_where"):  # keep away from ties and kinks
        for x in xs:
            x += np.arange(x.size).reshape(x.shape) * 0.37
        if name == "maximum_where":
            xs[0] = np.where(np.abs(xs[0]) < 0.1, 0.5, xs[0])
            xs[1] = xs[0] + np.where(np.abs(xs[1] - xs[0]) < 0.1, 0.5, xs[1] - xs[0])
    weights = np.random.RandomState(0).uniform(-1, 1, size=64)

    def scalar(arrs, grad=False):
        ts = [torch.tensor(a, requires_grad=grad) for a in arrs]
        out = fn(*ts)
        w = torch.tensor(weights[:out.numel()].reshape(tuple(out.shape)))
        return (out * w).sum(), ts

    _check_against_finite_differences(scalar, xs, name)


# ---- gradients through reused intermediates -------------------------------------------
# Every op maps (m, n) operands to an (m, n) result and is smooth (no kinks, no ties) with
# at most linear growth, so finite differences stay accurate along any program.  A program
# chains random ops, each applied to the previous value and, for binary ops or a residual
# add, to a random earlier value (a leaf or an intermediate); the loss adds terms on random
# intermediates, some plain sums or means, whose backward hands the intermediate an
# expanded gradient.  So every program has an intermediate that gradients reach along
# several paths, in varying orders, through reductions, expands, views and copies.
def _mask_like(h):
    return torch.tensor(np.arange(h.numel()).reshape(tuple(h.shape)) % 3 == 0)


REUSE_UNARY = {
    "tanh": lambda h: h.tanh(),
    "sin": lambda h: (h * 0.7).sin(),
    "sigmoid": lambda h: h.sigmoid(),
    "times_tanh": lambda h: h * h.tanh(),
    "softmax": lambda h: torch.softmax(h, -1),
    "log_softmax_dim0": lambda h: torch.log_softmax(h, 0),
    "center_rows": lambda h: h - h.mean(1, keepdim=True),
    "sum_expand": lambda h: h.sum(0, keepdim=True).expand(*h.shape) * 0.5,
    "scale_by_mean": lambda h: h * h.mean().tanh(),
    "add_sum": lambda h: h + h.sum() * 0.1,
    "transpose_copy": lambda h: h.t().contiguous().t() * 1.5,
    "reshape_view": lambda h: h.reshape(-1).view(*h.shape) + h,
    "roll_rows": lambda h: torch.cat([h[1:], h[:1]], 0),
    "flip_cols": lambda h: h.index_select(1, torch.arange(h.shape[1] - 1, -1, -1)),
    "unsqueeze_expand_sum": lambda h: h.unsqueeze(0).expand(3, *h.shape).sum(0) * 0.3,
    "gram": lambda h: (h.tanh() @ h.tanh().t()) @ h * 0.25,
    "times_first_col": lambda h: h * h[:, :1].tanh(),
    "logsumexp_center": lambda h: h - h.logsumexp(-1, keepdim=True),
    "stack_mean": lambda h: torch.stack([h, h.sin(), h], 0).mean(0),
}
REUSE_BINARY = {
    "add": lambda a, b: a + b,
    "mul_tanh": lambda a, b: a * b.tanh(),
    "div": lambda a, b: a / (1 + b * b),
    "where": lambda a, b: torch.where(_mask_like(a), a, b * 0.5),
    "matmul": lambda a, b: a @ b.tanh().t() @ a.tanh() * 0.25,
    "sub_first_row": lambda a, b: a - b[0],
    "cat_halves": lambda a, b: torch.cat([a, b], 1).reshape(a.shape[0], 2, a.shape[1]).mean(1),
}
REUSE_OPS = sorted(REUSE_UNARY) + sorted(REUSE_BINARY)


@st.composite
def reuse_programs(draw):
    n_leaves = draw(st.integers(1, 2))
    steps = draw(st.lists(st.tuples(st.sampled_from(REUSE_OPS), st.integers(0, 63), st.booleans()),
                          min_size=1, max_size=6))
    terms = draw(st.lists(st.tuples(st.integers(0, 63), st.sampled_from(["weighted", "sum", "scaled_sum", "mean",
                                                                         "row_sums", "col_means"])),
                          min_size=1, max_size=3))
    return n_leaves, steps, terms


def _run_program(leaves, steps, terms, weights):
    nodes = list(leaves)
    for op, j, residual in steps:
        a, b = nodes[-1], nodes[j % len(nodes)]
        if op in REUSE_BINARY:
            out = REUSE_BINARY[op](a, b)
        else:
            out = REUSE_UNARY[op](a)
            if residual:
                out = out + 0.5 * b
        nodes.append(out)
    inter = nodes[len(leaves):]
    w = torch.tensor(weights[0].reshape(tuple(inter[-1].shape)))
    loss = (inter[-1] * w).sum()
    for k, (i, kind) in enumerate(terms):
        h = inter[i % len(inter)]
        wk = weights[k + 1]
        if kind == "sum":
            loss = loss + h.sum()
        elif kind == "scaled_sum":  # the sum's gradient is a fresh tensor, expanded to h's shape
            loss = loss + float(wk[0]) * h.sum()
        elif kind == "mean":
            loss = loss + 3 * h.mean()
        elif kind == "row_sums":
            loss = loss + (h.sum(1) * torch.tensor(wk[:h.shape[0]])).sum()
        elif kind == "col_means":
            loss = loss + (h.mean(0, keepdim=True) * torch.tensor(wk[:h.shape[1]])).sum()
        else:
            loss = loss + (h * torch.tensor(wk.reshape(tuple(h.shape)))).sum()
    return loss


@given(reuse_programs(), st.integers(2, 4), st.integers(2, 4), st.data())
def test_reused_intermediates_gradients_match_finite_differences(program, m, n, data):
    n_leaves, steps, terms = program
    xs = [data.draw(hnp.arrays(np.float64, (m, n), elements=st.floats(-2, 2))) for _ in range(n_leaves)]
    weights = np.random.RandomState(1).uniform(-1, 1, size=(len(terms) + 1, m * n))

    def loss_of(arrs, grad=False):
        ts = [torch.tensor(a, requires_grad=grad) for a in arrs]
        return _run_program(ts, steps, terms, weights), ts

    _check_against_finite_differences(loss_of, xs, str(program))


# ---- malformed calls -----------------------------------------------------------------
def _malformed(draw_int, t):
    nd = t.ndim
    # out of range for every drawn tensor (sides 1..3), either sign: a small big such as 0
    # would index a valid element
    big = draw_int(4, 2**62) * (1 if draw_int(0, 1) else -1)
    ndw = max(nd, 1)  # a 0-d tensor accepts dims -1 and 0, as in PyTorch
    bad_dim = draw_int(ndw, ndw + 10) if draw_int(0, 1) else draw_int(-ndw - 10, -ndw - 1)
    calls = [
        lambda: t.sum(bad_dim), lambda: t.mean(bad_dim), lambda: t.max(bad_dim), lambda: t.transpose(0, bad_dim),
        lambda: t.softmax(bad_dim), lambda: t.unsqueeze(bad_dim + (1 if bad_dim > 0 else -1)), lambda: t.squeeze(bad_dim),
        lambda: t.logsumexp(bad_dim), lambda: t.index_select(bad_dim, torch.tensor([0])),
        lambda: t.reshape(t.numel() + draw_int(1, 5)), lambda: t.view(-1, -1), lambda: t.permute(*range(nd + 1)),
        lambda: t[tuple([0] * (nd + 1))], lambda: t.select(0, big) if hasattr(t, "select") else t[big],
        lambda: t[big] if nd else t[0], lambda: t.expand(*([2] * max(nd - 1, 0))) if nd else t.expand(-2),
        lambda: t @ torch.ones(t.shape[-1] + 1 if nd else 1, dtype=t.dtype),
        lambda: torch.cat([t, torch.ones(*(tuple(t.shape) + (2,)), dtype=t.dtype)]),
        lambda: torch.empty(big if big < 0 else -big - 1), lambda: torch.zeros(2**31, 2**31, 2**31),
        lambda: torch.ones(2**40, 2**30), lambda: t.reshape(*([1] * 9)),
        lambda: F.cross_entropy(t, torch.tensor([big])), lambda: F.conv2d(t, torch.ones(1, 1, 2, 2, dtype=t.dtype)),
        lambda: F.max_pool2d(t, draw_int(-3, 0)), lambda: F.layer_norm(t, (draw_int(5, 9),)),
        lambda: t.gather(0, torch.tensor([big])), lambda: torch.ones(3)[torch.tensor([big % 1000 + 3])],
    ]
    return calls[draw_int(0, len(calls) - 1)]


@given(st.data())
def test_malformed_calls_raise(data):
    t, _ = data.draw(tensor_and_array(FLOATS + [torch.int64], shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=1,
                                                                                   max_side=3)))
    call = _malformed(lambda lo, hi: data.draw(st.integers(lo, hi)), t)
    with pytest.raises(ERRORS):
        call()
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


@given(st.lists(st.integers(-2**63, 2**63 - 1), min_size=0, max_size=9), st.sampled_from([0, 1, 2, 3, 4, -1, 99]))
def test_random_creation_args_never_crash(shape, dtype_code):
    from pyautodiff._ffi import check, ffi, lib

    if any(s < 0 for s in shape) or dtype_code not in (0, 1, 2, 3) or len(shape) > 8:
        expected = True
    else:
        total = 1
        for s in shape:
            total *= s
        expected = total * 8 > 2**45  # allocations that cannot succeed
        if not expected:
            return  # a real allocation: nothing hostile about it
    out = ffi.new("pa_tensor *[1]")
    with pytest.raises(ERRORS):
        check(lib.pa_empty(len(shape), ffi.new("int64_t[]", shape or [0]), dtype_code, out))
