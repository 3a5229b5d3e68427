"""Tensor functions and methods composed of existing ops (pyautodiff/_aliases.py): values
against NumPy and PyTorch (skipped without it), gradients against finite differences,
views sharing memory, bad calls."""
import math

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck


def t64(shape, grad=True, low=-2.0, high=2.0):
    return torch.tensor(np.random.uniform(low, high, shape), requires_grad=grad)


CASES = [
    ("narrow", lambda T, x: T.narrow(x, 1, -3, 2), (3, 5)),
    ("select", lambda T, x: T.select(x, -1, 2), (3, 4, 5)),
    ("swapaxes", lambda T, x: T.swapaxes(x, 0, 2), (2, 3, 4)),
    ("movedim", lambda T, x: T.movedim(x, (0, 1), (2, 0)), (2, 3, 4)),
    ("broadcast_to", lambda T, x: T.broadcast_to(x, (2, 3, 4)), (3, 1)),
    ("tile", lambda T, x: T.tile(x, (2, 1, 3)), (2, 3)),
    ("hstack", lambda T, x: T.hstack([x, x * 2]), (2, 3)),
    ("vstack", lambda T, x: T.vstack([x[0], x * 2]), (2, 3)),
    ("column_stack", lambda T, x: T.column_stack([x[:, 0], x]), (2, 3)),
    ("addcmul", lambda T, x: T.addcmul(x, x * 2, x + 1, value=0.5), (2, 3)),
    ("addcdiv", lambda T, x: T.addcdiv(x, x * 2, x * x + 1, value=-1.5), (2, 3)),
    ("mv", lambda T, x: T.mv(x, x[0, :3] * 2), (4, 3)),
    ("clamp_min", lambda T, x: T.clamp_min(x, 0.3), (2, 5)),
    ("logaddexp", lambda T, x: T.logaddexp(x, x.flip(0) * 3), (4, 3)),
    ("logit", lambda T, x: T.logit(x.sigmoid(), 1e-3), (2, 5)),
    ("repeat_interleave", lambda T, x: T.repeat_interleave(x, 2, 1), (2, 3)),
    ("repeat_interleave_counts", lambda T, x: x.repeat_interleave(T.tensor([1, 0, 3]), dim=0), (3, 2)),
]


@pytest.mark.parametrize("name,fn,shape", CASES, ids=[c[0] for c in CASES])
def test_gradients_against_finite_differences(name, fn, shape):
    x = t64(shape)
    if name == "clamp_min":  # away from the clamp's corner
        x = torch.tensor(np.where(np.abs(x.detach().numpy() - 0.3) < 0.05, 0.6, x.detach().numpy()),
                         requires_grad=True)
    assert gradcheck(lambda x: fn(torch, x), (x,))


@pytest.mark.parametrize("name,fn,shape", CASES, ids=[c[0] for c in CASES])
def test_against_pytorch(against_pytorch, name, fn, shape):
    against_pytorch(fn, [np.random.uniform(-2, 2, shape).astype(np.float32)], 1e-6, 1e-7, 1e-5, 1e-6)


def test_views_share_memory_and_methods_match_functions():
    x = torch.arange(12.0).reshape(3, 4)
    v = x.narrow(1, 1, 2)
    v.fill_(-1)
    assert x.numpy()[:, 1:3].tolist() == [[-1, -1]] * 3
    s = x.select(0, 2)
    s.zero_()
    assert x.numpy()[2].tolist() == [0, 0, 0, 0]
    np.testing.assert_array_equal(x.swapdims(0, 1).numpy(), x.numpy().T)
    np.testing.assert_array_equal(x.moveaxis(0, 1).numpy(), np.moveaxis(x.numpy(), 0, 1))
    assert x.nelement() == 12 and x.ndimension() == 2 and x.element_size() == 4
    assert x.itemsize == 4 and x.nbytes == 48
    assert x[1:].storage_offset() == 4 and x.storage_offset() == 0
    assert x[1:].data_ptr() - x.data_ptr() == 16
    np.testing.assert_array_equal(torch.repeat_interleave(torch.tensor([2, 0, 1])).numpy(), [0, 0, 2])


def test_nan_to_num_and_rounding_in_place():
    x = torch.tensor([np.nan, np.inf, -np.inf, 1.5, -2.5])
    np.testing.assert_array_equal(torch.nan_to_num(x).numpy(),
                                  np.nan_to_num(x.numpy(), posinf=np.finfo(np.float32).max,
                                                neginf=np.finfo(np.float32).min))
    np.testing.assert_array_equal(x.nan_to_num(1.0, 2.0, -3.0).numpy(), [1.0, 2.0, -3.0, 1.5, -2.5])
    y = torch.tensor([1.5, -2.5, 0.4])
    for name, want in (("round_", [2.0, -2.0, 0.0]), ("floor_", [1.0, -3.0, 0.0]), ("ceil_", [2.0, -2.0, 1.0]),
                       ("trunc_", [1.0, -2.0, 0.0])):
        z = y.clone()
        assert getattr(z, name)() is z
        np.testing.assert_array_equal(z.numpy(), want)
    w = torch.ones(3)
    w.addcmul_(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([2.0, 2.0, 2.0]), value=0.5)
    np.testing.assert_array_equal(w.numpy(), [2.0, 3.0, 4.0])
    w.addcdiv_(torch.tensor([4.0, 4.0, 4.0]), torch.tensor([2.0, 4.0, 8.0]))
    np.testing.assert_array_equal(w.numpy(), [4.0, 4.0, 4.5])


def test_logaddexp_infinities():
    a = torch.tensor([-math.inf, math.inf, 1.0, -math.inf])
    b = torch.tensor([-math.inf, math.inf, -math.inf, 2.0])
    np.testing.assert_array_equal(torch.logaddexp(a, b).numpy(), np.logaddexp(a.numpy(), b.numpy()))


def test_bad_calls():
    x = torch.randn(3, 4)
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(3\) exceeds dimension size \(4\)"):
        x.narrow(1, 2, 3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        torch.select(x, 2, 0)
    with pytest.raises(RuntimeError, match="repeats must have the same size as input along dim"):
        x.repeat_interleave(torch.tensor([1, 2]), dim=0)
    with pytest.raises(TypeError, match="int32 is not a pyautodiff dtype"):
        x.int()
    with pytest.raises(RuntimeError, match="movedim: Invalid source or destination dims"):
        torch.movedim(x, (0, 1), 0)
