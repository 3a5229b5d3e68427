"""The C kernels behind layers that used to be composed in Python or run through generic
paths (max pooling's vectorised columns, adaptive max pooling, ...): values, indices and
gradients against PyTorch (skipped without it), gradients against finite differences in
float64."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck

# (kernel, stride, padding, dilation, ceil_mode) over (2, 3, 9, 11)
MAX_POOL_GEOMETRIES = [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (1, 1), (1, 1), (1, 1), False),
    ((3, 2), (2, 3), (1, 1), (1, 1), True),
    ((3, 3), (2, 2), (1, 0), (2, 3), False),
    ((1, 2), (1, 2), (0, 1), (1, 1), True),
    ((2, 4), (3, 1), (1, 2), (2, 1), True),
]


def _tied_with_nans(shape, seed=0):
    """Small integers (many ties, so the first-maximum rule shows) and a few NaNs."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 3, shape).astype(np.float32)
    x.reshape(-1)[rng.choice(x.size, max(1, x.size // 40), replace=False)] = np.nan
    return x


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_POOL_GEOMETRIES)
def test_max_pool2d_values_and_indices_against_pytorch(pt, k, s, p, d, ceil):
    for x in (_tied_with_nans((2, 3, 9, 11)), np.random.randn(2, 3, 9, 11).astype(np.float32)):
        va, ia = F.max_pool2d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
        vb, ib = pt.nn.functional.max_pool2d(pt.tensor(x), k, s, p, d, ceil, return_indices=True)
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
        np.testing.assert_array_equal(ia.numpy(), ib.numpy())


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_POOL_GEOMETRIES)
def test_max_pool2d_gradient(k, s, p, d, ceil):
    x = torch.tensor(np.random.default_rng(2).permutation(2 * 9 * 11).reshape(1, 2, 9, 11) / 7.0,
                     requires_grad=True)  # distinct values: no ties under finite differences
    assert gradcheck(lambda x: F.max_pool2d(x, k, s, p, d, ceil), (x,))


def test_max_pool1d_against_pytorch(against_pytorch):
    x = np.random.randn(3, 4, 37).astype(np.float32)
    against_pytorch(lambda T, x: T.nn.functional.max_pool1d(x, 3, 2, 1), [x], 0, 0, 0, 0)


@pytest.mark.parametrize("shape,size", [((2, 3, 16, 16), (5, 5)), ((2, 3, 7, 5), (3, 2)), ((3, 9, 4), (9, 3)),
                                        ((2, 1, 5, 6), (7, 8)), ((2, 3, 6, 6), (1, 1))])
def test_adaptive_max_pool2d_against_pytorch(pt, shape, size):
    for x in (_tied_with_nans(shape), np.random.randn(*shape).astype(np.float32)):
        va, ia = F.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
        vb, ib = pt.nn.functional.adaptive_max_pool2d(pt.tensor(x), size, return_indices=True)
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
        np.testing.assert_array_equal(ia.numpy(), ib.numpy())
    x = np.random.randn(*shape).astype(np.float32)
    a, b = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    F.adaptive_max_pool2d(a, size).sum().backward()
    pt.nn.functional.adaptive_max_pool2d(b, size).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    assert F.adaptive_max_pool2d(a, size).grad_fn.name().startswith("AdaptiveMaxPool2DBackward")


def test_adaptive_max_pool_gradients():
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.permutation(2 * 3 * 7 * 5).reshape(2, 3, 7, 5) / 11.0, requires_grad=True)
    assert gradcheck(lambda x: F.adaptive_max_pool2d(x, (3, 4)), (x,))
    y = torch.tensor(rng.permutation(2 * 3 * 10).reshape(2, 3, 10) / 11.0, requires_grad=True)
    assert gradcheck(lambda y: F.adaptive_max_pool1d(y, 4), (y,))


def test_adaptive_max_pool2d_bad_sizes():
    with pytest.raises((ValueError, RuntimeError)):
        F.adaptive_max_pool2d(torch.randn(1, 2, 3, 3), (-1, 2))


# (kernel, dilation, padding, stride) of unfold / fold over a 7 x 8 image
WINDOWS = [((3, 3), (1, 1), (1, 1), (1, 1)), ((2, 3), (2, 1), (0, 2), (2, 3)), ((1, 1), (1, 1), (0, 0), (2, 2)),
           ((3, 2), (1, 3), (2, 1), (3, 1))]


@pytest.mark.parametrize("k,d,p,s", WINDOWS)
def test_unfold_and_fold_against_pytorch(against_pytorch, pt, k, d, p, s):
    x = np.random.randn(2, 3, 7, 8).astype(np.float32)
    against_pytorch(lambda T, x: T.nn.functional.unfold(x, k, d, p, s), [x], 1e-6, 1e-6, 1e-6, 1e-6)
    blocks = pt.nn.functional.unfold(pt.tensor(x), k, d, p, s).shape
    cols = np.random.randn(*blocks).astype(np.float32)
    against_pytorch(lambda T, c: T.nn.functional.fold(c, (7, 8), k, d, p, s), [cols], 1e-5, 1e-5, 1e-6, 1e-6)
    against_pytorch(lambda T, c: T.nn.functional.fold(c[0], (7, 8), k, d, p, s), [cols], 1e-5, 1e-5, 1e-6, 1e-6)


@pytest.mark.parametrize("k,d,p,s", WINDOWS[:2])
def test_unfold_and_fold_gradients(k, d, p, s):
    x = torch.tensor(np.random.randn(2, 2, 7, 8), requires_grad=True)
    assert gradcheck(lambda x: F.unfold(x, k, d, p, s), (x,))
    cols = F.unfold(x.detach(), k, d, p, s).detach().requires_grad_()
    assert gradcheck(lambda c: F.fold(c, (7, 8), k, d, p, s), (cols,))


def test_fold_bad_sizes_raise_runtime_error():
    with pytest.raises(RuntimeError, match="divisible"):
        F.fold(torch.ones(1, 5, 4), (3, 3), 2)
    with pytest.raises(RuntimeError, match="does not fit"):
        F.unfold(torch.ones(1, 1, 2, 2), 3)


# (input shape, weight shape, stride, padding, output_padding, groups, dilation)
CONV_TRANSPOSE = [((2, 4, 5, 6), (4, 3, 3, 3), 2, 0, 0, 1, 1), ((2, 4, 5, 6), (4, 2, 3, 2), (2, 1), 1, (1, 0), 2, 1),
                  ((1, 6, 4, 4), (6, 1, 2, 3), 3, (1, 2), 2, 3, (2, 1)),
                  ((2, 2, 4, 5), (2, 3, 3, 3), 1, 1, 1, 1, 2)]  # output_padding >= stride: the conv2d path


@pytest.mark.parametrize("xs,ws,s,p,op,g,d", CONV_TRANSPOSE)
def test_conv_transpose2d_against_pytorch(against_pytorch, xs, ws, s, p, op, g, d):
    x, w = np.random.randn(*xs).astype(np.float32), np.random.randn(*ws).astype(np.float32)
    b = np.random.randn(ws[1] * g).astype(np.float32)
    against_pytorch(lambda T, x, w, b: T.nn.functional.conv_transpose2d(x, w, b, s, p, op, g, d), [x, w, b],
                    1e-4, 1e-4, 1e-4, 1e-4)
    against_pytorch(lambda T, x, w: T.nn.functional.conv_transpose2d(x[0], w, None, s, p, op, g, d), [x, w],
                    1e-4, 1e-4, 1e-4, 1e-4)


@pytest.mark.parametrize("xs,ws,s,p,op,g,d", CONV_TRANSPOSE[1:3])
def test_conv_transpose2d_gradients(xs, ws, s, p, op, g, d):
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.standard_normal(xs), requires_grad=True)
    w = torch.tensor(rng.standard_normal(ws), requires_grad=True)
    b = torch.tensor(rng.standard_normal(ws[1] * g), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, op, g, d), (x, w, b))


def test_window_ops_bad_raw_calls():
    from pyautodiff._ffi import ffi, lib
    from pyautodiff._tensor import call

    big = 2**31 - 1
    x = torch.ones(1, 1, 1, 1)
    with pytest.raises(ValueError, match="window is NULL"):
        call(lib.pa_unfold, x._h, ffi.NULL)
    with pytest.raises(MemoryError, match="sliding blocks are too many"):
        call(lib.pa_unfold, x._h, ffi.new("int64_t[8]", [1, 1, 1, 1, big, big, 1, 1]))
    with pytest.raises(ValueError, match="must be positive"):
        call(lib.pa_unfold, x._h, ffi.new("int64_t[8]", [1, 1, 1, 1, 0, 0, 0, 1]))
    with pytest.raises(ValueError, match="output_size must be in"):
        call(lib.pa_fold, torch.ones(1, 1, 1)._h, 0, 1, ffi.new("int64_t[8]", [1, 1, 1, 1, 0, 0, 1, 1]))
    with pytest.raises(ValueError, match="number of sliding blocks"):
        call(lib.pa_fold, torch.ones(1, 1, 5)._h, 2, 2, ffi.new("int64_t[8]", [1, 1, 1, 1, 0, 0, 1, 1]))
    with pytest.raises(ValueError, match="expected a 3-d input"):
        call(lib.pa_fold, x._h, 1, 1, ffi.new("int64_t[8]", [1, 1, 1, 1, 0, 0, 1, 1]))
    with pytest.raises(MemoryError):
        call(lib.pa_adaptive_max_pool2d, x._h, 2**20, 2**20, ffi.NULL)


@pytest.mark.parametrize("shape,groups", [((4, 8, 5, 3), 8), ((4, 8, 5, 3), 2), ((6, 4), 2), ((3, 6, 7), 1)])
def test_group_norm_against_pytorch(against_pytorch, shape, groups):
    x = (np.random.randn(*shape) * 3 + 1).astype(np.float32)
    w, b = np.random.randn(shape[1]).astype(np.float32), np.random.randn(shape[1]).astype(np.float32)
    against_pytorch(lambda T, x, w, b: T.nn.functional.group_norm(x, groups, w, b, eps=1e-3), [x, w, b],
                    1e-4, 1e-5, 1e-3, 1e-4)


def test_group_norm_gradient():
    rng = np.random.default_rng(5)
    x = torch.tensor(rng.standard_normal((2, 6, 3, 2)), requires_grad=True)
    w = torch.tensor(rng.standard_normal(6), requires_grad=True)
    b = torch.tensor(rng.standard_normal(6), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.group_norm(x, 3, w, b), (x, w, b))


# depthwise convolutions (one input channel per group): (input, weight, conv2d keywords)
DEPTHWISE = [((2, 4, 7, 9), (4, 1, 3, 3), dict(groups=4, padding=1)),
             ((2, 4, 7, 9), (8, 1, 3, 2), dict(groups=4, padding=(2, 1), stride=(2, 3), dilation=(2, 1))),
             ((2, 3, 5, 6), (6, 1, 1, 3), dict(groups=3, stride=2)),
             ((1, 1, 4, 4), (2, 1, 2, 2), dict(groups=1)),
             # stride-1 rows of several vectors, dilated along them (the vector weight
             # gradient, its lane masks on both sides), and rows too long for it
             ((2, 2, 5, 37), (4, 1, 3, 3), dict(groups=2, padding=(1, 3), dilation=(1, 2))),
             ((1, 2, 3, 150), (2, 1, 1, 3), dict(groups=2, padding=(0, 1)))]


@pytest.mark.parametrize("xs,ws,kw", DEPTHWISE)
def test_depthwise_conv2d_against_pytorch(against_pytorch, xs, ws, kw):
    x, w = np.random.randn(*xs).astype(np.float32), np.random.randn(*ws).astype(np.float32)
    b = np.random.randn(ws[0]).astype(np.float32)
    against_pytorch(lambda T, x, w, b: T.nn.functional.conv2d(x, w, b, **kw), [x, w, b], 1e-5, 1e-5, 1e-4, 1e-4)
    against_pytorch(lambda T, x, w: T.nn.functional.conv2d(x, w, **kw), [x, w], 1e-5, 1e-5, 1e-4, 1e-4)


@pytest.mark.parametrize("xs,ws,kw", DEPTHWISE[:3] + [DEPTHWISE[4]])
def test_depthwise_conv2d_gradients(xs, ws, kw):
    rng = np.random.default_rng(6)
    x = torch.tensor(rng.standard_normal(xs), requires_grad=True)
    w = torch.tensor(rng.standard_normal(ws), requires_grad=True)
    b = torch.tensor(rng.standard_normal(ws[0]), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), (x, w, b))


def test_depthwise_weight_gradient_skips_padding_where_the_gradient_is_infinite():
    """The padded zeros never meet the incoming gradient: an infinite gradient at an
    output whose tap reads padding leaves that tap's weight gradient finite (the vector
    form masks those lanes; a 0 * inf there would give NaN)."""
    x = torch.ones(1, 1, 4, 20, requires_grad=True)
    w = torch.ones(1, 1, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1, groups=1)
    g = np.zeros((1, 1, 4, 20), np.float32)
    g[0, 0, 0, 0] = np.inf  # output (0, 0): taps of row 0 and column 0 read padding
    y.backward(torch.tensor(g))
    gw = w.grad.numpy()[0, 0]
    assert np.all(gw[1:, 1:] == np.inf) and np.all(gw[0, :] == 0) and np.all(gw[:, 0] == 0)


def test_depthwise_input_gradient_skips_outputs_that_do_not_exist():
    """An infinite weight multiplies only gradients of outputs that exist: where its tap
    would read past the output (the last row and column for tap (0, 0) here) the input
    gradient stays finite (the vector form blends those lanes out; 0 * inf is NaN)."""
    x = torch.ones(1, 1, 4, 20, requires_grad=True)
    w = torch.ones(1, 1, 3, 3)
    w[0, 0, 0, 0] = float("inf")
    F.conv2d(x, w, padding=1).sum().backward()
    gx = x.grad.numpy()[0, 0]
    assert np.all(gx[:-1, :-1] == np.inf)
    assert np.all(np.isfinite(gx[-1, :])) and np.all(np.isfinite(gx[:, -1])), gx


def test_depthwise_conv1d_against_pytorch(against_pytorch):
    x, w = np.random.randn(2, 6, 30).astype(np.float32), np.random.randn(6, 1, 7).astype(np.float32)
    against_pytorch(lambda T, x, w: T.nn.functional.conv1d(x, w, groups=6, padding=3), [x, w], 1e-5, 1e-5, 1e-4, 1e-4)
