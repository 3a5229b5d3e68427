"""nn.utils.weight_norm / spectral_norm (and remove_*): parameters and buffers named as in
PyTorch, forward values, power-iteration buffers and gradients against PyTorch (skipped
without it), the norms they promise."""
import warnings

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
from pyautodiff.nn.utils import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("make,dim,shape", [
    (lambda T: T.nn.Linear(4, 3), 0, (5, 4)), (lambda T: T.nn.Linear(4, 3), None, (5, 4)),
    (lambda T: T.nn.Conv2d(2, 3, 3), 0, (2, 2, 5, 5)), (lambda T: T.nn.Conv2d(2, 3, 3), 1, (2, 2, 5, 5))])
def test_weight_norm_against_pytorch(pt, sync_to_pytorch, modules_against_pytorch, make, dim, shape):
    ours, theirs = weight_norm(make(torch), dim=dim), pt.nn.utils.weight_norm(make(pt), dim=dim)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    sync_to_pytorch(ours, theirs)
    with torch.no_grad():
        ours.weight_g.mul_(1.5)
    with pt.no_grad():
        theirs.weight_g.mul_(1.5)
    x = np.random.randn(*shape).astype(np.float32)
    _, b = modules_against_pytorch(ours, theirs, x)
    remove_weight_norm(ours)
    assert [n for n, _ in ours.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_weight_norm_rows_have_norm_g_and_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        m = weight_norm(nn.Linear(5, 3, dtype=torch.float64))
        with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
            weight_norm(m)
    with torch.no_grad():
        m.weight_g.copy_(torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64))
    m(torch.zeros(1, 5, dtype=torch.float64))
    np.testing.assert_allclose(np.linalg.norm(m.weight.detach().numpy(), axis=1), [1, 2, 3], rtol=1e-12)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        remove_weight_norm(nn.Linear(2, 2))
    with pytest.warns(FutureWarning, match="deprecated"):
        weight_norm(nn.Linear(2, 2))


@pytest.mark.parametrize("make,shape", [(lambda T: T.nn.Linear(6, 4), (3, 6)),
                                        (lambda T: T.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
                                        (lambda T: T.nn.ConvTranspose2d(3, 2, 3), (2, 3, 4, 4))])
def test_spectral_norm_against_pytorch(pt, sync_to_pytorch, make, shape):
    ours = spectral_norm(make(torch), n_power_iterations=2)
    theirs = pt.nn.utils.spectral_norm(make(pt), n_power_iterations=2)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [(n, tuple(b.shape)) for n, b in ours.named_buffers()] == \
        [(n, tuple(b.shape)) for n, b in theirs.named_buffers()]
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    sync_to_pytorch(ours, theirs)
    x = np.random.randn(*shape).astype(np.float32)
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        a, b = ours(torch.tensor(x)), theirs(pt.tensor(x))
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ours.weight_u.numpy(), theirs.weight_u.numpy(), rtol=1e-5, atol=1e-6)
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), theirs.weight_orig.grad.numpy(), rtol=1e-4, atol=1e-5)
    remove_spectral_norm(ours)
    assert "weight" in dict(ours.named_parameters()) and not list(ours.named_buffers())


def test_spectral_norm_converges_to_the_largest_singular_value():
    torch.manual_seed(0)
    m = spectral_norm(nn.Linear(8, 5, dtype=torch.float64))
    for _ in range(50):
        m(torch.zeros(1, 8, dtype=torch.float64))
    assert abs(np.linalg.svd(m.weight.detach().numpy(), compute_uv=False)[0] - 1.0) < 1e-8
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        spectral_norm(nn.Linear(2, 2), n_power_iterations=0)
