"""F.pad (all four modes), linear interpolation, smooth_l1/huber losses and
adaptive_avg_pool2d to (1, 1), each one C op: values and gradients against PyTorch
(skipped without it) and NumPy, float64 gradients against finite differences, bad calls."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck

MODES = ("constant", "reflect", "replicate", "circular")


def t64(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# ---- pad ------------------------------------------------------------------------------

PAD_CASES = [((2, 3, 5), (1, 2)), ((2, 3, 5), (-1, 2)), ((2, 3, 5), (2, -1)), ((2, 3, 5), (4, 4)),
             ((3, 5), (-2, -2)), ((2, 3, 4, 5), (1, 2, 2, 1)), ((2, 3, 4, 5), (-1, 1, 2, -1)),
             ((3, 4, 5), (3, 3, 3, 3)), ((2, 3, 4, 5, 6), (1, 2, 3, 2, 1, 0)),
             ((1, 2, 4, 5, 6), (-1, 1, 0, 2, 1, -1)), ((0, 3, 5), (1, 1))]


def _np_pad(x, pad, mode):
    """NumPy's pad after cropping negative amounts (reflect and replicate index the
    uncropped input, circular wraps within the cropped part, as PyTorch)."""
    k = len(pad) // 2
    out = x
    for i in range(k):
        d = x.ndim - 1 - i
        before, after = pad[2 * i], pad[2 * i + 1]
        n = x.shape[d]
        o = np.arange(n + before + after) - before
        if mode == "reflect":
            idx = np.where(o < 0, -o, np.where(o >= n, 2 * (n - 1) - o, o))
        elif mode == "replicate":
            idx = np.clip(o, 0, n - 1)
        else:
            start, m = max(-before, 0), n - max(-before, 0) - max(-after, 0)
            idx = start + (np.arange(n + before + after) - max(before, 0)) % m
        out = np.take(out, idx, axis=d)
    return out


@pytest.mark.parametrize("mode", MODES[1:])
@pytest.mark.parametrize("shape,pad", PAD_CASES)
def test_pad_index_modes_values_and_gradients(shape, pad, mode):
    k = len(pad) // 2
    if len(shape) not in (k + 1, k + 2) or (mode == "reflect" and max(pad) >= min(shape[-k:])):
        pytest.skip("not a valid combination")
    x = np.random.default_rng(1).standard_normal(shape)
    np.testing.assert_array_equal(F.pad(t64(x, False), pad, mode).numpy(), _np_pad(x, pad, mode))
    if x.size:
        assert gradcheck(lambda a: F.pad(a, pad, mode), [t64(x)])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape,pad", PAD_CASES)
def test_pad_matches_pytorch_values_and_gradients(pt, shape, pad, mode):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    try:
        want = pt.nn.functional.pad(pt.tensor(x, requires_grad=True), pad, mode=mode)
    except (RuntimeError, NotImplementedError):
        with pytest.raises((RuntimeError, NotImplementedError)):
            F.pad(torch.tensor(x), pad, mode=mode)
        return
    if mode == "circular" and min(pad) < 0 and max(pad) > 0 and any(
            max(pad[2 * i:2 * i + 2]) > shape[-1 - i] + min(pad[2 * i], 0) + min(pad[2 * i + 1], 0)
            for i in range(len(pad) // 2)):
        pytest.skip("PyTorch reads uninitialised memory when circular padding exceeds the cropped size")
    tx = pt.tensor(x, requires_grad=True)
    want = pt.nn.functional.pad(tx, pad, mode=mode)
    g = np.random.default_rng(3).standard_normal(tuple(want.shape)).astype(np.float32)
    want.backward(pt.tensor(g))
    ox = torch.tensor(x, requires_grad=True)
    got = F.pad(ox, pad, mode=mode)
    got.backward(torch.tensor(g))
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def _same_gradient_at_1_2_and_4_threads(op, x, g):
    grads = []
    old = torch.get_num_threads()
    try:
        for n in (1, 2, 4):
            torch.set_num_threads(n)
            a = torch.tensor(x, requires_grad=True)
            op(a).backward(torch.tensor(g))
            grads.append(a.grad.numpy())
    finally:
        torch.set_num_threads(old)
    for gr in grads[1:]:
        np.testing.assert_array_equal(gr, grads[0])


def test_pad_gradient_is_deterministic_across_threads():
    x = np.random.default_rng(4).standard_normal((4, 8, 9, 7)).astype(np.float32)
    g = np.random.default_rng(5).standard_normal((4, 8, 13, 11)).astype(np.float32)
    _same_gradient_at_1_2_and_4_threads(lambda a: F.pad(a, (2, 2, 2, 2), "reflect"), x, g)


def test_interpolation_gradient_is_deterministic_across_threads():
    x = np.random.default_rng(16).standard_normal((4, 8, 9, 7)).astype(np.float32)
    g = np.random.default_rng(17).standard_normal((4, 8, 20, 5)).astype(np.float32)
    _same_gradient_at_1_2_and_4_threads(lambda a: F.interpolate(a, size=(20, 5), mode="bilinear"), x, g)


def test_pad_non_contiguous_and_int_inputs():
    x = np.arange(24.0).reshape(2, 3, 4)
    t = torch.tensor(x).transpose(1, 2)
    np.testing.assert_array_equal(F.pad(t, (1, 2), "replicate").numpy(),
                                  _np_pad(x.transpose(0, 2, 1), (1, 2), "replicate"))
    i = torch.tensor(np.arange(6).reshape(1, 2, 3))
    assert F.pad(i, (1, 1), "reflect").tolist() == [[[1, 0, 1, 2, 1], [4, 3, 4, 5, 4]]]
    assert F.pad(i, (0, 1, 1, 0), value=-3).tolist() == [[[-3, -3, -3, -3], [0, 1, 2, -3], [3, 4, 5, -3]]]


@pytest.mark.parametrize("shape,pad,mode,message", [
    ((1, 2, 3), (3, 0), "reflect", "Padding size should be less than the corresponding input dimension"),
    ((1, 2, 3), (0, 4), "circular", "wrapping around more than once"),
    ((1, 2, 3), (-2, -1), "reflect", "gives an output size of 0"),
    ((1, 2, 0), (1, 1), "replicate", "replicate padding of dimension 2 of size 0"),
    ((1, 2, 3), (2, -3), "circular", "leaves nothing to wrap around"),
])
def test_pad_bad_sizes(shape, pad, mode, message):
    with pytest.raises(RuntimeError, match=message):
        F.pad(torch.zeros(*shape), pad, mode)


# ---- linear interpolation ------------------------------------------------------------

INTERP_MODES = [("linear", (2, 3, 7)), ("bilinear", (2, 3, 5, 7)), ("trilinear", (1, 2, 3, 4, 5))]
INTERP_ARGS = [dict(scale_factor=2), dict(scale_factor=0.5), dict(scale_factor=1.7),
               dict(scale_factor=2.3, recompute_scale_factor=True), dict(size=11), dict(size=1), dict(size=3),
               dict(scale_factor=1)]


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("kwargs", INTERP_ARGS)
@pytest.mark.parametrize("mode,shape", INTERP_MODES)
def test_linear_interpolation_matches_pytorch(pt, mode, shape, kwargs, align_corners):
    rng = np.random.default_rng(8)
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        x = rng.standard_normal(shape).astype(dtype)
        tx = pt.tensor(x, requires_grad=True)
        want = pt.nn.functional.interpolate(tx, mode=mode, align_corners=align_corners, **kwargs)
        g = rng.standard_normal(tuple(want.shape)).astype(dtype)
        want.backward(pt.tensor(g))
        ox = torch.tensor(x, requires_grad=True)
        got = F.interpolate(ox, mode=mode, align_corners=align_corners, **kwargs)
        got.backward(torch.tensor(g))
        assert got.shape == tuple(want.shape) and got.dtype.name == np.dtype(dtype).name
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol * 4)


def test_linear_interpolation_values_and_gradients():
    x = np.arange(4.0).reshape(1, 1, 4)
    # align_corners=False, x2: source (o + 0.5) / 2 - 0.5 clamped at 0
    want = [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]
    np.testing.assert_allclose(F.interpolate(t64(x, False), scale_factor=2, mode="linear").numpy()[0, 0], want)
    np.testing.assert_allclose(
        F.interpolate(t64(x, False), size=7, mode="linear", align_corners=True).numpy()[0, 0],
        np.linspace(0, 3, 7))
    for mode, shape in INTERP_MODES:
        a = np.random.default_rng(9).standard_normal(shape)
        for kwargs in (dict(scale_factor=1.6), dict(size=2), dict(scale_factor=0.6, recompute_scale_factor=True)):
            for ac in (False, True):
                assert gradcheck(lambda t: F.interpolate(t, mode=mode, align_corners=ac, **kwargs), [t64(a)])


def test_linear_interpolation_non_contiguous_and_bad_calls():
    x = np.random.default_rng(10).standard_normal((2, 5, 3, 4))
    t = torch.tensor(x).permute(0, 1, 3, 2)
    np.testing.assert_allclose(F.interpolate(t, scale_factor=2, mode="bilinear").numpy(),
                               F.interpolate(torch.tensor(x.transpose(0, 1, 3, 2).copy()), scale_factor=2,
                                             mode="bilinear").numpy(), rtol=0, atol=0)
    with pytest.raises(ValueError, match="Input and output sizes should be greater than 0"):
        F.interpolate(torch.zeros(1, 1, 4), scale_factor=0.2, mode="linear")
    with pytest.raises(ValueError, match="Input and output sizes should be greater than 0"):
        F.interpolate(torch.zeros(1, 1, 0, 3), size=(2, 2), mode="bilinear")
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(torch.zeros(1, 1, 4), size=3, mode="bilinear")
    with pytest.raises(TypeError, match="float32 or float64"):
        F.interpolate(torch.zeros(1, 1, 4, dtype=torch.int64), size=3, mode="linear")


# ---- smooth_l1_loss / huber_loss --------------------------------------------------------

def _loss_inputs(dtype, shape=(37, 29), spread=1.0):
    rng = np.random.default_rng(11)
    a = (rng.standard_normal(shape) * 2).astype(dtype)
    t = rng.standard_normal(shape).astype(dtype)
    if a.size > 8:
        t.flat[:5] = a.flat[:5]                       # d == 0
        t.flat[5] = a.flat[5] - np.asarray(spread, dtype)   # d == beta (the branch point)
    return a, t


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,param", [("smooth_l1_loss", "beta"), ("huber_loss", "delta")])
@pytest.mark.parametrize("beta", [1.0, 0.3, 2.5])
def test_smooth_l1_and_huber_match_pytorch(pt, name, param, reduction, beta):
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        a, t = _loss_inputs(dtype, spread=beta)
        ta, tt = pt.tensor(a, requires_grad=True), pt.tensor(t, requires_grad=True)
        want = getattr(pt.nn.functional, name)(ta, tt, reduction=reduction, **{param: beta})
        g = np.random.default_rng(12).standard_normal(tuple(want.shape)).astype(dtype)
        want.backward(pt.tensor(g))
        oa, ot = torch.tensor(a, requires_grad=True), torch.tensor(t, requires_grad=True)
        got = getattr(F, name)(oa, ot, reduction=reduction, **{param: beta})
        got.backward(torch.tensor(g))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(oa.grad.numpy(), ta.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(ot.grad.numpy(), tt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_fused_mse_and_l1_match_pytorch(pt, name, reduction):
    # one C op each way (pa_pointwise_loss) for a same-shape float target: values and
    # both gradients against PyTorch, d == 0 included (l1's gradient is 0 there).
    for dtype, tol in ((np.float32, 1e-5), (np.float64, 1e-12)):
        a, t = _loss_inputs(dtype)
        ta, tt = pt.tensor(a, requires_grad=True), pt.tensor(t, requires_grad=True)
        want = getattr(pt.nn.functional, name)(ta, tt, reduction=reduction)
        g = np.random.default_rng(5).standard_normal(tuple(want.shape)).astype(dtype)
        want.backward(pt.tensor(g))
        oa, ot = torch.tensor(a, requires_grad=True), torch.tensor(t, requires_grad=True)
        got = getattr(F, name)(oa, ot, reduction=reduction)
        assert got.grad_fn.name() == {"mse_loss": "MseLossBackward", "l1_loss": "L1LossBackward"}[name]
        got.backward(torch.tensor(g))
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(oa.grad.numpy(), ta.grad.numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(ot.grad.numpy(), tt.grad.numpy(), rtol=tol, atol=tol)
        if name == "l1_loss" and reduction == "sum":
            assert (oa.grad.numpy().flat[:5] == 0).all()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_l1_and_huber_values_and_gradients(reduction):
    a, t = _loss_inputs(np.float64, (4, 5))
    d = a - t
    z = np.abs(d)
    for name, param, beta, ref in (
            ("smooth_l1_loss", "beta", 0.7, np.where(z < 0.7, 0.5 * d * d / 0.7, z - 0.35)),
            ("huber_loss", "delta", 0.7, np.where(z < 0.7, 0.5 * d * d, 0.7 * (z - 0.35)))):
        fn = getattr(F, name)
        want = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
        np.testing.assert_allclose(fn(t64(a, False), t64(t, False), reduction=reduction, **{param: beta}).numpy(),
                                   want, rtol=1e-12)
        a2 = a + 0.05   # away from the kink at |d| == beta and from d == 0
        assert gradcheck(lambda x, y: fn(x, y, reduction=reduction, **{param: beta}), [t64(a2), t64(t)])


def test_smooth_l1_edge_cases():
    nan = F.smooth_l1_loss(torch.tensor([np.nan, 1.0]), torch.tensor([0.0, 0.0]), reduction="none")
    assert np.isnan(nan.numpy()[0]) and nan.numpy()[1] == 0.5
    assert np.isnan(F.huber_loss(torch.zeros(0), torch.zeros(0)).item())
    assert F.smooth_l1_loss(torch.zeros(0), torch.zeros(0), reduction="sum").item() == 0
    # beta == 0 is the L1 loss, whose gradient at d == 0 is 0
    x = torch.tensor([0.0, 2.0, -1.0], requires_grad=True)
    F.smooth_l1_loss(x, torch.zeros(3), beta=0.0, reduction="sum").backward()
    assert x.grad.tolist() == [0.0, 1.0, -1.0]
    # only the target requires grad
    y = torch.tensor([0.5, 3.0], requires_grad=True)
    F.huber_loss(torch.zeros(2), y, reduction="sum").backward()
    assert y.grad.tolist() == [0.5, 1.0]
    # large input: the sum over blocks does not depend on the thread count
    a, t = _loss_inputs(np.float32, (300, 257))
    old = torch.get_num_threads()
    try:
        vals = []
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            vals.append(F.smooth_l1_loss(torch.tensor(a), torch.tensor(t)).item())
    finally:
        torch.set_num_threads(old)
    assert vals[0] == vals[1] == vals[2]
    np.testing.assert_allclose(vals[0], np.where(np.abs(a - t) < 1, 0.5 * (a - t) ** 2, np.abs(a - t) - 0.5).mean(),
                               rtol=1e-6)


# ---- adaptive_avg_pool2d to (1, 1) --------------------------------------------------------

@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 16, 16), (1, 2, 70, 90), (2, 1, 1, 1), (2, 2, 3, 37)])
def test_global_adaptive_avg_pool_values_and_gradients(shape):
    x = np.random.default_rng(13).standard_normal(shape)
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 2e-6)):
        got = F.adaptive_avg_pool2d(torch.tensor(x.astype(dtype)), (1, 1)).numpy()
        np.testing.assert_allclose(got, x.astype(dtype).astype(np.float64).mean(axis=(-2, -1), keepdims=True),
                                   rtol=tol, atol=tol)
    a = t64(x)
    out = F.adaptive_avg_pool2d(a, 1)
    g = np.random.default_rng(14).standard_normal(out.shape)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), np.broadcast_to(g / (shape[-1] * shape[-2]), shape), rtol=1e-15)
    if x.size < 500:
        assert gradcheck(lambda t: F.adaptive_avg_pool2d(t, 1), [t64(x)])


def test_global_adaptive_avg_pool_matches_pytorch(pt):
    x = np.random.default_rng(15).standard_normal((4, 8, 13, 11)).astype(np.float32)
    tx = pt.tensor(x, requires_grad=True)
    want = pt.nn.functional.adaptive_avg_pool2d(tx, 1)
    want.sum().backward()
    ox = torch.tensor(x, requires_grad=True)
    got = F.adaptive_avg_pool2d(ox, 1)
    got.sum().backward()
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=0)


def test_empty_outputs_with_huge_sizes_allocate_nothing():
    x = torch.zeros(0, 3, 4, requires_grad=True)
    for mode in MODES:
        y = F.pad(x, (1, 1), mode)
        assert y.shape == (0, 3, 6)
        y.sum().backward()
        assert x.grad.shape == (0, 3, 4)
    assert F.pad(torch.zeros(0, 3), (2 ** 49, 2 ** 49)).shape == (0, 3 + 2 ** 50)
    with pytest.raises(ValueError, match="too large"):
        F.pad(torch.zeros(2, 3), (2 ** 49, 2 ** 49))
    assert F.interpolate(torch.zeros(0, 3, 4), size=2 ** 45, mode="linear").shape == (0, 3, 2 ** 45)
