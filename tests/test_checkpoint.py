"""utils.checkpoint: values and gradients (inputs and parameters) equal to the direct
computation, recomputation in backward with the same dropout mask, checkpoint_sequential;
against PyTorch when it is installed."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
from pyautodiff.utils.checkpoint import checkpoint, checkpoint_sequential


def _model(lib, seed=0):
    lib.manual_seed(seed)
    m = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 8), lib.nn.ReLU(), lib.nn.Linear(8, 2))
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    return m


@pytest.mark.parametrize("inputs_require_grad", [True, False])
def test_checkpoint_gradients_equal_the_direct_ones(inputs_require_grad):
    x = np.random.randn(3, 4).astype(np.float32)
    grads = []
    for use_ckpt in (False, True):
        m = _model(torch)
        xt = torch.tensor(x, requires_grad=inputs_require_grad)
        y = checkpoint(m, xt, use_reentrant=False) if use_ckpt else m(xt)
        (y * y).sum().backward()
        grads.append([p.grad.numpy().copy() for p in m.parameters()] + ([xt.grad.numpy()] if inputs_require_grad else []))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_recomputation_reuses_the_dropout_mask_and_sequential():
    torch.manual_seed(3)
    drop = nn.Dropout(0.5)
    x = torch.ones(100, requires_grad=True)
    y = checkpoint(lambda t: drop(t) * 3, x, use_reentrant=False)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 6.0, 0.0))  # the same mask as the forward
    m = _model(torch)
    x = torch.tensor(np.random.randn(2, 4).astype(np.float32), requires_grad=True)
    a = checkpoint_sequential(m, 2, x, use_reentrant=False)
    np.testing.assert_allclose(a.detach().numpy(), m(x).detach().numpy(), rtol=1e-6)
    a.sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in m.parameters())
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        checkpoint(lambda t: t * 2, x)


def test_against_pytorch(pt):
    from torch.utils.checkpoint import checkpoint as pt_checkpoint

    x = np.random.randn(3, 4).astype(np.float32)
    ma, mb = _model(torch), _model(pt)
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    ya, yb = checkpoint(ma, xa, use_reentrant=False), pt_checkpoint(mb, xb, use_reentrant=False)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), rtol=1e-5, atol=1e-6)
    ya.pow(2).sum().backward()
    yb.pow(2).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-4, atol=1e-5)
    for p, q in zip(ma.parameters(), mb.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)
