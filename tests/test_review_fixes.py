"""Regressions found by reviewing the in-place, indexing and compatibility-function work:
each test failed before its fix."""
import gc

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import lib


def live():
    gc.collect()
    return lib.pa_live_tensors(), lib.pa_live_nodes()


def test_inplace_ops_built_on_numpy_nodes_leave_no_cycle():
    before = live()
    for _ in range(3):
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a = w * 1
        a.index_add_(0, torch.tensor([0]), torch.tensor([5.0]))
        a.scatter_(0, torch.tensor([1]), 0.5)
        a.scatter_add_(0, torch.tensor([2]), w[:1] * 1)
        x = w * 1
        x.mul_(x.prod())
        h = w * 1
        h[torch.tensor([0, 0])] = w[1:] * 2
        (a.sum() + x.sum() + h.sum()).backward()
        del w, a, x, h
    assert live() == before


def test_gradients_use_the_values_the_forward_saw():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    p = y.prod()
    y.mul_(2)
    p.backward()
    assert x.grad.tolist() == [6.0, 3.0, 2.0]
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    e = torch.einsum("ij,jk->ik", w, torch.ones(2, 2))
    with torch.no_grad():
        w.mul_(10)
    e.sum().backward()
    assert w.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]


@pytest.mark.parametrize("eq,shapes", [("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ii,i->", [(3, 3), (3,)]),
                                       ("iij->j", [(3, 3, 2)]), ("bii->b", [(2, 3, 3)])])
def test_einsum_gradient_with_a_repeated_label(eq, shapes):
    rng = np.random.default_rng(0)
    xs = [torch.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(lambda *ts: torch.einsum(eq, *ts), xs, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_norm_below_one_has_a_zero_gradient_at_zero_elements():
    x = torch.tensor([1.0, 0.0, -2.0], requires_grad=True)
    x.norm(p=0.5).backward()
    assert x.grad[1].item() == 0.0 and np.isfinite(x.grad.numpy()).all()
    y = torch.tensor([[1.0, 2.0]], requires_grad=True)
    torch.cdist(y, torch.tensor([[1.0, 3.0]]), p=0.5).sum().backward()
    assert y.grad.tolist() == [[0.0, -1.0]]


def test_pow_in_place_with_a_cast_keeps_its_saved_values():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.pow_(torch.tensor([2.0, 3.0], dtype=torch.float64))
    y.sum().backward()
    assert y.dtype == torch.float32 and x.grad.tolist() == [2.0, 12.0]


def test_a_hook_registered_before_an_in_place_op_can_be_removed():
    calls = []
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    handle = y.register_hook(lambda g: calls.append(g))
    y.mul_(3)
    handle.remove()
    y.sum().backward()
    assert calls == [] and x.grad.tolist() == [3.0, 3.0]


def test_recorded_setitem_gives_every_duplicate_its_gradient_and_joins_the_graph():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    v = torch.tensor([5.0, 6.0, 7.0], requires_grad=True)
    h = x * 1
    h[torch.tensor([0, 0, 1])] = v
    (h * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert h.tolist() == [6.0, 7.0, 3.0, 4.0]
    assert x.grad.tolist() == [0.0, 0.0, 3.0, 4.0] and v.grad.tolist() == [1.0, 1.0, 2.0]
    t = torch.tensor([1.0, 2.0])
    t[1:1] = torch.tensor([9.0], requires_grad=True)  # nothing written, but recorded
    assert t.requires_grad


def test_copy_fill_and_zero_are_recorded_as_pytorch_records_them():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
    a = torch.zeros(3)
    a.copy_(w * 2)  # a joins the graph
    b = x * 1
    b.copy_(w)  # b's old values get no gradient
    c = x * 3
    c.zero_()
    d = x * 1
    d.fill_(2.0)
    (a + 2 * b + c + 5 * d).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and w.grad.tolist() == [4.0, 4.0, 4.0]
    assert d.tolist() == [2.0, 2.0, 2.0] and c.requires_grad


def test_fill_and_zero_work_on_an_expanded_tensor():
    z = torch.zeros(1).expand(3)
    z.fill_(2.0)
    assert z.tolist() == [2.0, 2.0, 2.0]
    z.zero_()
    assert z.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("op", ["pow", "maximum", "minimum"])
def test_mixed_dtype_binary_gradients(op, pt):
    results = []
    for lib_ in (torch, pt):
        x = lib_.tensor([1.0, 2.0, 0.5], requires_grad=True)
        e = lib_.tensor([2.0, 1.0, 0.5], dtype=lib_.float64, requires_grad=True)
        z = getattr(lib_, op)(x * 1, e)
        (z * lib_.tensor([1.0, 2.0, 3.0], dtype=lib_.float64)).sum().backward()
        results.append((x.grad.numpy(), e.grad.numpy()))
    for ours, theirs in zip(*results):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_mixed_dtype_pow_gradient_matches_finite_differences():
    x = torch.tensor([1.5, 2.0, 0.5], requires_grad=True)  # float32 base
    e = torch.tensor([2.0, 1.5, 0.5], dtype=torch.float64, requires_grad=True)
    y = x.pow(e)
    y.sum().backward()
    xv, ev = x.detach().numpy().astype(np.float64), e.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), ev * xv ** (ev - 1), rtol=1e-6)
    np.testing.assert_allclose(e.grad.numpy(), xv ** ev * np.log(xv), rtol=1e-12)


def test_amax_and_max_over_all_share_the_gradient_among_ties():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x = torch.tensor(a, requires_grad=True)
    (x.amax(1).sum() + x.max() + x.amin(0).sum() + x.max(1)[0].sum()).backward()
    want = np.array([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])  # amax(1)
    want += [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]  # max(): shared by the two 3s
    want += [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]  # amin(0): no ties
    want += [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]  # max(dim): to the index only
    np.testing.assert_array_equal(x.grad.numpy(), want)
    n = torch.tensor([[1.0, float("nan"), float("nan")], [2.0, 2.0, 0.0]], requires_grad=True)
    n.max().backward()  # over all elements, the NaNs share
    np.testing.assert_array_equal(n.grad.numpy(), [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])
    m = torch.tensor([[1.0, float("nan")], [2.0, 2.0]], requires_grad=True)
    m.amax(1).sum().backward()  # a NaN row of amax: NaN throughout, as PyTorch
    assert np.isnan(m.grad.numpy()[0]).all() and m.grad.numpy()[1].tolist() == [0.5, 0.5]


def test_tie_gradients_match_pytorch(pt):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    grads = []
    for lib_ in (torch, pt):
        x = lib_.tensor(a, requires_grad=True)
        (x.amax(1).sum() + x.max() * 2 + x.min() + lib_.amin(x, 0, keepdim=True).sum() + x.norm(float("inf"))).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)
