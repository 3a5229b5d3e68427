"""torch.distributions subset: log_prob, entropy, moments, cdf/icdf and KL against PyTorch
(skipped without it), sampling shapes and statistics, reparameterised gradients, errors."""
import math

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck

D = torch.distributions


def _np(t):
    return t.detach().numpy()


def _pairs(T):
    """Each distribution with parameters of a batch of 3 and a value to score."""
    d = T.distributions
    loc, scale = T.tensor([0.5, -1.0, 2.0]), T.tensor([1.0, 0.5, 3.0])
    probs = T.tensor([0.2, 0.7, 0.99])
    cat = T.tensor([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25], [0.0, 0.5, 0.5]])
    return [
        (d.Normal(loc, scale), T.tensor([0.0, -1.5, 10.0])),
        (d.Normal(0.0, 2.0), T.tensor([0.3, -0.4])),
        (d.Bernoulli(probs=probs), T.tensor([1.0, 0.0, 1.0])),
        (d.Bernoulli(logits=T.tensor([-2.0, 0.0, 3.0])), T.tensor([0.0, 1.0, 1.0])),
        (d.Categorical(probs=cat), T.tensor([2, 0, 1])),
        (d.Categorical(logits=T.log(cat + 0.1)), T.tensor([1, 1, 2])),
        (d.Uniform(T.tensor([0.0, -1.0, 2.0]), T.tensor([1.0, 1.0, 5.0])), T.tensor([0.5, 0.5, 2.0])),
    ]


def test_against_pytorch(pt):
    for (a, va), (b, vb) in zip(_pairs(torch), _pairs(pt)):
        name = type(a).__name__
        assert tuple(a.batch_shape) == tuple(b.batch_shape) and tuple(a.event_shape) == tuple(b.event_shape)
        np.testing.assert_allclose(_np(a.log_prob(va)), _np(b.log_prob(vb)), rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(_np(a.entropy()), _np(b.entropy()), rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(_np(a.mean), _np(b.mean), rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(_np(a.variance), _np(b.variance), rtol=1e-6, err_msg=name)
        np.testing.assert_allclose(_np(a.stddev), _np(b.stddev), rtol=1e-6, err_msg=name)
        if name in ("Normal", "Uniform"):
            np.testing.assert_allclose(_np(a.cdf(va)), _np(b.cdf(vb)), rtol=1e-5, atol=1e-6, err_msg=name)
    n1, n2 = _pairs(torch)[0][0], torch.distributions.Normal(torch.tensor([0.0, 0.0, 1.0]), torch.tensor(2.0))
    m1, m2 = _pairs(pt)[0][0], pt.distributions.Normal(pt.tensor([0.0, 0.0, 1.0]), pt.tensor(2.0))
    np.testing.assert_allclose(_np(D.kl_divergence(n1, n2)), _np(pt.distributions.kl_divergence(m1, m2)), rtol=1e-5)
    np.testing.assert_allclose(_np(n1.icdf(torch.tensor([0.1, 0.5, 0.9]))),
                               _np(m1.icdf(pt.tensor([0.1, 0.5, 0.9]))), rtol=1e-5, atol=1e-6)
    ours, theirs = _pairs(torch), _pairs(pt)
    for i, j in ((2, 3), (4, 5), (6, 6)):
        np.testing.assert_allclose(_np(D.kl_divergence(ours[i][0], ours[j][0])),
                                   _np(pt.distributions.kl_divergence(theirs[i][0], theirs[j][0])), rtol=1e-5,
                                   atol=1e-6)


def test_sampling_shapes_and_statistics():
    torch.manual_seed(0)
    n = D.Normal(torch.tensor([1.0, -2.0]), torch.tensor([0.5, 2.0]))
    s = n.sample((20000,))
    assert tuple(s.shape) == (20000, 2) and not s.requires_grad
    np.testing.assert_allclose(_np(s.mean(0)), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(_np(s.std(0)), [0.5, 2.0], rtol=0.03)
    c = D.Categorical(probs=torch.tensor([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0]]))
    draws = c.sample((5000,))
    assert tuple(draws.shape) == (5000, 2) and draws.dtype == torch.int64
    assert abs((draws[:, 0] == 1).float().mean().item() - 0.8) < 0.03 and set(draws[:, 1].tolist()) == {0}
    b = D.Bernoulli(probs=torch.tensor([0.3]))
    assert abs(b.sample((10000,)).mean().item() - 0.3) < 0.02
    u = D.Uniform(2.0, 5.0).sample((1000,))
    assert u.min().item() >= 2.0 and u.max().item() < 5.0
    assert tuple(c.enumerate_support().shape) == (3, 2)


def test_reparameterised_gradients_and_log_prob_gradcheck():
    loc = torch.tensor([0.5, -1.0], requires_grad=True)
    scale = torch.tensor([1.0, 2.0], requires_grad=True)
    torch.manual_seed(1)
    x = D.Normal(loc, scale).rsample((4000,))
    x.mean().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [0.5, 0.5], rtol=1e-6)  # d mean(loc + eps scale) / d loc
    l64 = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    s64 = torch.tensor([0.7, 1.3], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([0.1, 0.4], dtype=torch.float64)
    assert gradcheck(lambda m, s: D.Normal(m, s).log_prob(v), (l64, s64))
    assert gradcheck(lambda m, s: D.kl_divergence(D.Normal(m, s), D.Normal(0.0, 1.0)), (l64, s64))
    lg = torch.tensor([[0.2, -0.5, 1.0]], dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda z: D.Categorical(logits=z).log_prob(torch.tensor([2])) + D.Categorical(logits=z).entropy(),
                     (lg,))


def test_errors():
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        D.Bernoulli()
    with pytest.raises(ValueError, match="GreaterThan"):
        D.Normal(0.0, -1.0)
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Uniform(0.0, 1.0))
    with pytest.raises(NotImplementedError, match="rsample"):
        D.Categorical(logits=torch.zeros(3)).rsample()
    assert math.isnan(D.Categorical(logits=torch.zeros(3)).mean.item())
    with pytest.raises(ValueError, match="to be within the support"):
        D.Uniform(0.0, 1.0).log_prob(torch.tensor([1.5]))
    with pytest.raises(ValueError, match="to be within the support"):
        D.Categorical(logits=torch.zeros(3)).log_prob(torch.tensor([3]))
    assert D.Uniform(0.0, 1.0, validate_args=False).log_prob(torch.tensor([1.5])).item() == -math.inf
