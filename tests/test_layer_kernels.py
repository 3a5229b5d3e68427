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
