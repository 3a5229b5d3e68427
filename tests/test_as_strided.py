"""as_strided and empty_strided: views checked against the storage's bounds, values against
NumPy's stride tricks and PyTorch, gradients (a differentiable gather) against PyTorch and
finite differences."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck


def np_strided(a, shape, strides, offset=0):
    flat = a.ravel()
    return np.lib.stride_tricks.as_strided(flat[offset:], shape, [s * flat.itemsize for s in strides])


@pytest.mark.parametrize("shape,strides,offset", [((3, 4), (4, 1), 0), ((4, 3), (1, 4), 0), ((5, 3), (2, 1), 1),
                                                  ((2, 2), (0, 1), 3), ((10, 3), (1, 1), 0), ((0, 5), (5, 1), 12),
                                                  ((), (), 7)])
def test_views_match_numpy_stride_tricks(shape, strides, offset):
    a = np.arange(12, dtype=np.float64)
    v = torch.tensor(a).as_strided(shape, strides, offset)
    assert tuple(v.shape) == shape and v.stride() == strides and v.storage_offset() == offset
    np.testing.assert_array_equal(v.numpy(), np_strided(a, shape, strides, offset))


def test_a_view_shares_memory_and_checks_bounds():
    base = torch.zeros(6)
    base.as_strided((2,), (3,)).fill_(7)
    assert base.tolist() == [7, 0, 0, 7, 0, 0]
    window = base[2:].as_strided((2, 2), (1, 1))  # the offset defaults to the input's own (2)
    assert window.tolist() == [[0, 7], [7, 0]]
    with pytest.raises(RuntimeError, match=r"as_strided: shape \(4, 4\) with storage offset 0 reaches element 15, "
                                           r"but the storage holds 6"):
        base.as_strided((4, 4), (4, 1))
    with pytest.raises(RuntimeError, match="Negative strides are not supported"):
        base.as_strided((2,), (-1,), 3)
    with pytest.raises(RuntimeError, match="invalid storage offset -1"):
        base.as_strided((1,), (1,), -1)
    with pytest.raises(RuntimeError, match="mismatch in length of strides and shape"):
        torch.as_strided(base, (2, 2), (1,))
    with pytest.raises(RuntimeError, match="reaches element 6"):  # an offset past the end
        base.as_strided((2,), (1,), 5)
    with pytest.raises(RuntimeError, match="reaches element 9223372036854775807"):  # no overflow
        base.as_strided((3,), (2 ** 62,))


def test_sliding_windows_gradient_matches_pytorch(pt):
    x = np.random.default_rng(0).standard_normal(10).astype(np.float32)
    g = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    a, b = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    wa, wb = a.as_strided((4, 3), (2, 1), 1), b.as_strided((4, 3), (2, 1), 1)  # overlapping windows
    np.testing.assert_array_equal(wa.detach().numpy(), wb.detach().numpy())
    (wa * torch.tensor(g)).sum().backward()
    (wb * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-6)
    # a non-contiguous input: positions are mapped back to its elements
    m = np.arange(12, dtype=np.float32).reshape(3, 4)
    ma, mb = torch.tensor(m, requires_grad=True), pt.tensor(m, requires_grad=True)
    ta, tb = ma.t(), mb.t()
    ra, rb = ta.as_strided((2, 3), (1, 4)), tb.as_strided((2, 3), (1, 4))
    np.testing.assert_array_equal(ra.detach().numpy(), rb.detach().numpy())
    (ra * 3).sum().backward()
    (rb * 3).sum().backward()
    np.testing.assert_array_equal(ma.grad.numpy(), mb.grad.numpy())


def test_gradient_against_finite_differences_and_refusals():
    x = torch.tensor(np.random.default_rng(2).standard_normal(9), requires_grad=True)
    assert gradcheck(lambda x: x.as_strided((3, 4), (2, 1), 1) ** 2, (x,))  # reaches element 8
    with pytest.raises(RuntimeError, match="may only reach the input's own elements"):
        x[2:5].as_strided((3,), (1,), 0)
    e = torch.ones(3, requires_grad=True)[:1].expand(3)
    with pytest.raises(RuntimeError, match="whose elements overlap"):
        e.as_strided((2,), (1,))
    with torch.no_grad():  # without autograd, any in-bounds storage position is a view
        assert x[2:5].as_strided((3,), (1,), 0).tolist() == x.detach()[:3].tolist()


def test_empty_strided():
    e = torch.empty_strided((2, 3), (1, 2), dtype=torch.float64)
    assert tuple(e.shape) == (2, 3) and e.stride() == (1, 2) and e.dtype == torch.float64
    assert e.tolist() == [[0.0] * 3] * 2
    assert torch.empty_strided((0, 3), (3, 1)).numel() == 0
    assert torch.empty_strided((2,), (1,), requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="mismatch in length"):
        torch.empty_strided((2, 3), (1,))
