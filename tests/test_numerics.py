"""Accuracy of the vectorised math and numerically delicate ops."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn.functional as F


def ulp_error(got, want):
    """|got - want| in units of float32 spacing at want (want computed in float64)."""
    spacing = np.spacing(np.abs(want).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want) / spacing


def test_float32_exp_within_one_ulp_everywhere():
    x = np.concatenate([np.linspace(-104, 89, 400_001, dtype=np.float32),
                        np.float32([0.0, -0.0, 1e-30, -1e-30, 88.72, -87.3, -100.0])])
    got = torch.exp(torch.from_numpy(x)).numpy()
    want = np.exp(x.astype(np.float64))
    finite = np.isfinite(want.astype(np.float32)) & (want > np.finfo(np.float32).tiny)
    assert ulp_error(got[finite], want[finite]).max() <= 1.0
    subnormal = (want <= np.finfo(np.float32).tiny) & (want > 0)
    np.testing.assert_allclose(got[subnormal], want[subnormal].astype(np.float32), rtol=0, atol=2e-45)


def test_float32_exp_special_values():
    x = torch.tensor([np.inf, -np.inf, np.nan, 89.0, -110.0, 0.0])
    got = torch.exp(x).numpy()
    assert got[0] == np.inf and got[1] == 0 and np.isnan(got[2]) and got[3] == np.inf
    assert got[4] == 0 and got[5] == 1


def test_sigmoid_saturates_cleanly():
    x = np.array([-200.0, -20.0, 0.0, 20.0, 200.0])
    got = torch.sigmoid(torch.tensor(x, dtype=torch.float32)).numpy()
    want = (1 / (1 + np.exp(-x))).astype(np.float32)  # 1e-87 is 0 in float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)


def test_extreme_logits_give_finite_gradients():
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]], dtype=dtype, requires_grad=True)
        t = torch.tensor([0, 2])
        F.cross_entropy(x, t).backward()
        assert np.isfinite(x.grad.numpy()).all()
        for fn in (lambda v: torch.log_softmax(v, 1), lambda v: torch.softmax(v, 1), lambda v: v.logsumexp(1)):
            x.grad = None
            out = fn(x)
            assert np.isfinite(out.detach().numpy()).all()
            out.sum().backward()
            assert np.isfinite(x.grad.numpy()).all()


def test_float32_softmax_and_cross_entropy_many_classes_match_float64():
    # 1000 classes: the float32 rows go through the vectorised exp and 16 partial sums
    rng = np.random.default_rng(5)
    x64 = rng.normal(0, 4, (37, 1000))
    x64[3, 17] = np.nan  # a NaN row stays NaN
    target = rng.integers(0, 1000, 37)
    x32 = x64.astype(np.float32)
    ref = x32.astype(np.float64)
    shifted = ref - ref.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    got_log = F.log_softmax(torch.from_numpy(x32), 1).numpy()
    got_p = F.softmax(torch.from_numpy(x32), 1).numpy()
    assert np.isnan(got_log[3]).all() and np.isnan(got_p[3]).all()
    ok = np.arange(37) != 3
    np.testing.assert_allclose(got_log[ok], logp[ok], rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(got_p[ok], np.exp(logp[ok]), rtol=4e-6, atol=1e-12)
    logits = torch.from_numpy(x32[ok]).requires_grad_(True)
    loss = F.cross_entropy(logits, torch.from_numpy(target[ok]))
    loss.backward()
    want_loss = -logp[ok][np.arange(36), target[ok]].mean()
    assert abs(loss.item() - want_loss) <= 2e-6 * abs(want_loss)
    want_grad = np.exp(logp[ok])
    want_grad[np.arange(36), target[ok]] -= 1
    np.testing.assert_allclose(logits.grad.numpy(), want_grad / 36, rtol=1e-5, atol=1e-9)


def _rowwise(fn, x):
    """fn applied to each row alone: a (1, C) input never fills a 16-row tile."""
    return np.concatenate([fn(x[i:i + 1]) for i in range(x.shape[0])])


def test_few_class_rows_tiled_path_is_bit_identical_to_one_row_path():
    # 16-row tiles of C < 16 float32 classes run across rows in SIMD; every row must get
    # exactly the bits of the one-row path, tail rows, infinities and NaNs included.
    rng = np.random.default_rng(11)
    for C in (2, 3, 10, 15):
        x = rng.normal(0, 6, (53, C)).astype(np.float32)
        x[20, 1] = np.inf          # a tile with an infinity falls back to the row path
        x[40, 0] = np.nan
        x[50] = -np.inf
        target = rng.integers(0, C, 53)
        target[7] = -100           # ignore_index
        w = rng.random(C).astype(np.float32) + 0.5
        t = torch.from_numpy(x)
        for fn in (lambda a: F.softmax(torch.from_numpy(a), 1).numpy(),
                   lambda a: F.log_softmax(torch.from_numpy(a), 1).numpy()):
            np.testing.assert_array_equal(fn(x), _rowwise(fn, x))
        for kw in ({}, {"weight": torch.from_numpy(w)}, {"label_smoothing": 0.1}):
            loss = F.cross_entropy(t, torch.from_numpy(target), reduction="none", **kw).numpy()
            rows = [F.cross_entropy(torch.from_numpy(x[i:i + 1]), torch.from_numpy(target[i:i + 1]),
                                    reduction="none", **kw).numpy() for i in range(53)]
            np.testing.assert_array_equal(loss, np.concatenate(rows))
            g = np.linspace(-1, 1, 53).astype(np.float32)
            xt = torch.from_numpy(x).requires_grad_(True)
            F.cross_entropy(xt, torch.from_numpy(target), reduction="none", **kw).backward(
                torch.from_numpy(g))
            grads = []
            for i in range(53):
                xi = torch.from_numpy(x[i:i + 1]).requires_grad_(True)
                F.cross_entropy(xi, torch.from_numpy(target[i:i + 1]), reduction="none",
                                **kw).backward(torch.from_numpy(g[i:i + 1]))
                grads.append(xi.grad.numpy())
            np.testing.assert_array_equal(xt.grad.numpy(), np.concatenate(grads))
            assert (xt.grad.numpy()[7] == 0).all()


def column_sums_in_chunks(x, chunk=256):
    """The float64 column sums sum(0) is specified to give: rows added one after another
    into float64 running sums; from 2 * chunk rows on, in chunks of `chunk` rows whose
    sums are then added in order (whatever the thread count)."""
    x = x.astype(np.float64)
    if len(x) < 2 * chunk:
        return np.add.reduce(x, axis=0)
    parts = [np.add.reduce(x[q:q + chunk], axis=0) for q in range(0, len(x), chunk)]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def test_column_sums_add_rows_in_order_in_float64():
    # sum over a leading dim adds whole rows into float64 running sums, row after row
    # (four rows per pass over the sums): exactly NumPy's row-by-row float64 sum, for
    # row counts that do and do not divide by four; 512+ rows of one block are summed
    # in 256-row chunks added in order (column_sums_in_chunks), on any thread count.
    rng = np.random.default_rng(3)
    threads = torch.get_num_threads()
    try:
        for nt in sorted({1, threads}):
            torch.set_num_threads(nt)
            for rows in (1, 3, 4, 5, 511, 512, 1027):
                for dtype in (np.float32, np.float64):
                    x = (rng.standard_normal((rows, 131)) *
                         10 ** rng.uniform(-3, 3, (rows, 1))).astype(dtype)
                    want = column_sums_in_chunks(x).astype(dtype)
                    got = torch.from_numpy(x).sum(0).numpy()
                    np.testing.assert_array_equal(got, want)
                    np.testing.assert_array_equal(
                        torch.from_numpy(x.reshape(1, rows, 131)).sum(1).numpy(), want[None])
                    if rows >= 512:  # the chunks change the bits, not the accuracy
                        exact = np.array([sum(map(__import__("fractions").Fraction, c))
                                          for c in x[:, :8].astype(np.float64).T], dtype=np.float64)
                        np.testing.assert_allclose(got[:8], exact.astype(dtype), rtol=1e-12 if
                                                   dtype == np.float64 else 1e-6)
    finally:
        torch.set_num_threads(threads)


def test_wide_float32_rows_with_infinities_and_nan():
    # rows of C >= 16 take a vectorised max that hands rows with an infinity or a NaN
    # back to the one-row loop; both must give PyTorch's values (a row holding +inf is
    # all NaN there: inf - inf enters the sum).
    rng = np.random.default_rng(8)
    x = rng.normal(0, 3, (6, 40)).astype(np.float32)
    x[1, 3] = -np.inf             # in the first 16 lanes: stays on the vector path
    x[2, 30] = -np.inf            # later: back to the row loop
    x[3, 25] = np.inf
    x[4, 39] = np.nan             # in the tail
    x[5, 0] = np.nan
    got = F.log_softmax(torch.from_numpy(x), 1).numpy()
    p = F.softmax(torch.from_numpy(x), 1).numpy()
    ref = x.astype(np.float64)
    for r in (0, 1, 2):
        shifted = ref[r] - ref[r].max()
        want = shifted - np.log(np.exp(shifted).sum())
        np.testing.assert_allclose(got[r], want, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(p[r], np.exp(want), rtol=4e-6, atol=1e-12)
    assert got[1, 3] == -np.inf and got[2, 30] == -np.inf and p[2, 30] == 0
    assert np.isnan(got[3]).all() and np.isnan(p[3]).all()
    assert np.isnan(got[4]).all() and np.isnan(got[5]).all() and np.isnan(p[5]).all()
    loss = F.cross_entropy(torch.from_numpy(x[:4]), torch.from_numpy(np.array([0, 3, 5, 1])),
                           reduction="none").numpy()
    assert loss[1] == np.inf and np.isfinite(loss[[0, 2]]).all() and np.isnan(loss[3])
    small = np.array([[1, np.inf, 2], [-np.inf] * 3, [1, -np.inf, 0]], np.float32)
    assert np.isnan(F.log_softmax(torch.from_numpy(small), 1).numpy()[:2]).all()
    np.testing.assert_allclose(F.softmax(torch.from_numpy(small), 1).numpy()[2],
                               [0.7310586, 0, 0.26894143], rtol=1e-6)


@pytest.mark.parametrize("C", [40, 1000])
def test_wide_float32_rows_with_values_far_below_the_max(C):
    # exp(x - max) takes a one-scaling exp when no value of the row lies 87 below its
    # max (the row's least value decides); a row with one such value, in the first 16
    # lanes, the middle or the tail, must still get its subnormal or zero probability,
    # forward and backward, in softmax, log_softmax, logsumexp and cross-entropy.
    rng = np.random.default_rng(C)
    x = rng.normal(0, 2, (7, C)).astype(np.float32)
    x[1, 2] = x[1].max() - 100     # e^-100: a subnormal probability
    x[2, C // 2] = x[2].max() - 150  # below the subnormals: 0
    x[3, C - 1] = x[3].max() - 95  # in the tail
    x[4, :] -= 88                  # a shift alone changes nothing
    x[5, 7] = x[5].max() - 86.5    # just inside the fast range
    x[6, 0] = -np.inf
    ref = x.astype(np.float64)
    shifted = ref - ref.max(1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(1, keepdims=True))
    want_logp, want_p = shifted - lse, np.exp(shifted - lse)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    logp = F.log_softmax(xt, 1)
    np.testing.assert_allclose(logp.detach().numpy(), want_logp, rtol=2e-6, atol=2e-6)
    g = rng.normal(size=x.shape).astype(np.float32)
    logp.backward(torch.from_numpy(g))
    want_glog = g - want_p * g.sum(1, keepdims=True)
    np.testing.assert_allclose(xt.grad.numpy(), want_glog, rtol=1e-5, atol=1e-5)
    assert xt.grad.numpy()[6, 0] == g[6, 0]
    p = F.softmax(torch.from_numpy(x), 1).numpy()
    tiny = np.finfo(np.float32).smallest_subnormal
    np.testing.assert_allclose(p, want_p.astype(np.float32), rtol=4e-6, atol=tiny)
    assert 0 < p[1, 2] < np.finfo(np.float32).tiny and p[2, C // 2] == 0 and p[6, 0] == 0
    np.testing.assert_allclose(torch.logsumexp(torch.from_numpy(x), 1).numpy(),
                               (ref.max(1, keepdims=True) + lse)[:, 0], rtol=1e-6)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    target = np.array([2, 3, 5, C - 1, 1, 7, 3])
    loss = F.cross_entropy(xt, torch.from_numpy(target), reduction="sum")
    loss.backward()
    rows = np.arange(7)
    np.testing.assert_allclose(loss.item(), -want_logp[rows, target].sum(), rtol=1e-5)
    want_g = want_p.copy()
    want_g[rows, target] -= 1
    np.testing.assert_allclose(xt.grad.numpy(), want_g, rtol=4e-6, atol=tiny)
    assert 0 < xt.grad.numpy()[1, 2] < 1e-38 and xt.grad.numpy()[2, 0] != 0


def test_float32_tanh_within_one_ulp_of_float64():
    # tanh is computed branch-free (a polynomial near 0, 1 - 2 / (e^2x + 1) beyond) so
    # that it vectorises: within 1 ulp of float64's tanh rounded, odd, +-1 at infinity.
    rng = np.random.default_rng(0)
    lo, hi = np.float32(0.55).view(np.int32), np.float32(0.7).view(np.int32)
    x = np.concatenate([np.linspace(-12, 12, 400_001, dtype=np.float32),
                        rng.standard_normal(200_000).astype(np.float32) * 3,
                        (rng.standard_normal(50_000) * 1e-3).astype(np.float32),
                        np.arange(lo, hi, 7, dtype=np.int32).view(np.float32),   # across the switch
                        np.array([1e-40, -1e-40, 9.5, 10.5, 1e30, -1e30], np.float32)])
    got = torch.tanh(torch.from_numpy(x)).numpy()
    want = np.tanh(x.astype(np.float64)).astype(np.float32)

    def ordinal(a):
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    assert np.abs(ordinal(got) - ordinal(want)).max() <= 1
    np.testing.assert_array_equal(torch.tanh(torch.from_numpy(-x)).numpy(), -got)
    special = torch.tanh(torch.tensor([0.0, -0.0, np.inf, -np.inf, np.nan])).numpy()
    np.testing.assert_array_equal(special[:4], [0.0, -0.0, 1.0, -1.0])
    assert np.signbit(special[1]) and not np.signbit(special[0]) and np.isnan(special[4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_by_the_exponents_pytorch_special_cases(dtype):
    # x ** 2, 3, -2, 0.5, -0.5, -1 with a Python number are x*x, x*x*x, 1/(x*x), sqrt,
    # 1/sqrt, 1/x, as in PyTorch's CPU kernel (so the bits are its, not powf's); a tensor
    # exponent, even of one element, is powf's (PyTorch's too: they differ at -0 and -inf
    # for the roots); other exponents stay powf; gradients are pow's.
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(5000) * 10, [0.0, -0.0, np.inf, -np.inf, 1e-30, -3.0]]).astype(dtype)
    t = torch.from_numpy(x)
    with np.errstate(all="ignore"):
        cases = {2: x * x, 3: x * x * x, -2: 1 / (x * x), 0.5: np.sqrt(x), -0.5: 1 / np.sqrt(x), -1: 1 / x}
        for e, want in cases.items():
            got = (t ** e).numpy()
            np.testing.assert_array_equal(got, want.astype(dtype))
            assert (np.signbit(got) == np.signbit(want)).all()
            finite = np.isfinite(x)   # (NumPy's power differs from C's pow at -inf)
            for exponent in (torch.tensor(e, dtype=torch.float64), torch.tensor([e])):
                got = (t ** exponent).numpy()[finite]
                close = np.power(x[finite].astype(np.float64), e).astype(dtype)
                ok = ~np.isnan(close)
                assert np.array_equal(np.isnan(got), ~ok)
                np.testing.assert_allclose(got[ok], close[ok], rtol=2e-7 if dtype == np.float32 else 1e-15)
        roots = torch.tensor(np.array([-0.0, -np.inf], dtype)) ** torch.tensor(-0.5)   # powf's: inf, 0
        np.testing.assert_array_equal(roots.numpy(), [np.inf, 0.0])
        np.testing.assert_array_equal((torch.tensor(np.array([-0.0, -np.inf], dtype)) ** -0.5).numpy(),
                                      [-np.inf, np.nan])          # 1 / sqrt, as PyTorch's scalar path
    a = torch.tensor(np.array([1.5, -2.0, 3.0], dtype), requires_grad=True)
    (a ** 3).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 3 * np.array([1.5, -2.0, 3.0]) ** 2, rtol=1e-6)
    b = torch.tensor(np.array([1.5, -2.0], dtype))
    b **= 2                                                       # in place, from a Python number
    np.testing.assert_array_equal(b.numpy(), np.array([2.25, 4.0], dtype))


def _float32_sample(n=2_000_000, seed=11):
    """Bit patterns spread over every exponent, both signs, plus the edges."""
    bits = np.random.default_rng(seed).integers(0, 2 ** 32, n, dtype=np.uint64).astype(np.uint32)
    edges = np.float32([0.0, -0.0, 1.0, -1.0, 1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 2.9e-8,
                        -2.9e-8, 9.7e-4, -9.8e-4, 0.7071067, 0.70710677, 1.4142135, 0.99999994,
                        1.0000001, -0.99999994, 88.7, -87.3, 3e38])
    return np.concatenate([bits.view(np.float32), edges, np.linspace(-4, 4, 400_001, dtype=np.float32)])


@pytest.mark.parametrize("name, fn, ref, bound", [
    ("log", torch.log, np.log, 1.0),
    ("log1p", torch.log1p, np.log1p, 1.5),
    ("expm1", torch.expm1, np.expm1, 2.0),
    ("log2", torch.log2, np.log2, 0.51),
    ("log10", torch.log10, np.log10, 0.51),
])
def test_float32_log_log1p_expm1_accuracy_and_special_values(name, fn, ref, bound):
    x = _float32_sample()
    got = fn(torch.from_numpy(x)).numpy()
    with np.errstate(all="ignore"):
        want = ref(x.astype(np.float64))
        want32 = want.astype(np.float32)
    normal = np.isfinite(want32) & (np.abs(want) >= np.finfo(np.float32).tiny)
    assert ulp_error(got[normal], want[normal]).max() < bound, name
    tiny = np.isfinite(want32) & ~normal  # results in the subnormal range: to the last bit
    np.testing.assert_allclose(got[tiny], want32[tiny], rtol=0, atol=1.5e-45)
    rest = ~np.isfinite(want32)  # inf, -inf, NaN exactly where float64 says so
    assert np.array_equal(got[rest], want32[rest], equal_nan=True), name


def test_float32_gelu_is_x_phi_x_within_two_ulp_and_its_gradient_close():
    """GELU in float32 is x Phi(x) with Phi from erf / erfc fits in double: within 2 ulp
    of the float64 value everywhere, the negative side included (where 1 + erf would
    cancel)."""
    import math

    rng = np.random.default_rng(8)
    x = np.concatenate([np.linspace(-14, 14, 100_001), rng.standard_normal(50_000) * 3,
                        [0.0, -0.0, 1e-30, -1e-30, 3.0e38, -3.0e38]]).astype(np.float32)
    z = (x * np.float32(0.70710678118654752440)).astype(np.float64)  # x / sqrt(2) as float32 rounds it
    phi = 0.5 * np.vectorize(math.erfc)(-z)
    want = x.astype(np.float64) * phi
    got = F.gelu(torch.from_numpy(x)).numpy()
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    assert ulp_error(got[normal], want[normal]).max() < 2.0
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=3e-45)
    special = F.gelu(torch.tensor([np.inf, -np.inf, np.nan])).numpy()  # inf * 1; -inf * 0 is NaN
    assert special[0] == np.inf and np.isnan(special[1:]).all()
    t = torch.from_numpy(x[:100_001].copy()).requires_grad_(True)
    F.gelu(t).sum().backward()
    xs = x[:100_001].astype(np.float64)
    grad = phi[:100_001] + xs * np.exp(-0.5 * xs * xs) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(t.grad.numpy(), grad, rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_rows_in_lanes_match_float64_and_keep_special_values(dtype):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((37, 53)) * 6).astype(dtype)  # 53: lanes and a remainder
    x[3, 40] = np.nan
    x[5, 7] = np.inf
    x[8, :] = -np.inf
    x[9, 50] = -np.inf
    got = torch.tensor(x).logsumexp(1).numpy()
    with np.errstate(all="ignore"):
        x64 = x.astype(np.float64)
        m = np.nanmax(np.where(np.isnan(x64), -np.inf, x64), axis=1, keepdims=True)
        want = (np.log(np.exp(x64 - m).sum(1)) + m[:, 0])
    finite = np.isfinite(x).all(1) | ((x == -np.inf).any(1) & ~np.isnan(x).any(1) & ~(x == np.inf).any(1))
    finite &= np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=2e-7 if dtype == np.float32 else 1e-14)
    assert np.isnan(got[3]) and got[5] == np.inf and got[8] == -np.inf
    np.testing.assert_allclose(torch.tensor(x).logsumexp(0).numpy()[10:20], np.log(np.exp(x64[:, 10:20]).sum(0)),
                               rtol=2e-7 if dtype == np.float32 else 1e-14)



@pytest.mark.parametrize("name, bound", [("erf", 1.5), ("erfc", 2.0)])
def test_float32_erf_erfc_accuracy_and_special_values(name, bound):
    # vmath.h's pa_erff / pa_erfcf (fits evaluated in double) against float64 libm; erfc
    # underflows past 9.2 (subnormal results) and is 0 past ~10.06, to the last bit or
    # within one subnormal step.
    import math

    rng = np.random.default_rng(4)
    x = np.concatenate([_float32_sample(1_000_000), np.linspace(-11, 11, 400_001, dtype=np.float32),
                        rng.uniform(9.0, 10.2, 100_000).astype(np.float32),
                        np.float32([0.99999994, 1.0, 1.0000001, 2.9999998, 3.0, 3.0000002, 10.0, 10.0625,
                                    10.0626, -10.0625])])
    got = getattr(torch, name)(torch.from_numpy(x)).numpy()
    with np.errstate(invalid="ignore"):   # (signalling NaNs among the bit patterns)
        want = np.vectorize(getattr(math, name), otypes=[np.float64])(x.astype(np.float64))
    normal = np.isfinite(x) & (np.abs(want) >= np.finfo(np.float32).tiny)
    assert ulp_error(got[normal], want[normal]).max() <= bound, name
    tiny = np.isfinite(x) & ~normal
    np.testing.assert_allclose(got[tiny], want[tiny], rtol=0, atol=1.5e-45)
    special = getattr(torch, name)(torch.tensor([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45])).numpy()
    if name == "erf":
        np.testing.assert_array_equal(special[:4], [0.0, -0.0, 1.0, -1.0])
        assert np.signbit(special[1]) and special[5] == np.float32(1e-45)  # 1.128 2^-149 rounds to 2^-149
    else:
        np.testing.assert_array_equal(special[:4], [1.0, 1.0, 0.0, 2.0])
    assert np.isnan(special[4])


@pytest.mark.parametrize("name", ["erf", "erfc"])
def test_erf_erfc_gradients_in_float32_and_float64(name):
    xs = np.linspace(-6, 6, 20_001)
    for dtype, rtol in ((torch.float64, 1e-14), (torch.float32, 2e-6)):
        t = torch.tensor(xs, dtype=dtype, requires_grad=True)
        getattr(t, name)().sum().backward()
        x = t.detach().numpy().astype(np.float64)  # the float32-rounded inputs
        w = (2 / np.sqrt(np.pi)) * np.exp(-x * x) * (1 if name == "erf" else -1)
        np.testing.assert_allclose(t.grad.numpy(), w, rtol=rtol, atol=1e-30)


def ordinal(a):
    """float32 values as integers in order (adjacent floats differ by 1, -0 == +0)."""
    i = a.view(np.int32).astype(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFF), i)


def _sin_cos_inputs():
    rng = np.random.default_rng(12)
    k = np.concatenate([np.arange(1, 200_001), rng.integers(200_001, 667_000, 50_000)]).astype(np.float64)
    near = (k * (np.pi / 2)).astype(np.float32)   # the floats nearest k pi/2, and their neighbours
    near = (near.view(np.int32)[:, None] + np.arange(-3, 4, dtype=np.int32)).reshape(-1).view(np.float32)
    return np.concatenate([
        np.linspace(-10, 10, 400_001, dtype=np.float32),
        rng.uniform(-1e4, 1e4, 500_000).astype(np.float32),
        rng.uniform(-1.1e6, 1.1e6, 500_000).astype(np.float32),     # across the 2^20 switch to libm
        (rng.standard_normal(100_000) * 1e-3).astype(np.float32),
        near, -near,
        np.float32([1e-45, -1e-45, 1e-38, 1048576.0, 1048576.1, -1048576.1, 1e7, -3e9, 3e38]),
    ])


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_float32_sin_cos_within_one_ulp_of_float64(name):
    """pa_sinf / pa_cosf (vmath.h): reduced by k pi/2 in double and evaluated in double,
    within 1 ulp of float64's value rounded (ordinal distance), huge arguments through libm;
    -0 kept by sin, inf gives NaN."""
    x = _sin_cos_inputs()
    got = getattr(torch, name)(torch.from_numpy(x)).numpy()
    want = getattr(np, name)(x.astype(np.float64)).astype(np.float32)
    assert np.abs(ordinal(got) - ordinal(want)).max() <= 1, name
    sp = getattr(torch, name)(torch.tensor([0.0, -0.0, np.inf, -np.inf, np.nan])).numpy()
    if name == "sin":
        np.testing.assert_array_equal(sp[:2], [0.0, -0.0])
        assert np.signbit(sp[1]) and not np.signbit(sp[0])
        np.testing.assert_array_equal(torch.sin(torch.from_numpy(-x)).numpy(), -got)   # odd
    else:
        np.testing.assert_array_equal(sp[:2], [1.0, 1.0])
        np.testing.assert_array_equal(torch.cos(torch.from_numpy(-x)).numpy(), got)    # even
    assert np.isnan(sp[2:]).all()


def test_float32_sin_cos_huge_arguments_are_libms():
    # past 2^20 the loops recompute the lanes with libm's sinf / cosf: the same bits, and
    # the lanes around them (the vector pass) unchanged
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("m")
    if name is None:
        pytest.skip("no libm to compare with")
    libm = ctypes.CDLL(name)
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.uniform(-1e9, 1e9, 300).astype(np.float32), rng.uniform(-3, 3, 300).astype(np.float32),
                        np.float32([3e38, -3e38, 1048576.1, np.inf, np.nan])])
    rng.shuffle(x)
    for fn, cfn in (("sin", libm.sinf), ("cos", libm.cosf)):
        cfn.restype, cfn.argtypes = ctypes.c_float, [ctypes.c_float]
        huge = ~(np.abs(x) <= 1048576.0)
        want = np.float32([cfn(float(v)) for v in x[huge]])
        got = getattr(torch, fn)(torch.from_numpy(x)).numpy()
        np.testing.assert_array_equal(got[huge], want)
        small = getattr(torch, fn)(torch.from_numpy(x[~huge].copy())).numpy()
        np.testing.assert_array_equal(got[~huge], small)
        strided = getattr(torch, fn)(torch.from_numpy(np.repeat(x, 2))[::2]).numpy()   # the strided loop
        np.testing.assert_array_equal(strided, got)


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_float32_sin_cos_gradients(name):
    # sin' = cos, cos' = -sin, through the same vectorised functions (libm past 2^20)
    x = np.concatenate([_sin_cos_inputs()[::7], np.float32([3e6, -5e8])])
    t = torch.from_numpy(x.copy()).requires_grad_(True)
    g = np.random.default_rng(3).uniform(-2, 2, x.shape).astype(np.float32)
    getattr(t, name)().backward(torch.from_numpy(g))
    x64 = x.astype(np.float64)
    deriv = (np.cos(x64) if name == "sin" else -np.sin(x64)).astype(np.float32)
    want = g * deriv
    np.testing.assert_allclose(t.grad.numpy(), want, rtol=3e-7, atol=1e-30)


def test_log2_of_powers_of_two_and_log10_of_powers_of_ten_are_exact():
    """log2 takes the exponent as it is (and subnormal powers of two too); log10 of the
    powers of ten a float32 holds exactly comes out exact, as PyTorch's does."""
    e = np.arange(-149, 128)
    twos = np.ldexp(np.float32(1), e).astype(np.float32)
    np.testing.assert_array_equal(torch.log2(torch.from_numpy(twos)).numpy(), e.astype(np.float32))
    tens = np.float32([10.0 ** k for k in range(11)])
    np.testing.assert_array_equal(torch.log10(torch.from_numpy(tens)).numpy(), np.arange(11, dtype=np.float32))
    for dtype in (np.float32, np.float64):
        special = torch.log2(torch.tensor([0.0, -0.0, -1.0, np.inf, -np.inf, np.nan], dtype=dtype)).numpy()
        assert special[0] == -np.inf and special[1] == -np.inf and special[3] == np.inf
        assert np.isnan(special[[2, 4, 5]]).all()


@pytest.mark.parametrize("name", ["log2", "log10"])
def test_log2_log10_gradients_match_pytorch(pt, name):
    x = np.float32([0.3, 1.0, 2.0, 7.5, 1e-3, 1e5])
    got, want = [], []
    for lib_, out in ((torch, got), (pt, want)):
        t = lib_.tensor(x, requires_grad=True)
        getattr(lib_, name)(t).sum().backward()
        out.append(t.grad.numpy())
    np.testing.assert_allclose(got[0], want[0], rtol=1e-7)
    t = torch.tensor(x.astype(np.float64), requires_grad=True)
    assert torch.autograd.gradcheck(getattr(torch, name), (t,))


@pytest.mark.parametrize("p", [2, 3, 4, 0.5, 1.5, -0.5, -1, 2.5])
def test_scalar_pow_gradient_matches_pytorch_bits(pt, p):
    """x ** p's gradient is PyTorch's g * (p * x.pow(p - 1)), x.pow(p - 1) as its pow kernel
    computes the special exponents (x, x*x, x*x*x, sqrt, 1/sqrt, 1/x, 1/(x*x)); specials
    (zeros of both signs, infinities, NaN, huge and tiny values) included."""
    rng = np.random.default_rng(23)
    x = rng.standard_normal(20_000).astype(np.float32)
    x[:8] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, 3e19, -3e19]
    if p != int(p):
        x = np.abs(x)
    g = rng.standard_normal(x.size).astype(np.float32)
    grads = []
    for lib_ in (torch, pt):
        t = lib_.tensor(x, requires_grad=True)
        (t ** p * lib_.tensor(g)).sum().backward()
        grads.append(t.grad.numpy())
    if p in (2, 3, 4, 0.5, -1):  # p - 1 special: the same bits
        np.testing.assert_array_equal(grads[0], grads[1])
    else:
        np.testing.assert_allclose(grads[0][8:], grads[1][8:], rtol=3e-7)
    t = torch.tensor(np.abs(rng.standard_normal((3, 4))) + 0.5, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: v ** p, (t,))


def test_float32_atan2_within_half_an_ulp_with_ieee_special_values():
    """atan2 in C: float32 computed in double and rounded once (within about half an ulp of
    float64 over random bit patterns and normal values); zeros of both signs, infinities
    and NaN as libm (and PyTorch) give them; integers promote to float32."""
    rng = np.random.default_rng(29)
    bits = rng.integers(0, 2 ** 32, 1_000_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    special = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 1e-45, -1e-45, 3e38])
    y = np.concatenate([bits[:500_000], np.repeat(special, 10), rng.standard_normal(50_000).astype(np.float32)])
    x = np.concatenate([bits[500_000:], np.tile(special, 10), rng.standard_normal(50_000).astype(np.float32)])
    got = torch.atan2(torch.from_numpy(y), torch.from_numpy(x)).numpy()
    want = np.arctan2(y.astype(np.float64), x.astype(np.float64))
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    assert ulp_error(got[normal], want[normal]).max() < 0.5001
    with np.errstate(invalid="ignore"):
        assert np.array_equal(got[~normal], want[~normal].astype(np.float32), equal_nan=True)
    np.testing.assert_array_equal(np.signbit(got[~normal & (want == 0)]), np.signbit(want[~normal & (want == 0)]))
    d = torch.atan2(torch.tensor(y[:1000].astype(np.float64)), torch.tensor(x[:1000].astype(np.float64))).numpy()
    np.testing.assert_array_equal(d, np.arctan2(y[:1000].astype(np.float64), x[:1000].astype(np.float64)))
    i = torch.atan2(torch.tensor([1, 2, -3]), torch.tensor([2, 0, -1]))
    assert i.dtype == torch.float32
    np.testing.assert_array_equal(i.numpy(), np.arctan2(np.float64([1, 2, -3]), [2, 0, -1]).astype(np.float32))


def test_atan2_gradients_match_pytorch_and_vanish_at_the_origin(pt):
    y = np.array([0.5, -2.0, 0.0, 3.0, 1e-3])
    x = np.array([1.5, 0.25, 0.0, -4.0, -2.0])
    got, want = [], []
    for lib_, out in ((torch, got), (pt, want)):
        a = lib_.tensor(y, requires_grad=True)
        b = lib_.tensor(x, requires_grad=True)
        (lib_.atan2(a, b) * lib_.tensor([1.0, 2.0, 3.0, -1.0, 0.5])).sum().backward()
        out.append((a.grad.numpy(), b.grad.numpy()))
    for ours, theirs in zip(got[0], want[0]):
        np.testing.assert_allclose(np.delete(ours, 2), np.delete(theirs, 2), rtol=1e-15)
        assert ours[2] == 0  # PyTorch's is NaN at (0, 0)
    a = torch.tensor(y + 0.3, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    assert torch.autograd.gradcheck(torch.atan2, (a, b))
    c = torch.tensor(y, requires_grad=True)
    torch.atan2(c, 2.0).sum().backward()
    np.testing.assert_allclose(c.grad.numpy(), 2.0 / (y * y + 4.0), rtol=1e-15)


@pytest.mark.parametrize("name, rare", [("exp", -100.0), ("sigmoid", 100.0), ("sin", 3e7)])
def test_in_place_patched_ops_equal_out_of_place_around_rare_inputs(name, rare):
    # exp, sigmoid and sin take a vector pass that is wrong on rare inputs (a subnormal
    # e^x, |x| > 2^20 for sin) and redo those; in place, block by block.  Blocks with and
    # without rare inputs, a strided view, and the results bit-equal to out of place.
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, 3000).astype(np.float32)
    x[[5, 1030, 1031, 2999]] = rare
    x[1500] = np.nan
    want = getattr(torch, name)(torch.from_numpy(x)).numpy()
    ref = {"exp": np.exp, "sin": np.sin,
           "sigmoid": lambda v: 1 / (1 + np.exp(-v))}[name](x.astype(np.float64))
    np.testing.assert_allclose(want, ref.astype(np.float32), rtol=3e-7, atol=1e-44)
    t = torch.from_numpy(x.copy())
    getattr(t, name + "_")()
    np.testing.assert_array_equal(t.numpy(), want)
    strided = torch.from_numpy(x.copy())
    getattr(strided[::3], name + "_")()
    got = strided.numpy()
    np.testing.assert_array_equal(got[::3], want[::3])
    np.testing.assert_array_equal(np.delete(got, np.s_[::3]), np.delete(x, np.s_[::3]))
