"""3-d convolution, transposed convolution, pooling and interpolation (nn/_layers_3d.py,
nn/modules/conv3d.py): values, indices and gradients against PyTorch (skipped without
it), gradients against finite differences in float64, modules and errors."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck


def _x(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# (name, fn(F, x, w), x shape, w shape or None)
CASES = [
    ("conv3d", lambda F, x, w: F.conv3d(x, w), (2, 3, 4, 5, 6), (4, 3, 2, 3, 2)),
    ("conv3d_stride_pad_dilation", lambda F, x, w: F.conv3d(x, w, stride=(2, 1, 2), padding=(1, 0, 1),
                                                            dilation=(1, 2, 1)), (2, 3, 5, 6, 5), (4, 3, 3, 2, 2)),
    ("conv3d_groups_same", lambda F, x, w: F.conv3d(x, w, padding="same", groups=2), (1, 4, 4, 5, 3), (6, 2, 2, 3, 2)),
    ("conv3d_valid_unbatched", lambda F, x, w: F.conv3d(x, w, padding="valid"), (2, 4, 4, 4), (3, 2, 2, 2, 2)),
    ("conv_transpose3d", lambda F, x, w: F.conv_transpose3d(x, w, stride=2, padding=1, output_padding=1),
     (1, 4, 3, 3, 2), (4, 2, 3, 2, 2)),
    ("conv_transpose3d_groups_dilation", lambda F, x, w: F.conv_transpose3d(x, w, stride=(1, 2, 1), dilation=(2, 1, 1),
                                                                            groups=2), (2, 4, 2, 3, 3), (4, 1, 2, 2, 2)),
    ("interpolate_trilinear", lambda F, x, w: F.interpolate(x, scale_factor=2, mode="trilinear"), (1, 2, 2, 3, 2), None),
    ("interpolate_trilinear_align", lambda F, x, w: F.interpolate(x, size=(3, 4, 5), mode="trilinear",
                                                                   align_corners=True), (1, 2, 2, 3, 4), None),
    ("interpolate_nearest_5d", lambda F, x, w: F.interpolate(x, size=(4, 2, 5), mode="nearest"), (1, 2, 3, 3, 2), None),
    ("max_pool3d", lambda F, x, w: F.max_pool3d(x, 2), (2, 3, 4, 5, 6), None),
    ("max_pool3d_ceil_pad_dilation", lambda F, x, w: F.max_pool3d(x, (3, 2, 2), (2, 1, 2), (1, 1, 0), (1, 1, 2),
                                                                  ceil_mode=True), (1, 2, 5, 6, 7), None),
    ("max_pool3d_unbatched", lambda F, x, w: F.max_pool3d(x, 3, 2, 1), (2, 5, 5, 5), None),
    ("avg_pool3d", lambda F, x, w: F.avg_pool3d(x, 2), (2, 3, 4, 5, 6), None),
    ("avg_pool3d_ceil_pad", lambda F, x, w: F.avg_pool3d(x, 3, 2, 1, ceil_mode=True), (1, 2, 6, 5, 7), None),
    ("avg_pool3d_exclude_pad", lambda F, x, w: F.avg_pool3d(x, (2, 3, 3), (1, 2, 2), (1, 1, 1),
                                                            count_include_pad=False), (1, 2, 4, 5, 6), None),
    ("avg_pool3d_divisor", lambda F, x, w: F.avg_pool3d(x, 2, divisor_override=3), (1, 2, 4, 4, 4), None),
    ("adaptive_avg_pool3d", lambda F, x, w: F.adaptive_avg_pool3d(x, (2, 3, 4)), (2, 3, 5, 7, 6), None),
    ("adaptive_avg_pool3d_none", lambda F, x, w: F.adaptive_avg_pool3d(x, (None, 1, 3)), (3, 4, 5, 7), None),
    ("adaptive_max_pool3d", lambda F, x, w: F.adaptive_max_pool3d(x, (3, 2, 4)), (2, 3, 5, 7, 6), None),
]


@pytest.mark.parametrize("name,fn,xs,ws", CASES, ids=[c[0] for c in CASES])
def test_against_pytorch(against_pytorch, name, fn, xs, ws):
    inputs = [_x(xs)] + ([_x(ws, 1)] if ws else [])
    against_pytorch(lambda lib, x, w=None: fn(lib.nn.functional, x, w), inputs, 1e-5, 1e-5, 1e-4, 1e-4)


@pytest.mark.parametrize("name,fn,xs,ws", CASES, ids=[c[0] for c in CASES])
def test_gradients_against_finite_differences(name, fn, xs, ws):
    x = torch.tensor(_x(xs, dtype=np.float64), requires_grad=True)
    if ws:
        w = torch.tensor(_x(ws, 1, np.float64), requires_grad=True)
        assert gradcheck(lambda x, w: fn(F, x, w), (x, w))
    else:
        assert gradcheck(lambda x: fn(F, x, None), (x,))


@pytest.mark.parametrize("kind", ["max", "adaptive"])
def test_max_indices_match_pytorch_with_ties(pt, kind):
    x = np.round(_x((2, 2, 5, 6, 7)) * 2) / 2  # many ties
    if kind == "max":
        a, ai = F.max_pool3d(torch.tensor(x), (2, 3, 2), (1, 2, 2), (1, 1, 0), return_indices=True)
        b, bi = pt.nn.functional.max_pool3d(pt.tensor(x), (2, 3, 2), (1, 2, 2), (1, 1, 0), return_indices=True)
    else:
        a, ai = F.adaptive_max_pool3d(torch.tensor(x), (3, 4, 2), return_indices=True)
        b, bi = pt.nn.functional.adaptive_max_pool3d(pt.tensor(x), (3, 4, 2), return_indices=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ai.numpy(), bi.numpy())
    assert ai.dtype == torch.int64


def test_modules():
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(4, 6, (3, 2, 2), stride=2, padding=1, groups=2, bias=True)
    assert conv.weight.shape == (6, 2, 3, 2, 2) and conv.bias.shape == (6,)
    bound = 1 / np.sqrt(2 * 3 * 2 * 2)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert [n for n, _ in conv.named_parameters()] == ["weight", "bias"]
    x = torch.randn(2, 4, 5, 6, 7)
    out = conv(x)
    np.testing.assert_allclose(out.detach().numpy(), F.conv3d(x, conv.weight, conv.bias, 2, 1, 1, 2).detach().numpy())
    assert "Conv3d(4, 6, kernel_size=(3, 2, 2), stride=(2, 2, 2), padding=(1, 1, 1), groups=2)" == repr(conv)
    up = torch.nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, groups=2)
    assert up.weight.shape == (4, 3, 3, 3, 3) and up(x, output_size=(10, 12, 14)).shape == (2, 6, 10, 12, 14)
    assert torch.nn.Upsample(scale_factor=2, mode="trilinear")(x).shape == (2, 4, 10, 12, 14)
    assert torch.nn.MaxPool3d(2)(x).shape == (2, 4, 2, 3, 3)
    values, idx = torch.nn.MaxPool3d(2, return_indices=True)(x)
    assert idx.shape == values.shape
    assert torch.nn.AvgPool3d(3, 1, 1)(x).shape == x.shape
    assert torch.nn.AdaptiveAvgPool3d(1)(x).shape == (2, 4, 1, 1, 1)
    assert torch.nn.AdaptiveMaxPool3d((2, None, 3))(x).shape == (2, 4, 2, 6, 3)
    np.testing.assert_allclose(torch.nn.AdaptiveAvgPool3d(1)(x).numpy().ravel(), x.numpy().mean((2, 3, 4)).ravel(),
                               rtol=1e-5)


def test_bad_arguments_name_the_op():
    x = torch.randn(1, 2, 3, 4, 5)
    with pytest.raises(RuntimeError, match="conv3d: Expected 4D \\(unbatched\\) or 5D"):
        F.conv3d(torch.randn(2, 3, 4), torch.randn(1, 2, 1, 1, 1))
    with pytest.raises(RuntimeError, match="conv3d: Expected 5D weight"):
        F.conv3d(x, torch.randn(1, 2, 1, 1))
    with pytest.raises(RuntimeError, match="to have 4 channels, but got 2 channels"):
        F.conv3d(x, torch.randn(2, 2, 1, 1, 1), groups=2)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input size"):
        F.conv3d(x, torch.randn(1, 2, 4, 1, 1))
    with pytest.raises(ValueError, match="not supported for strided convolutions"):
        F.conv3d(x, torch.randn(1, 2, 1, 1, 1), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="max_pool3d: pad should be at most half"):
        F.max_pool3d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="avg_pool3d: divisor must be not zero"):
        F.avg_pool3d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="kernel_size must be an int or a tuple of 3"):
        F.max_pool3d(x, (2, 2))
    with pytest.raises(NotImplementedError, match="padding_mode 'reflect'"):
        torch.nn.Conv3d(2, 2, 3, padding_mode="reflect")


def test_adaptive_max_pool3d_nan_positions_match_pytorch(pt):
    x = _x((1, 2, 4, 5, 3))
    x[0, 0, 1, 2, 1] = x[0, 0, 2, 3, 2] = x[0, 1, 0, 0, 0] = np.nan
    a, ai = F.adaptive_max_pool3d(torch.tensor(x), 2, return_indices=True)
    b, bi = pt.nn.functional.adaptive_max_pool3d(pt.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ai.numpy(), bi.numpy())
