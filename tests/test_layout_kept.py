"""Elementwise ops keep their input's memory layout, as PyTorch's do: a unary op of a
transposed or permuted view, and a binary op whose operands lie the same way (or whose
other operand is a single element), give a result laid out like the input, computed in
one pass over memory; the values are those of the contiguous computation, bit for bit."""
import numpy as np
import pytest

import pyautodiff as torch

CASES = [
    ("t().exp", lambda T, x, y: x.t().exp()),
    ("t().relu", lambda T, x, y: x.t().relu()),
    ("t().abs", lambda T, x, y: x.t().abs()),
    ("permute.tanh", lambda T, x, y: y.permute(2, 0, 1).tanh()),
    ("permute.sigmoid", lambda T, x, y: y.permute(1, 2, 0).sigmoid()),
    ("t + 1", lambda T, x, y: x.t() + 1),
    ("2 * t", lambda T, x, y: 2 * x.t()),
    ("t * t", lambda T, x, y: x.t() * x.t()),
    ("permute - permute", lambda T, x, y: y.permute(2, 0, 1) - y.permute(2, 0, 1)),
    ("t > 0", lambda T, x, y: x.t() > 0),
    ("t + contiguous", lambda T, x, y: x.t() + x.t().contiguous()),  # mixed: contiguous
    ("contiguous", lambda T, x, y: x.exp()),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_elementwise_results_keep_pytorchs_layout_and_the_values(pt, name, fn):
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((40, 70)).astype(np.float32)
    yv = rng.standard_normal((6, 50, 33)).astype(np.float32)
    ours = fn(torch, torch.from_numpy(xv), torch.from_numpy(yv))
    theirs = fn(pt, pt.from_numpy(xv), pt.from_numpy(yv))
    assert ours.stride() == theirs.stride(), name
    assert ours.is_contiguous() == theirs.is_contiguous()
    np.testing.assert_array_equal(ours.numpy(), fn(torch, torch.from_numpy(xv).contiguous(),
                                                   torch.from_numpy(yv).contiguous()).contiguous().numpy())
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=2e-6)


def test_a_kept_layout_refuses_view_as_pytorch_and_flows_gradients(pt):
    x = torch.arange(6.0).reshape(2, 3).requires_grad_()
    z = x.t().exp()
    with pytest.raises(RuntimeError, match="view"):
        z.view(-1)
    assert z.reshape(-1).shape == (6,)
    (z * torch.arange(6.0).reshape(3, 2)).sum().backward()
    xt = pt.arange(6.0).reshape(2, 3).requires_grad_()
    (xt.t().exp() * pt.arange(6.0).reshape(3, 2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6)
    w = x.detach().t().exp()
    w.add_(1).mul_(2)  # in place on a kept layout
    np.testing.assert_allclose(w.numpy(), (np.exp(np.arange(6.0).reshape(2, 3).T) + 1) * 2, rtol=1e-6)


@pytest.mark.parametrize("name,fn", [
    ("contiguous + t", lambda T, x: x.t().contiguous() + x.t()),
    ("sliced t exp", lambda T, x: x[:, ::2].t().exp()),
    ("sliced t + 1", lambda T, x: x[::3, 1:].t() + 1),
    ("broadcast row + t", lambda T, x: x.t() + x.t()[:1]),
    ("row + t", lambda T, x: x.t()[:1] + x.t()),
    ("expanded", lambda T, x: x[:1].expand(40, 70).exp()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_more_layouts_follow_pytorch(pt, name, fn):
    xv = np.random.default_rng(4).standard_normal((40, 70)).astype(np.float32)
    ours, theirs = fn(torch, torch.from_numpy(xv)), fn(pt, pt.from_numpy(xv))
    assert ours.stride() == theirs.stride(), name
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-6)
