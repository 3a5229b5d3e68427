"""nn/_layers_misc.py and nn/modules/misc.py: values and gradients against PyTorch (skipped
without it), gradients against finite differences in float64, the random layers'
statistics, errors."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck

# (name, fn(T, x), input shape)
CASES = [
    ("instance_norm", lambda T, x: T.nn.functional.instance_norm(x), (2, 3, 5)),
    ("instance_norm_affine", lambda T, x: T.nn.functional.instance_norm(
        x, weight=T.linspace(0.5, 1.5, 3, dtype=x.dtype), bias=T.linspace(-1, 1, 3, dtype=x.dtype)), (2, 3, 2, 3)),
    ("local_response_norm", lambda T, x: T.nn.functional.local_response_norm(x, 3, alpha=0.1, beta=0.6, k=2.0),
     (2, 5, 4)),
    ("local_response_norm_4d", lambda T, x: T.nn.functional.local_response_norm(x, 2), (2, 4, 3, 2)),
    ("adaptive_max_pool1d", lambda T, x: T.nn.functional.adaptive_max_pool1d(x, 3), (2, 3, 7)),
    ("adaptive_max_pool2d", lambda T, x: T.nn.functional.adaptive_max_pool2d(x, (2, 3)), (2, 2, 5, 7)),
    ("adaptive_max_pool2d_unbatched", lambda T, x: T.nn.functional.adaptive_max_pool2d(x, (4, None)), (2, 5, 3)),
    ("unfold", lambda T, x: T.nn.functional.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
     (2, 3, 5, 6)),
    ("fold", lambda T, x: T.nn.functional.fold(x, (4, 5), 2, padding=1, stride=2), (2, 8, 9)),
    ("channel_shuffle", lambda T, x: T.nn.functional.channel_shuffle(x, 3), (2, 6, 2)),
    ("pdist", lambda T, x: T.nn.functional.pdist(x), (5, 3)),
    ("pdist_p1", lambda T, x: T.nn.functional.pdist(x, p=1), (4, 3)),
    ("multi_margin_loss", lambda T, x: T.nn.functional.multi_margin_loss(x, T.tensor([2, 0, 3])), (3, 4)),
    ("multi_margin_loss_p2", lambda T, x: T.nn.functional.multi_margin_loss(
        x, T.tensor([1, 1, 0]), p=2, margin=0.5, weight=T.tensor([1.0, 2.0, 0.5, 3.0], dtype=x.dtype),
        reduction="none"), (3, 4)),
    ("cosine_similarity_module", lambda T, x: T.nn.CosineSimilarity(dim=0)(x, x.flip(1)), (3, 4)),
    ("pairwise_distance_module", lambda T, x: T.nn.PairwiseDistance(p=3, keepdim=True)(x, x * 0.5 + 1), (3, 4)),
    ("rrelu_eval", lambda T, x: T.nn.functional.rrelu(x, 0.1, 0.3), (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", CASES, ids=[c[0] for c in CASES])
def test_gradients_against_finite_differences(name, fn, shape):
    x = torch.tensor(np.random.uniform(-2, 2, shape), requires_grad=True)
    assert gradcheck(lambda x: fn(torch, x), (x,))


@pytest.mark.parametrize("name,fn,shape", CASES, ids=[c[0] for c in CASES])
def test_against_pytorch(against_pytorch, name, fn, shape):
    against_pytorch(fn, [np.random.uniform(-2, 2, shape).astype(np.float32)], 1e-5, 1e-6, 1e-4, 1e-5)


def test_fold_is_the_adjoint_of_unfold():
    x, y = np.random.randn(2, 3, 6, 5), np.random.randn(2, 3 * 2 * 2, 24)
    u = F.unfold(torch.tensor(x), 2, padding=1, stride=(2, 1)).numpy()
    f = F.fold(torch.tensor(y), (6, 5), 2, padding=1, stride=(2, 1)).numpy()
    assert u.shape == y.shape
    np.testing.assert_allclose((u * y).sum(), (x * f).sum(), rtol=1e-12)


def test_adaptive_max_pool_indices_against_pytorch(pt):
    x = np.random.randn(2, 3, 7, 5).astype(np.float32)
    va, ia = F.adaptive_max_pool2d(torch.tensor(x), (3, 2), return_indices=True)
    vb, ib = pt.nn.functional.adaptive_max_pool2d(pt.tensor(x), (3, 2), return_indices=True)
    np.testing.assert_array_equal(va.numpy(), vb.numpy())
    np.testing.assert_array_equal(ia.numpy(), ib.numpy())
    m = nn.AdaptiveMaxPool1d(2, return_indices=True)
    assert m(torch.tensor(x[0, :, 0]))[1].tolist() == \
        pt.nn.AdaptiveMaxPool1d(2, return_indices=True)(pt.tensor(x[0, :, 0]))[1].tolist()


@pytest.mark.parametrize("cls,shape", [("InstanceNorm1d", (3, 4, 6)), ("InstanceNorm2d", (2, 4, 3, 5)),
                                       ("InstanceNorm2d", (4, 3, 5))])
def test_instance_norm_modules_against_pytorch(pt, cls, shape):
    ours = getattr(nn, cls)(4, affine=True, track_running_stats=True, momentum=0.2)
    theirs = getattr(pt.nn, cls)(4, affine=True, track_running_stats=True, momentum=0.2)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    with pt.no_grad():
        theirs.weight.copy_(pt.linspace(0.5, 2, 4))
    with torch.no_grad():
        ours.weight.copy_(torch.linspace(0.5, 2, 4))
    x = np.random.randn(*shape).astype(np.float32)
    for _ in range(2):
        np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), theirs(pt.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5, atol=1e-6)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), theirs(pt.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    assert repr(ours) == repr(theirs)
    no_bias = getattr(nn, cls)(4, affine=True, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert repr(no_bias) == repr(getattr(pt.nn, cls)(4, affine=True, bias=False))


def test_alpha_dropout_keeps_zero_mean_unit_variance():
    torch.manual_seed(0)
    x = torch.randn(200000)
    y = F.alpha_dropout(x, 0.3, training=True)
    assert abs(y.mean().item()) < 0.01 and abs(y.std().item() - 1) < 0.01
    assert F.alpha_dropout(x, 0.3, training=False) is x
    z = nn.FeatureAlphaDropout(0.5)(torch.randn(4, 8, 10))
    per_channel = z.numpy().reshape(32, 10)
    dropped = np.all(np.isclose(per_channel, per_channel[:, :1]), axis=1)  # a dropped channel is constant
    assert 4 <= dropped.sum() <= 28
    m = nn.AlphaDropout(0.2)
    m.eval()
    assert m(x) is x


def test_rrelu_training_slopes_and_gumbel_softmax():
    torch.manual_seed(1)
    x = torch.full((10000,), -1.0, requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.005
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-6)
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 5.0]], requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(1).detach().numpy(), 1, rtol=1e-6)
    hard = F.gumbel_softmax(logits, hard=True)
    assert sorted(hard.detach().numpy().reshape(-1).tolist()) == [0.0] * 4 + [1.0] * 2
    (hard * torch.tensor([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])).sum().backward()
    assert np.abs(logits.grad.numpy()).sum() > 0  # straight-through: the soft sample's gradient


def test_inplace_activations():
    x = torch.tensor([-1.0, 0.5, 2.0])
    for fn, expected in ((F.relu_, [0.0, 0.5, 2.0]), (lambda t: F.leaky_relu_(t, 0.1), [-0.1, 0.5, 2.0]),
                         (lambda t: F.hardtanh_(t, -0.5, 1.0), [-0.5, 0.5, 1.0]),
                         (lambda t: F.threshold_(t, 0.6, 9.0), [9.0, 9.0, 2.0])):
        y = x.clone()
        assert fn(y) is y
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
    y = x.clone()
    F.elu_(y)
    np.testing.assert_allclose(y.numpy(), [np.expm1(-1.0), 0.5, 2.0], rtol=1e-6)


def test_bad_calls():
    with pytest.raises(RuntimeError, match="Number of channels must be divisible by groups"):
        F.channel_shuffle(torch.ones(1, 5, 2), 2)
    with pytest.raises(RuntimeError, match="expected size of input's dimension 2 to match"):
        F.fold(torch.ones(1, 4, 5), (3, 3), 2)
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.InstanceNorm2d(3)(torch.ones(3, 4))
    with pytest.raises(ValueError, match="to match num_features"):
        nn.InstanceNorm1d(3, affine=True)(torch.ones(2, 4, 5))
    with pytest.raises(RuntimeError, match="target 5 is out of bounds for 4 classes"):
        F.multi_margin_loss(torch.ones(2, 4), torch.tensor([1, 5]))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)


def test_batchnorm3d_and_compile(pt):
    x = np.random.randn(2, 3, 2, 3, 4).astype(np.float32)
    ours, theirs = nn.BatchNorm3d(3), pt.nn.BatchNorm3d(3)
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), theirs(pt.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5)
    assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="expected 5D input"):
        ours(torch.ones(2, 3, 4))
    assert torch.compile(ours) is ours

    @torch.compile(mode="max-autotune")
    def double(t):
        return t * 2

    assert double(torch.ones(2)).tolist() == [2.0, 2.0]


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_and_affine_grid_against_pytorch(pt, align_corners, mode, padding_mode):
    rng = np.random.default_rng(0)
    theta = (rng.standard_normal((2, 2, 3)) * 0.7).astype(np.float32)
    ga = F.affine_grid(torch.tensor(theta), (2, 3, 5, 4), align_corners=align_corners)
    gb = pt.nn.functional.affine_grid(pt.tensor(theta), (2, 3, 5, 4), align_corners=align_corners)
    np.testing.assert_allclose(ga.numpy(), gb.numpy(), rtol=1e-6, atol=1e-6)
    x = rng.standard_normal((2, 3, 6, 7)).astype(np.float32)
    g = (rng.random((2, 5, 4, 2)) * 2.6 - 1.3).astype(np.float32)  # inside and outside [-1, 1]
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    gra, grb = torch.tensor(g, requires_grad=True), pt.tensor(g, requires_grad=True)
    oa = F.grid_sample(xa, gra, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ob = pt.nn.functional.grid_sample(xb, grb, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    np.testing.assert_allclose(oa.detach().numpy(), ob.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = rng.standard_normal(oa.shape).astype(np.float32)
    (oa * torch.tensor(w)).sum().backward()
    (ob * pt.tensor(w)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gra.grad.numpy(), grb.grad.numpy(), rtol=1e-4, atol=2e-5)


def test_grid_sample_gradients_against_finite_differences_and_identity():
    x = torch.tensor(np.random.randn(1, 2, 4, 5), requires_grad=True)
    g = torch.tensor(np.random.uniform(-1.2, 1.2, (1, 3, 2, 2)), requires_grad=True)
    for pm in ("zeros", "border", "reflection"):
        assert gradcheck(lambda x, g: F.grid_sample(x, g, padding_mode=pm, align_corners=False), (x, g))
    theta = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=torch.float64)
    ident = F.grid_sample(x, F.affine_grid(theta, (1, 2, 4, 5), align_corners=False), align_corners=False)
    np.testing.assert_allclose(ident.detach().numpy(), x.detach().numpy(), atol=1e-12)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(theta, (1, 2, 4, 5))
    with pytest.raises(ValueError, match="expected padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
