"""nn.utils.parametrize and nn.utils.parametrizations: registering, chaining, assigning
through right_inverse, caching and removing parametrizations; weight_norm and
spectral_norm against PyTorch (names, values, gradients)."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
from pyautodiff.nn.utils import parametrizations, parametrize


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)

    def right_inverse(self, a):
        return a.triu()


class Scale(nn.Module):
    def forward(self, x):
        return x * 2

    def right_inverse(self, x):
        return x / 2


def test_register_chain_assign_cache_and_remove():
    m = nn.Linear(3, 3)
    parametrize.register_parametrization(m, "weight", Symmetric())
    assert type(m).__name__ == "ParametrizedLinear" and parametrize.is_parametrized(m, "weight")
    assert parametrize.type_before_parametrizations(m) is nn.Linear
    w = m.weight
    np.testing.assert_array_equal(w.detach().numpy(), w.detach().numpy().T)
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    parametrize.register_parametrization(m, "weight", Scale())
    np.testing.assert_allclose(m.weight.detach().numpy(), 2 * w.detach().numpy(), rtol=1e-6)
    target = torch.tensor([[1.0, 2.0, 3.0], [2.0, 5.0, 6.0], [3.0, 6.0, 9.0]])
    m.weight = target  # right_inverse of Scale, then of Symmetric, into the original
    np.testing.assert_allclose(m.weight.detach().numpy(), target.numpy(), rtol=1e-6)
    m(torch.ones(2, 3)).sum().backward()
    assert m.parametrizations.weight.original.grad is not None
    with parametrize.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(m, "weight", type("Cut", (nn.Module,), {
            "forward": lambda self, x: x[:2]})())
    parametrize.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and [n for n, _ in m.named_parameters()] == ["bias", "weight"]
    np.testing.assert_allclose(m.weight.detach().numpy(), target.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="does not have a parametrization"):
        parametrize.remove_parametrizations(m, "weight")


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization_against_pytorch(pt, sync_to_pytorch, modules_against_pytorch, dim):
    ours = parametrizations.weight_norm(nn.Conv2d(2, 3, 3), dim=dim)
    theirs = pt.nn.utils.parametrizations.weight_norm(pt.nn.Conv2d(2, 3, 3), dim=dim)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    sync_to_pytorch(ours, theirs)
    x = np.random.randn(2, 2, 5, 5).astype(np.float32)
    _, b = modules_against_pytorch(ours, theirs, x)
    parametrize.remove_parametrizations(ours, "weight")
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_spectral_norm_parametrization_against_pytorch(pt, sync_to_pytorch):
    ours = parametrizations.spectral_norm(nn.Linear(6, 4))
    theirs = pt.nn.utils.parametrizations.spectral_norm(pt.nn.Linear(6, 4))
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    sync_to_pytorch(ours, theirs)
    x = np.random.randn(3, 6).astype(np.float32)
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        a, b = ours(torch.tensor(x)), theirs(pt.tensor(x))
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-5)
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_allclose(ours.parametrizations.weight.original.grad.numpy(),
                               theirs.parametrizations.weight.original.grad.numpy(), rtol=1e-4, atol=1e-5)
    sv = np.linalg.svd(ours.weight.detach().numpy(), compute_uv=False)
    assert abs(sv[0] - 1) < 1e-3
