"""1-d convolution and pooling, GroupNorm, RMSNorm, EmbeddingBag, channel dropout and the
remaining activations: float64 gradients against finite differences, values and
gradients against PyTorch (skipped without it) and against NumPy, PyTorch's parameter
names and init, bad calls."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck


def t64(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


# name, fn(lib, F, x), input shape: checked against PyTorch and by finite differences
FUNCTIONAL = [
    ("conv1d", lambda lib, F, x, w: F.conv1d(x, w, None, 2, 1, 1, 1), (2, 3, 9), (4, 3, 3)),
    ("conv1d_groups_dil", lambda lib, F, x, w: F.conv1d(x, w, None, 1, 2, 2, 3), (2, 3, 9), (6, 1, 3)),
    ("conv1d_same", lambda lib, F, x, w: F.conv1d(x, w, None, 1, "same"), (3, 8), (2, 3, 4)),
    ("max_pool1d", lambda lib, F, x, w: F.max_pool1d(x, 3, 2, 1), (2, 3, 9), None),
    ("avg_pool1d", lambda lib, F, x, w: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False), (2, 3, 9), None),
    ("group_norm", lambda lib, F, x, w: F.group_norm(x, 2, w, w * 0.5 + 1), (3, 4, 5), (4,)),
    ("group_norm_4d", lambda lib, F, x, w: F.group_norm(x, 3, None, None), (2, 6, 2, 3), None),
    ("rms_norm", lambda lib, F, x, w: F.rms_norm(x, (4,), w, 1e-6), (3, 2, 4), (4,)),
    ("selu", lambda lib, F, x, w: F.selu(x), (3, 5), None),
    ("celu", lambda lib, F, x, w: F.celu(x, 0.7), (3, 5), None),
    ("logsigmoid", lambda lib, F, x, w: F.logsigmoid(x * 8), (3, 5), None),
    ("softmin", lambda lib, F, x, w: F.softmin(x, 1), (3, 5), None),
    ("glu", lambda lib, F, x, w: F.glu(x, 1), (3, 6), None),
    ("prelu", lambda lib, F, x, w: F.prelu(x, w), (2, 3, 4), (3,)),
    ("prelu_one", lambda lib, F, x, w: F.prelu(x, w), (2, 3), (1,)),
    ("hardshrink", lambda lib, F, x, w: F.hardshrink(x, 0.3), (3, 5), None),
    ("softshrink", lambda lib, F, x, w: F.softshrink(x, 0.3), (3, 5), None),
    ("tanhshrink", lambda lib, F, x, w: F.tanhshrink(x), (3, 5), None),
    ("threshold", lambda lib, F, x, w: F.threshold(x, 0.2, -1.5), (3, 5), None),
]


def away_from_kinks(shape):
    """Values whose finite differences stay clear of the activations' corners (0, ±0.3, 0.2)."""
    v = np.random.uniform(0.05, 2.0, shape) * np.where(np.random.rand(*shape) < 0.5, -1, 1)
    return np.where(np.abs(np.abs(v) - 0.3) < 0.05, v * 1.5, np.where(np.abs(v - 0.2) < 0.05, v + 0.2, v))


@pytest.mark.parametrize("name,fn,xs,ws", FUNCTIONAL, ids=[c[0] for c in FUNCTIONAL])
def test_gradients_against_finite_differences(name, fn, xs, ws):
    x = t64(away_from_kinks(xs) if name != "max_pool1d" else np.random.permutation(np.prod(xs)).reshape(xs) * 0.1)
    args = [x] + ([t64(np.random.uniform(0.2, 1.5, ws))] if ws else [])
    assert gradcheck(lambda *a: fn(torch, F, *a, *([None] * (2 - len(a)))), args)


@pytest.mark.filterwarnings("ignore:Using padding='same'")   # PyTorch's, on an even kernel
@pytest.mark.parametrize("name,fn,xs,ws", FUNCTIONAL, ids=[c[0] for c in FUNCTIONAL])
def test_against_pytorch(against_pytorch, name, fn, xs, ws):
    inputs = [away_from_kinks(xs).astype(np.float32)]
    if ws:
        inputs.append(np.random.uniform(0.2, 1.5, ws).astype(np.float32))
    against_pytorch(lambda lib, x, w=None: fn(lib, lib.nn.functional, x, w), inputs, 1e-5, 1e-6, 1e-4, 1e-5)


def test_group_norm_and_rms_norm_against_numpy():
    x = np.random.randn(2, 6, 5)
    g = x.reshape(2, 3, 10)
    want = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(2, 6, 5)
    np.testing.assert_allclose(F.group_norm(torch.tensor(x), 3).numpy(), want, rtol=1e-10)
    want = x / np.sqrt((x ** 2).mean(-1, keepdims=True) + np.finfo(np.float64).eps)
    np.testing.assert_allclose(F.rms_norm(torch.tensor(x), 5).numpy(), want, rtol=1e-12)


BAGS = [dict(mode="sum"), dict(mode="mean"), dict(mode="max"), dict(mode="mean", padding_idx=2),
        dict(mode="sum", include_last_offset=True), dict(mode="max", padding_idx=0)]


@pytest.mark.parametrize("kw", BAGS)
def test_embedding_bag_against_pytorch(pt, kw):
    ours = nn.EmbeddingBag(10, 4, **kw)
    theirs = pt.nn.EmbeddingBag(10, 4, **kw)
    with pt.no_grad():
        theirs.weight.copy_(pt.from_numpy(ours.weight.detach().numpy().copy()))
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 2])
    offsets = np.array([0, 2, 2, 5, 10]) if kw.get("include_last_offset") else np.array([0, 2, 2, 5])
    a = ours(torch.tensor(idx), torch.tensor(offsets))
    b = theirs(pt.tensor(idx), pt.tensor(offsets))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-7)
    g = np.random.randn(*a.shape).astype(np.float32)
    (a * torch.tensor(g)).sum().backward()
    (b * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    two_d = np.array([[1, 2, 3], [4, 4, 0]])
    np.testing.assert_allclose(ours(torch.tensor(two_d)).detach().numpy(),
                               theirs(pt.tensor(two_d)).detach().numpy(), rtol=1e-6, atol=1e-7)


def test_embedding_bag_per_sample_weights_and_numpy():
    w = np.random.randn(6, 3)
    m = nn.EmbeddingBag(6, 3, mode="sum", _weight=torch.tensor(w))
    idx, off, psw = np.array([0, 5, 5, 1]), np.array([0, 1]), np.array([2.0, 0.5, -1.0, 3.0])
    got = m(torch.tensor(idx), torch.tensor(off), torch.tensor(psw)).detach().numpy()
    want = np.stack([2.0 * w[0], 0.5 * w[5] - w[5] + 3.0 * w[1]])
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(torch.tensor(idx), torch.tensor(w), torch.tensor(off), mode="mean",
                        per_sample_weights=torch.tensor(psw))
    with pytest.raises(ValueError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(torch.tensor(idx), torch.tensor(w), torch.tensor([1, 2]))


@pytest.mark.parametrize("name,kw", [("Conv1d", dict(in_channels=3, out_channels=4, kernel_size=3, padding=1)),
                                     ("GroupNorm", dict(num_groups=2, num_channels=4)),
                                     ("GroupNorm", dict(num_groups=2, num_channels=4, bias=False)),
                                     ("RMSNorm", dict(normalized_shape=4)), ("PReLU", dict(num_parameters=3)),
                                     ("EmbeddingBag", dict(num_embeddings=5, embedding_dim=3))])
def test_modules_have_pytorch_parameters(pt, name, kw):
    ours, theirs = getattr(nn, name)(**kw), getattr(pt.nn, name)(**kw)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        if name in ("GroupNorm", "RMSNorm", "PReLU"):
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_random_inits_follow_pytorch():
    conv = nn.Conv1d(8, 64, 5)                  # kaiming-uniform(a=sqrt(5)): bound 1/sqrt(fan_in)
    bound = 1 / np.sqrt(8 * 5)
    for p in (conv.weight, conv.bias):
        v = p.detach().numpy()
        assert np.abs(v).max() <= bound and np.abs(v).max() > 0.9 * bound
    w = nn.EmbeddingBag(200, 50).weight.detach().numpy()    # N(0, 1)
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05
    assert np.all(nn.EmbeddingBag(5, 3, padding_idx=1).weight.detach().numpy()[1] == 0)


def test_conv1d_module_trains_and_channel_dropout():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 4, 5, padding=2), nn.GroupNorm(2, 4), nn.SELU(), nn.MaxPool1d(2),
                          nn.Flatten(), nn.Linear(4 * 16, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    x = torch.randn(64, 1, 32)
    y = (x[:, 0, :16].sum(1) > x[:, 0, 16:].sum(1)).long()
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first
    d = nn.Dropout2d(0.5)
    z = d(torch.ones(8, 16, 3, 3)).numpy()
    per_channel = z.reshape(8, 16, 9)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()        # whole channels
    assert 0.2 < (per_channel[:, :, 0] == 0).mean() < 0.8
    d.eval()
    np.testing.assert_array_equal(d(torch.ones(2, 3, 2, 2)).numpy(), np.ones((2, 3, 2, 2)))


def test_bad_calls():
    with pytest.raises(RuntimeError, match="Expected number of channels in input to be divisible by num_groups"):
        F.group_norm(torch.randn(2, 5, 3), 2)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 5"):
        F.glu(torch.randn(3, 5), 1)
    with pytest.raises(RuntimeError, match="Expected 2D \\(unbatched\\) or 3D \\(batched\\) input"):
        F.conv1d(torch.randn(1, 2, 3, 4), torch.randn(2, 2, 1))
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(torch.randn(2, 3), torch.randn(4))
    with pytest.raises(RuntimeError, match="rms_norm: Given normalized_shape=\\[3\\]"):
        F.rms_norm(torch.randn(2, 4), 3)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(3, 4)


INTERP = [dict(scale_factor=2), dict(size=(5, 7)), dict(scale_factor=(1.5, 0.5)), dict(size=3, mode="nearest-exact"),
          dict(scale_factor=2, mode="bilinear"), dict(size=(5, 9), mode="bilinear", align_corners=True),
          dict(size=(3, 2), mode="bilinear"), dict(scale_factor=1.7, mode="bilinear", align_corners=False),
          dict(scale_factor=0.6, mode="bilinear", recompute_scale_factor=True)]


@pytest.mark.parametrize("kw", INTERP)
def test_interpolate_against_pytorch(pt, kw):
    x = np.random.randn(2, 3, 4, 6).astype(np.float32)
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    a, b = F.interpolate(xa, **kw), pt.nn.functional.interpolate(xb, **kw)
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = np.random.randn(*a.shape).astype(np.float32)
    (a * torch.tensor(g)).sum().backward()
    (b * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(scale_factor=3), dict(size=5, mode="linear"),
                                dict(size=7, mode="linear", align_corners=True)])
def test_interpolate_1d_and_upsample_modules(pt, kw):
    x = np.random.randn(2, 3, 4).astype(np.float32)
    np.testing.assert_allclose(F.interpolate(torch.tensor(x), **kw).numpy(),
                               pt.nn.functional.interpolate(pt.tensor(x), **kw).numpy(), rtol=1e-6, atol=1e-6)
    y = np.random.randn(1, 2, 3, 3).astype(np.float32)
    for ours, theirs in ((nn.Upsample(scale_factor=2, mode="bilinear"), pt.nn.Upsample(scale_factor=2, mode="bilinear")),
                         (nn.UpsamplingBilinear2d(size=(4, 5)), pt.nn.UpsamplingBilinear2d(size=(4, 5))),
                         (nn.UpsamplingNearest2d(scale_factor=2), pt.nn.UpsamplingNearest2d(scale_factor=2))):
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(torch.tensor(y)).numpy(), theirs(pt.tensor(y)).numpy(), rtol=1e-6, atol=1e-6)


def test_interpolate_gradients_and_bad_calls():
    x = t64(np.random.randn(1, 2, 3, 4))
    assert gradcheck(lambda x: F.interpolate(x, size=(5, 3), mode="bilinear"), (x,))
    assert gradcheck(lambda x: F.interpolate(x, scale_factor=2), (x,))
    with pytest.raises(ValueError, match="only one of size or scale_factor should be defined"):
        F.interpolate(torch.randn(1, 1, 2, 2))
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(torch.randn(1, 1, 4), size=3, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners option can only be set with the interpolating modes"):
        F.interpolate(torch.randn(1, 1, 2, 2), size=3, align_corners=True)


TRANSPOSED = [dict(), dict(stride=2), dict(stride=2, padding=1, output_padding=1), dict(stride=(2, 3), padding=(0, 2)),
              dict(stride=2, dilation=2, output_padding=1), dict(groups=2, stride=2), dict(padding=2)]


@pytest.mark.parametrize("kw", TRANSPOSED)
def test_conv_transpose2d_against_pytorch(against_pytorch, kw):
    groups = kw.get("groups", 1)
    inputs = [np.random.randn(2, 4, 5, 6).astype(np.float32), np.random.randn(4, 6 // groups, 3, 3).astype(np.float32),
              np.random.randn(6).astype(np.float32)]
    against_pytorch(lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(x, w, b, **kw), inputs,
                    1e-4, 1e-5, 1e-4, 1e-4)


def test_conv_transpose_modules_and_1d(pt):
    for ours, theirs, shape in ((nn.ConvTranspose2d(3, 4, (2, 3), stride=2, padding=(0, 1), bias=False),
                                 pt.nn.ConvTranspose2d(3, 4, (2, 3), stride=2, padding=(0, 1), bias=False), (2, 3, 4, 5)),
                                (nn.ConvTranspose1d(3, 2, 4, stride=3, output_padding=1),
                                 pt.nn.ConvTranspose1d(3, 2, 4, stride=3, output_padding=1), (2, 3, 7))):
        assert repr(ours) == repr(theirs)
        assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
        with pt.no_grad():
            for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
                q.copy_(pt.from_numpy(p.detach().numpy().copy()))
        x = np.random.randn(*shape).astype(np.float32)
        np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), theirs(pt.tensor(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours(torch.tensor(x[0])).detach().numpy(),      # unbatched
                                   theirs(pt.tensor(x[0])).detach().numpy(), rtol=1e-4, atol=1e-5)
    up, up_t = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1), pt.nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    x = np.random.randn(1, 2, 4, 4).astype(np.float32)
    assert tuple(up(torch.tensor(x), output_size=(8, 8)).shape) == \
        tuple(up_t(pt.tensor(x), output_size=(8, 8)).shape) == (1, 2, 8, 8)


def test_conv_transpose_gradients_and_bad_calls():
    x, w = t64(np.random.randn(1, 2, 3, 3)), t64(np.random.randn(2, 3, 2, 2))
    assert gradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1), (x, w))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(torch.randn(1, 2, 3, 3), torch.randn(2, 3, 2, 2), output_padding=1)
    with pytest.raises(RuntimeError, match="expected input \\[1, 3, 3, 3\\] to have 2 channels"):
        F.conv_transpose2d(torch.randn(1, 3, 3, 3), torch.randn(2, 3, 2, 2))
    with pytest.raises(ValueError, match="requested an output size of \\[12, 12\\]"):
        nn.ConvTranspose2d(2, 2, 3, stride=2)(torch.randn(1, 2, 4, 4), output_size=(12, 12))


def test_bilinear_against_pytorch(pt):
    ours, theirs = nn.Bilinear(3, 4, 2), pt.nn.Bilinear(3, 4, 2)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    with pt.no_grad():
        for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            q.copy_(pt.from_numpy(p.detach().numpy().copy()))
    a, b = np.random.randn(5, 2, 3).astype(np.float32), np.random.randn(5, 2, 4).astype(np.float32)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    pa_, pb = pt.tensor(a, requires_grad=True), pt.tensor(b, requires_grad=True)
    x, y = ours(ta, tb), theirs(pa_, pb)
    np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), rtol=1e-5, atol=1e-6)
    x.sum().backward()
    y.sum().backward()
    np.testing.assert_allclose(ta.grad.numpy(), pa_.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5, atol=1e-6)
    x1, x2, w = t64(np.random.randn(2, 3)), t64(np.random.randn(2, 2)), t64(np.random.randn(4, 3, 2))
    assert gradcheck(lambda x1, x2, w: F.bilinear(x1, x2, w), (x1, x2, w))


def test_regression_losses_broadcast_a_target_of_another_size_with_a_warning(pt):
    a, b = np.random.randn(4, 1).astype(np.float32), np.random.randn(4, 3).astype(np.float32)
    for name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        with pytest.warns(UserWarning, match=r"Using a target size \(torch.Size\(\[4, 3\]\)\) that is different "
                                             r"to the input size \(torch.Size\(\[4, 1\]\)\)"):
            got = getattr(F, name)(torch.tensor(a), torch.tensor(b)).item()
        with pytest.warns(UserWarning):
            want = getattr(pt.nn.functional, name)(pt.tensor(a), pt.tensor(b)).item()
        assert got == pytest.approx(want, rel=1e-6)
    with pytest.raises(ValueError, match="Target size .* must be the same as input size|target size"):
        F.binary_cross_entropy_with_logits(torch.randn(4, 1), torch.rand(4, 3))


PADS = [("ZeroPad2d", (1, 2, 0, 3), (2, 3, 4, 5)), ("ZeroPad1d", 2, (2, 3, 4)),
        ("ConstantPad2d", ((1, 0, 2, 1), 1.5), (2, 3, 4)), ("ConstantPad1d", ((3, 1), -2.0), (3, 4)),
        ("ReflectionPad1d", (3, 1), (2, 3, 5)), ("ReflectionPad2d", (1, 2, 3, 0), (1, 2, 4, 5)),
        ("ReplicationPad1d", 2, (2, 3, 4)), ("ReplicationPad2d", (0, 3, 1, 2), (2, 3, 4)),
        ("CircularPad1d", (2, 3), (2, 3, 4)), ("CircularPad2d", 1, (1, 2, 3, 4))]


@pytest.mark.parametrize("name,args,shape", PADS, ids=[p[0] for p in PADS])
def test_padding_layers_against_pytorch(pt, name, args, shape):
    args = args if isinstance(args, tuple) and isinstance(args[-1], float) else (args,)
    ours, theirs = getattr(nn, name)(*args), getattr(pt.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = np.random.randn(*shape).astype(np.float32)
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    a, b = ours(xa), theirs(xb)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    g = np.random.randn(*a.shape).astype(np.float32)
    (a * torch.tensor(g)).sum().backward()
    (b * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_pixel_shuffle_softmax2d_adaptive_avg_pool1d_against_pytorch(pt):
    x = np.random.randn(2, 8, 3, 5).astype(np.float32)
    for ours, theirs, inp in ((nn.PixelShuffle(2), pt.nn.PixelShuffle(2), x),
                              (nn.PixelUnshuffle(2), pt.nn.PixelUnshuffle(2), np.random.randn(2, 3, 4, 6).astype(np.float32)),
                              (nn.Softmax2d(), pt.nn.Softmax2d(), x),
                              (nn.AdaptiveAvgPool1d(3), pt.nn.AdaptiveAvgPool1d(3), x[0, :, 0])):
        assert repr(ours) == repr(theirs)
        np.testing.assert_allclose(ours(torch.tensor(inp)).numpy(), theirs(pt.tensor(inp)).numpy(), rtol=1e-6,
                                   atol=1e-7)
    y = torch.tensor(x)
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(y, 2), 2).numpy(), x)


def test_index_padding_gradients_and_bad_calls():
    x = t64(np.random.randn(1, 2, 4))
    for mode in ("reflect", "replicate", "circular"):
        assert gradcheck(lambda x: F.pad(x, (2, 3), mode), (x,))
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding input dimension"):
        F.pad(torch.randn(1, 2, 3), (3, 0), "reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        F.pad(torch.randn(1, 2, 3), (4, 0), "circular")
    with pytest.raises(RuntimeError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(torch.randn(1, 6, 2, 2), 2)
