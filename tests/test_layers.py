"""Layers (convolution, pooling, normalisation, dropout, embedding, leaky_relu), one line
each: gradients against float64 central finite differences, values and gradients against
PyTorch when it is installed (and convolution against a NumPy loop when it is not); then
the modules (PyTorch's parameter names, init, train/eval), dropout statistics, bad calls
and thread-count determinism."""
import types

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck


def anyv(shape):
    return np.random.uniform(-2.0, 2.0, shape)


def distinct(shape):
    """Values at least 0.05 apart, so no max-pool window has a near-tie."""
    n = int(np.prod(shape))
    return (np.random.permutation(n) * 0.05 - n * 0.025).reshape(shape)


def away_from_zero(shape):
    v = np.random.uniform(0.2, 2.0, shape)
    return v * np.where(np.random.rand(*shape) < 0.5, -1, 1)


def pos(shape):
    return np.random.uniform(0.5, 2.0, shape)


EMB_IDX = np.array([[1, 2, 0], [9, 2, 4]])
RUN_MEAN = np.array([0.3, -0.2, 0.1])
RUN_VAR = np.array([1.5, 0.7, 2.0])

# name, input makers (shape, generator), fn written against `torch`/`F` (rebound to
# PyTorch for the comparison)
LAYERS = [
    ("conv2d", [((2, 3, 5, 5), anyv), ((4, 3, 3, 3), anyv), ((4,), anyv)],
     lambda x, w, b: F.conv2d(x, w, b)),
    ("conv2d_stride_pad", [((2, 3, 6, 5), anyv), ((4, 3, 3, 3), anyv), ((4,), anyv)],
     lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1)),
    ("conv2d_dilation", [((1, 2, 7, 6), anyv), ((3, 2, 2, 3), anyv), ((3,), anyv)],
     lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    ("conv2d_groups", [((2, 4, 5, 5), anyv), ((6, 2, 3, 3), anyv), ((6,), anyv)],
     lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2)),
    ("conv2d_depthwise_nobias", [((1, 3, 4, 4), anyv), ((3, 1, 2, 2), anyv)],
     lambda x, w: F.conv2d(x, w, groups=3)),
    ("conv2d_1x1", [((2, 3, 3, 4), anyv), ((5, 3, 1, 1), anyv)], lambda x, w: F.conv2d(x, w)),
    ("conv2d_same", [((1, 2, 4, 5), anyv), ((3, 2, 3, 3), anyv)],
     lambda x, w: F.conv2d(x, w, padding="same")),
    ("conv2d_same_even", [((1, 2, 4, 5), anyv), ((3, 2, 2, 4), anyv)],   # padded one more after
     lambda x, w: F.conv2d(x, w, padding="same", dilation=(3, 1))),
    ("conv2d_unbatched", [((2, 4, 4), anyv), ((3, 2, 2, 2), anyv)], lambda x, w: F.conv2d(x, w, padding=1)),
    ("max_pool2d", [((2, 3, 6, 6), distinct)], lambda x: F.max_pool2d(x, 2)),
    ("max_pool2d_ceil_pad", [((1, 2, 7, 7), distinct)],
     lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool2d_ceil", [((1, 2, 6, 5), distinct)], lambda x: F.max_pool2d(x, 2, ceil_mode=True)),
    ("max_pool2d_dilation", [((1, 1, 7, 7), distinct)], lambda x: F.max_pool2d(x, 2, stride=1, dilation=2)),
    ("max_pool2d_unbatched", [((2, 5, 4), distinct)], lambda x: F.max_pool2d(x, (2, 3), stride=(1, 2))),
    ("avg_pool2d", [((2, 3, 6, 6), anyv)], lambda x: F.avg_pool2d(x, 2)),
    ("avg_pool2d_ceil_nopad_count", [((1, 2, 7, 6), anyv)],
     lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d_ceil_pad_count", [((1, 2, 7, 6), anyv)],
     lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d_divisor", [((1, 1, 5, 5), anyv)], lambda x: F.avg_pool2d(x, 2, divisor_override=3)),
    ("adaptive_avg_pool2d", [((2, 2, 5, 7), anyv)], lambda x: F.adaptive_avg_pool2d(x, (3, 4))),
    ("adaptive_avg_pool2d_global", [((2, 3, 4, 4), anyv)], lambda x: F.adaptive_avg_pool2d(x, 1)),
    ("batch_norm_train_2d", [((4, 3), anyv), ((3,), anyv), ((3,), anyv)],
     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)),
    ("batch_norm_train_4d", [((2, 3, 3, 2), anyv), ((3,), anyv), ((3,), anyv)],
     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-3)),
    ("batch_norm_train_noaffine", [((3, 3, 4), anyv)],
     lambda x: F.batch_norm(x, None, None, training=True)),
    ("batch_norm_eval", [((2, 3, 4), anyv), ((3,), anyv), ((3,), anyv)],
     lambda x, w, b: F.batch_norm(x, torch.tensor(RUN_MEAN, dtype=x.dtype), torch.tensor(RUN_VAR, dtype=x.dtype),
                                  w, b, training=False)),
    ("layer_norm", [((3, 4, 5), anyv), ((4, 5), anyv), ((4, 5), anyv)],
     lambda x, w, b: F.layer_norm(x, (4, 5), w, b)),
    ("layer_norm_noaffine", [((2, 6), anyv)], lambda x: F.layer_norm(x, (6,), eps=1e-3)),
    ("embedding", [((10, 4), anyv)], lambda w: F.embedding(torch.tensor(EMB_IDX), w)),
    ("embedding_padding", [((10, 4), anyv)], lambda w: F.embedding(torch.tensor(EMB_IDX), w, padding_idx=2)),
    ("leaky_relu", [((3, 4), away_from_zero)], lambda x: F.leaky_relu(x, 0.2)),
    ("leaky_relu_default", [((5,), away_from_zero)], lambda x: F.leaky_relu(x)),
    # argument modes beyond the basic ones above
    ("dropout_seeded", [((3, 5), anyv)], lambda x: (torch.manual_seed(7), F.dropout(x, 0.4, training=True))[1]),
    ("dropout_eval", [((3, 5), anyv)], lambda x: F.dropout(x, 0.4, training=False) * 2),
    ("max_pool2d_pad", [((1, 2, 7, 6), distinct)], lambda x: F.max_pool2d(x, 3, stride=2, padding=1)),
    ("max_pool2d_overlap", [((1, 2, 5, 6), distinct)], lambda x: F.max_pool2d(x, 3, stride=1)),
    ("max_pool2d_overlap_pad", [((2, 1, 4, 5), distinct)], lambda x: F.max_pool2d(x, (3, 2), stride=1, padding=1)),
    ("max_pool2d_return_indices", [((2, 2, 6, 5), distinct)],
     lambda x: F.max_pool2d(x, 2, stride=(2, 1), padding=1, return_indices=True)[0]),
    ("avg_pool2d_nocount_pad", [((1, 2, 7, 6), anyv)],
     lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool2d_ceil_nopad", [((1, 2, 7, 6), anyv)], lambda x: F.avg_pool2d(x, 3, stride=2, ceil_mode=True)),
    ("avg_pool2d_ceil_nopad_nocount", [((2, 1, 5, 6), anyv)],
     lambda x: F.avg_pool2d(x, 2, stride=(2, 3), ceil_mode=True, count_include_pad=False)),
    ("avg_pool2d_overlap", [((1, 2, 5, 5), anyv)], lambda x: F.avg_pool2d(x, 3, stride=1, padding=1)),
    ("adaptive_avg_pool2d_unbatched", [((2, 5, 7), anyv)], lambda x: F.adaptive_avg_pool2d(x, (3, 4))),
    ("adaptive_avg_pool2d_upsample", [((1, 2, 3, 4), anyv)], lambda x: F.adaptive_avg_pool2d(x, (5, 7))),
    ("adaptive_avg_pool2d_mixed", [((2, 1, 3, 8), anyv)], lambda x: F.adaptive_avg_pool2d(x, (4, 3))),
    ("batch_norm_train_weight_only", [((4, 3), anyv), ((3,), anyv)],
     lambda x, w: F.batch_norm(x, None, None, w, None, training=True)),
    ("batch_norm_train_bias_only", [((3, 3, 2), anyv), ((3,), anyv)],
     lambda x, b: F.batch_norm(x, None, None, None, b, training=True)),
    ("batch_norm_train_running", [((4, 3, 2), anyv), ((3,), anyv), ((3,), anyv)],
     lambda x, w, b: F.batch_norm(x, torch.tensor(RUN_MEAN, dtype=x.dtype), torch.tensor(RUN_VAR, dtype=x.dtype),
                                  w, b, training=True, momentum=0.3)),
    ("batch_norm_eval_weight_only", [((2, 3, 4), anyv), ((3,), anyv)],
     lambda x, w: F.batch_norm(x, torch.tensor(RUN_MEAN, dtype=x.dtype), torch.tensor(RUN_VAR, dtype=x.dtype),
                               w, None, training=False)),
    ("layer_norm_weight_only", [((3, 5), anyv), ((5,), anyv)], lambda x, w: F.layer_norm(x, (5,), w, None)),
    ("layer_norm_bias_only", [((2, 3, 4), anyv), ((3, 4), anyv)], lambda x, b: F.layer_norm(x, (3, 4), None, b)),
    ("leaky_relu_negative_slope", [((3, 4), away_from_zero)], lambda x: F.leaky_relu(x, -0.5)),
    ("leaky_relu_zero_slope", [((3, 4), away_from_zero)], lambda x: F.leaky_relu(x, 0.0)),
    ("leaky_relu_steep_slope", [((3, 4), away_from_zero)], lambda x: F.leaky_relu(x, 2.0)),
]
IDS = [c[0] for c in LAYERS]
# Dropout's mask comes from each library's own generator, so it is compared with PyTorch
# only through its statistics (test_dropout_statistics).
OWN_RNG = {"dropout_seeded"}
PAD_MASK = (EMB_IDX == 2)[..., None]


def _padding_row_out(out, w):
    """The padding row reaches the output but has no gradient by definition; subtracting its
    values through a detached copy makes finite differences see the same thing (a nonzero
    padding-row gradient would then show as a mismatch)."""
    return out - w.detach()[2] * torch.tensor(PAD_MASK, dtype=w.dtype)


# name -> g(out, *inputs): what finite differences should check instead of out
FD_ADJUST = {"embedding_padding": _padding_row_out}


@pytest.mark.parametrize("name,makers,fn", LAYERS, ids=IDS)
def test_gradient_matches_finite_differences(name, makers, fn):
    xs = [torch.tensor(gen(shape), dtype=torch.float64, requires_grad=True) for shape, gen in makers]
    if name in FD_ADJUST:
        fn = (lambda f, g: lambda *a: g(f(*a), *a))(fn, FD_ADJUST[name])
    assert gradcheck(fn, xs, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name,makers,fn", LAYERS, ids=IDS)
def test_matches_pytorch(name, makers, fn, pt):
    if name in OWN_RNG:
        pytest.skip("the dropout mask comes from pyautodiff's own generator")
    arrays = [gen(shape) for shape, gen in makers]
    g = dict(fn.__globals__)
    g.update(torch=pt, F=pt.nn.functional)
    pt_fn = types.FunctionType(fn.__code__, g, closure=fn.__closure__)
    for dtype, tol in ((np.float64, 1e-10), (np.float32, 1e-4)):
        ours = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        theirs = [pt.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out_ours, out_theirs = fn(*ours), pt_fn(*theirs)
        assert out_ours.dtype == torch.float64 if dtype == np.float64 else torch.float32
        np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=name)
        seed = np.random.uniform(-1, 1, tuple(out_theirs.shape)).astype(dtype)
        out_ours.backward(torch.tensor(seed))
        out_theirs.backward(pt.tensor(seed))
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol, err_msg=name)


# ---- convolution against a NumPy loop (no PyTorch needed) ----------------------------
def np_conv2d(x, w, b, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        gi = oc // og
        for i in range(kh):
            for j in range(kw):
                ys = i * dilation[0]
                xs = j * dilation[1]
                patch = xp[:, gi * cg:(gi + 1) * cg, ys:ys + stride[0] * oh:stride[0], xs:xs + stride[1] * ow:stride[1]]
                out[:, oc] += np.einsum("nchw,c->nhw", patch, w[oc, :, i, j])
        if b is not None:
            out[:, oc] += b[oc]
    return out


@pytest.mark.parametrize("xs,ws,stride,padding,dilation,groups", [
    ((2, 3, 7, 6), (4, 3, 3, 2), (1, 1), (0, 0), (1, 1), 1),
    ((1, 4, 9, 8), (6, 2, 3, 3), (2, 3), (1, 2), (2, 1), 2),
    ((3, 2, 5, 5), (2, 1, 1, 1), (2, 2), (0, 0), (1, 1), 2),
    # stride 1, output rows as wide as the input's: im2col copies each tap as one run
    ((2, 3, 6, 8), (4, 3, 3, 3), (1, 1), (0, 1), (1, 1), 1),
    ((1, 2, 3, 3), (2, 2, 7, 7), (1, 1), (3, 3), (1, 1), 1),  # taps wholly in the padding
    ((2, 2, 5, 9), (2, 2, 3, 3), (1, 1), (2, 2), (1, 2), 1),
])
def test_conv2d_matches_numpy(xs, ws, stride, padding, dilation, groups):
    x, w, b = anyv(xs), anyv(ws), anyv(ws[0])
    want = np_conv2d(x, w, b, stride, padding, dilation, groups)
    for dt, tol in ((torch.float64, 1e-12), (torch.float32, 1e-4)):
        got = F.conv2d(torch.tensor(x, dtype=dt), torch.tensor(w, dtype=dt), torch.tensor(b, dtype=dt),
                       stride, padding, dilation, groups)
        np.testing.assert_allclose(got.numpy(), want, rtol=tol, atol=tol)


def test_conv2d_large_batch_chunks_match_single_samples():
    """A batch big enough to be split into column chunks gives each sample's own result,
    and the weight gradient sums over the chunks."""
    x = torch.randn(40, 8, 24, 24, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 8, 5, 5, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, w, padding=2)
    y.sum().backward()
    for i in (0, 17, 39):
        np.testing.assert_allclose(y[i].detach().numpy(), F.conv2d(x[i:i + 1].detach(), w.detach(), padding=2)[0].numpy(),
                                   rtol=1e-12, atol=1e-12)
    wg = np.zeros(tuple(w.shape))
    for i in range(0, 40, 10):
        wi = w.detach().requires_grad_()
        F.conv2d(x[i:i + 10].detach(), wi, padding=2).sum().backward()
        wg += wi.grad.numpy()
    np.testing.assert_allclose(w.grad.numpy(), wg, rtol=1e-10)


def test_conv2d_kept_columns_survive_a_retained_second_backward_and_are_freed():
    """The forward keeps the batch's columns for the weight gradient (when they are few
    enough); the input gradient's own columns must not overwrite them, and they go with
    the graph."""
    import gc
    from pyautodiff._ffi import lib
    gc.collect()
    base = lib.pa_live_storage_bytes()
    x = torch.randn(6, 5, 9, 9, dtype=torch.float64, requires_grad=True)
    w = torch.randn(7, 5, 3, 3, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    g = torch.randn(*y.shape, dtype=torch.float64)
    y.backward(g, retain_graph=True)
    gw, gx = w.grad.numpy().copy(), x.grad.numpy().copy()
    y.backward(g)
    np.testing.assert_array_equal(w.grad.numpy(), 2 * gw)
    np.testing.assert_array_equal(x.grad.numpy(), 2 * gx)
    xp = np.pad(x.detach().numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.stack([np.einsum("nchw,nohw->oc", xp[:, :, i:i + 9, j:j + 9], g.numpy())
                     for i in range(3) for j in range(3)], -1).reshape(7, 5, 3, 3)
    np.testing.assert_allclose(gw, want, rtol=1e-12, atol=1e-12)
    del x, w, y, g
    gc.collect()
    assert lib.pa_live_storage_bytes() == base


# ---- modules against PyTorch ---------------------------------------------------------
def _copy_from_torch(ours, theirs):
    ours.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _compare_module(ours, theirs, x, tol=1e-5, steps=1):
    for _ in range(steps):
        xo = torch.tensor(x, requires_grad=True)
        xt = __import__("torch").tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
        seed = np.random.uniform(-1, 1, tuple(yt.shape)).astype(x.dtype)
        yo.backward(torch.tensor(seed))
        yt.backward(__import__("torch").tensor(seed))
        np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)
        pt_params = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), pt_params[name].grad.numpy(), rtol=tol, atol=tol,
                                       err_msg=name)
            p.grad = None
            pt_params[name].grad = None
    pt_state = theirs.state_dict()
    own = ours.state_dict()
    assert list(own) == list(pt_state)
    for k, v in pt_state.items():
        np.testing.assert_allclose(own[k].numpy(), v.numpy(), rtol=tol, atol=tol, err_msg=k)


MODULES = [
    ("Conv2d", lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7)),
    ("Conv2d_groups_nobias", lambda nn: nn.Conv2d(4, 6, (2, 3), dilation=2, groups=2, bias=False), (1, 4, 8, 8)),
    ("MaxPool2d", lambda nn: nn.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 2, 8, 8)),
    ("AvgPool2d", lambda nn: nn.AvgPool2d(2, count_include_pad=False, padding=1), (2, 2, 5, 5)),
    ("AdaptiveAvgPool2d", lambda nn: nn.AdaptiveAvgPool2d((2, None)), (2, 2, 5, 3)),
    ("BatchNorm1d", lambda nn: nn.BatchNorm1d(3), (6, 3)),
    ("BatchNorm1d_3d_cma", lambda nn: nn.BatchNorm1d(3, momentum=None), (4, 3, 5)),
    ("BatchNorm2d", lambda nn: nn.BatchNorm2d(3, momentum=0.3), (4, 3, 3, 3)),
    ("BatchNorm2d_noaffine", lambda nn: nn.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    ("BatchNorm2d_no_running", lambda nn: nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 2, 2)),
    ("LayerNorm", lambda nn: nn.LayerNorm([3, 4]), (2, 3, 4)),
    ("LayerNorm_noaffine", lambda nn: nn.LayerNorm(4, elementwise_affine=False), (5, 4)),
    ("LeakyReLU", lambda nn: nn.LeakyReLU(0.3), (4, 5)),
]


@pytest.mark.parametrize("name,make,shape", MODULES, ids=[m[0] for m in MODULES])
def test_module_train_and_eval_match_pytorch(name, make, shape, pt):
    theirs = make(pt.nn).double()
    ours = make(nn).double()
    _copy_from_torch(ours, theirs)
    # Training mode: three steps, so running statistics and their counters evolve.
    _compare_module(ours, theirs, anyv(shape), tol=1e-10, steps=3)
    ours.eval()
    theirs.eval()
    _compare_module(ours, theirs, anyv(shape), tol=1e-10)


def test_module_float32_and_parameter_names_match_pytorch(pt):
    def make(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 6, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LayerNorm(6))
    theirs, ours = make(pt.nn), make(nn)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    _copy_from_torch(ours, theirs)
    _compare_module(ours, theirs, anyv((3, 1, 10, 10)).astype(np.float32), tol=1e-4, steps=2)


def test_conv2d_init_is_pytorchs():
    conv = nn.Conv2d(6, 16, 5)
    bound = 1 / np.sqrt(6 * 25)
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert w.shape == (16, 6, 5, 5) and b.shape == (16,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.9 * bound  # uniform over the whole range
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound


def test_embedding_module_padding_row():
    emb = nn.Embedding(6, 3, padding_idx=-1)
    assert emb.padding_idx == 5
    w = emb.weight.detach().numpy()
    np.testing.assert_array_equal(w[5], 0)
    assert abs(w[:5].std() - 1) < 0.7  # normal(0, 1)
    idx = torch.tensor([[5, 1, 5], [1, 0, 2]])
    out = emb(idx)
    assert tuple(out.shape) == (2, 3, 3)
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy()[:, 0], [1, 2, 1, 0, 0, 0])


def test_max_pool2d_indices_match_pytorch(pt):
    x = distinct((2, 3, 7, 7))
    y, i = F.max_pool2d(torch.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    yt, it = pt.nn.functional.max_pool2d(pt.tensor(x), 3, 2, 1, ceil_mode=True, return_indices=True)
    assert i.dtype == torch.int64
    np.testing.assert_array_equal(i.numpy(), it.numpy())
    np.testing.assert_array_equal(y.numpy(), yt.numpy())


def test_max_pool2d_propagates_nan():
    x = torch.tensor([[[[1.0, float("nan")], [3.0, 2.0]]]])
    assert np.isnan(F.max_pool2d(x, 2).item())


def test_batch_norm_running_statistics_by_hand():
    bn = nn.BatchNorm1d(2, momentum=0.25)
    x = np.array([[1.0, 2.0], [3.0, 6.0], [5.0, 1.0]], dtype=np.float32)
    y = bn(torch.tensor(x)).detach().numpy()
    mean, var_b, var_u = x.mean(0), x.var(0), x.var(0, ddof=1)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var_b + 1e-5), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.25 * mean, rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.75 + 0.25 * var_u, rtol=1e-6)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    y = bn(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(y, (x - 0.25 * mean) / np.sqrt(0.75 + 0.25 * var_u + 1e-5), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1
    bn.double()
    assert bn.running_mean.dtype == torch.float64 and bn.weight.dtype == torch.float64


# ---- dropout ----------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics(p):
    x = torch.ones(200_000, requires_grad=True)
    y = F.dropout(x, p, training=True)
    v = y.detach().numpy()
    kept = v != 0
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(v[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(v.mean() - 1) < 0.05
    y.backward(torch.full((200_000,), 2.0))
    np.testing.assert_allclose(x.grad.numpy(), 2 * v, rtol=1e-6)


def test_dropout_train_eval_seed_and_extremes():
    drop = nn.Dropout(0.5)
    x = torch.randn(4, 50, dtype=torch.float64)
    torch.manual_seed(3)
    a = drop(x).numpy()
    torch.manual_seed(3)
    b = drop(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, drop(x).numpy())
    drop.eval()
    assert drop(x) is x
    np.testing.assert_array_equal(F.dropout(x, 0.0).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, 1.0).numpy(), 0)
    assert F.dropout(x, 0.5).dtype == torch.float64


# ---- bad calls --------------------------------------------------------------------------
f32 = torch.float32
BAD_CALLS = [
    (ValueError, r"conv2d: given groups=1, weight of shape \(4, 3, 3, 3\).*\(2, 2, 5, 5\)",
     lambda: F.conv2d(torch.zeros(2, 2, 5, 5), torch.zeros(4, 3, 3, 3))),
    (ValueError, "conv2d: stride must be positive", lambda: F.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), stride=0)),
    (ValueError, r"conv2d: padded input size.*\(4 x 4\).*\(5 x 5\)",
     lambda: F.conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 5, 5))),
    (ValueError, r"conv2d: expected bias of shape \(4,\)",
     lambda: F.conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(4, 1, 3, 3), torch.zeros(3))),
    (ValueError, "conv2d: expected a 4-d input", lambda: F.conv2d(torch.zeros(5, 5), torch.zeros(1, 1, 3, 3))),
    (TypeError, "conv2d: expected weight to have dtype float32",
     lambda: F.conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 3, 3, dtype=torch.float64))),
    (TypeError, "conv2d: expected input to be float32 or float64, got int64",
     lambda: F.conv2d(torch.zeros(1, 1, 4, 4, dtype=torch.int64), torch.zeros(1, 1, 3, 3))),
    (ValueError, "max_pool2d: padding should be non-negative and at most half",
     lambda: F.max_pool2d(torch.zeros(1, 1, 6, 6), 2, padding=2)),
    (ValueError, r"max_pool2d: input of shape \(1, 1, 2, 2\) is too small",
     lambda: F.max_pool2d(torch.zeros(1, 1, 2, 2), 3)),
    (ValueError, "avg_pool2d: kernel_size must be positive", lambda: F.avg_pool2d(torch.zeros(1, 1, 4, 4), 0)),
    (ValueError, "avg_pool2d: expected a 3-d .* or 4-d", lambda: F.avg_pool2d(torch.zeros(4, 4), 2)),
    (ValueError, "adaptive_avg_pool2d: output_size must be in",
     lambda: F.adaptive_avg_pool2d(torch.zeros(1, 1, 4, 4), 0)),
    (ValueError, "batch_norm: expected more than 1 value per channel when training",
     lambda: nn.BatchNorm1d(3)(torch.zeros(1, 3))),
    (ValueError, r"batch_norm: expected weight of shape \(3,\), got \(4,\)",
     lambda: F.batch_norm(torch.zeros(2, 3), None, None, torch.zeros(4), training=True)),
    (ValueError, "batch_norm: running_mean and running_var must be defined in evaluation mode",
     lambda: F.batch_norm(torch.zeros(2, 3), None, None)),
    (ValueError, r"expected 4D input \(got 3D input\)", lambda: nn.BatchNorm2d(3)(torch.zeros(2, 3, 4))),
    (ValueError, r"layer_norm: normalized_shape \(4,\) does not match the last dims of the input of shape \(2, 3\)",
     lambda: F.layer_norm(torch.zeros(2, 3), (4,))),
    (IndexError, "embedding: index 10 is out of range for 10 embeddings",
     lambda: F.embedding(torch.tensor([1, 10]), torch.zeros(10, 3))),
    (IndexError, "embedding: index -1 is out of range", lambda: nn.Embedding(4, 2)(torch.tensor([[0, -1]]))),
    (TypeError, "embedding: expected int64 indices, got float32",
     lambda: F.embedding(torch.zeros(2), torch.zeros(10, 3))),
    (ValueError, "dropout probability has to be between 0 and 1, but got 1.5", lambda: nn.Dropout(1.5)),
    (ValueError, "dropout probability has to be between 0 and 1", lambda: F.dropout(torch.zeros(3), -0.1)),
    (TypeError, "leaky_relu: expected input to be float32 or float64, got int64",
     lambda: F.leaky_relu(torch.tensor([1, 2]))),
]


@pytest.mark.parametrize("exc,match,fn", BAD_CALLS, ids=[f"bad{i}" for i in range(len(BAD_CALLS))])
def test_bad_calls_raise_clear_errors(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn()


# ---- determinism ------------------------------------------------------------------------
def test_results_are_bit_identical_for_any_thread_count():
    x0 = np.random.randn(8, 8, 32, 32).astype(np.float32)
    w0 = np.random.randn(16, 8, 3, 3).astype(np.float32)
    results = []
    saved = torch.get_num_threads()
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            x = torch.tensor(x0, requires_grad=True)
            w = torch.tensor(w0, requires_grad=True)
            b = torch.zeros(16, requires_grad=True)
            gamma = torch.ones(16, requires_grad=True)
            y = F.conv2d(x, w, b, padding=1)
            y = F.batch_norm(y, None, None, gamma, None, training=True)
            y = F.max_pool2d(F.leaky_relu(y), 2)
            y = F.layer_norm(F.avg_pool2d(y, 2), (8, 8))
            (y * y).sum().backward()
            results.append([t.numpy().copy() for t in (y.detach(), x.grad, w.grad, b.grad, gamma.grad)])
    finally:
        torch.set_num_threads(saved)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_no_graph_without_grad_and_no_leaks():
    live = torch._ffi.lib.pa_live_nodes() if hasattr(torch, "_ffi") else None
    x = torch.randn(2, 3, 6, 6)
    conv = nn.Conv2d(3, 4, 3)
    with torch.no_grad():
        y = conv(x)
    assert y.grad_fn is None
    y = F.max_pool2d(conv(x), 2)
    assert y.grad_fn.name() == "MaxPool2DWithIndicesBackward"
    y.sum().backward()
    del y
    if live is not None:
        assert torch._ffi.lib.pa_live_nodes() == live


@pytest.mark.parametrize("xs,ws,groups", [((3, 4, 7, 7), (20, 4, 3, 3), 1),      # K 36 > 20 outputs
                                          ((2, 8, 6, 6), (36, 4, 3, 3), 2),      # per group 36 > 18
                                          ((40, 8, 24, 24), (20, 8, 3, 3), 1),   # kept columns
                                          ((120, 8, 24, 24), (20, 8, 3, 3), 1)])  # five chunks
def test_conv2d_weight_gradient_matches_numpy(xs, ws, groups):
    # With more column rows than output channels the weight gradient is formed
    # transposed (col @ dY^T) and transposed back; chunks accumulate into it.
    x, w = anyv(xs), anyv(ws)
    y_shape = (xs[0], ws[0], xs[2], xs[3])
    gy = anyv(y_shape)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    og, cg = ws[0] // groups, ws[1]
    want = np.zeros(ws)
    for oc in range(ws[0]):
        gi = oc // og
        for i in range(3):
            for j in range(3):
                patch = xp[:, gi * cg:(gi + 1) * cg, i:i + xs[2], j:j + xs[3]]
                want[oc, :, i, j] = np.einsum("nchw,nhw->c", patch, gy[:, oc])
    for dt, tol in ((torch.float64, 1e-10), (torch.float32, 2e-3)):
        wt = torch.tensor(w, dtype=dt, requires_grad=True)
        F.conv2d(torch.tensor(x, dtype=dt), wt, padding=1, groups=groups).backward(torch.tensor(gy, dtype=dt))
        np.testing.assert_allclose(wt.grad.numpy(), want, rtol=tol, atol=tol)
