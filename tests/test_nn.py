"""Modules, losses and the SGD optimizer."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def test_linear_init_and_shapes_match_pytorch_conventions():
    lin = nn.Linear(784, 128)
    assert lin.weight.shape == (128, 784) and lin.bias.shape == (128,)
    bound = 1 / math.sqrt(784)
    w = lin.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(lin.bias.detach().numpy()).max() <= bound



def test_linear_forward_uses_weight_and_bias_wherever_they_live():
    # A plain Linear reads its parameter registry directly; a subclass that defines weight
    # as a property, a weight-normed layer and a reassigned parameter must be honoured.
    x = torch.randn(3, 4)
    lin = nn.Linear(4, 2)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    np.testing.assert_allclose(lin(x).detach().numpy(), x.numpy() @ w.T + b, rtol=1e-6)

    class Doubled(nn.Linear):
        @property
        def weight(self):
            return self._parameters["weight"] * 2

    d = Doubled(4, 2)
    d.load_state_dict(lin.state_dict())
    np.testing.assert_allclose(d(x).detach().numpy(), x.numpy() @ (2 * w).T + b, rtol=1e-6)

    lin.weight = nn.Parameter(torch.ones(2, 4))
    lin.bias = None
    np.testing.assert_allclose(lin(x).detach().numpy(), x.numpy() @ np.ones((4, 2)), rtol=1e-6)

    normed = nn.utils.weight_norm(nn.Linear(4, 2))
    with torch.no_grad():
        normed.weight_g.mul_(3)
    v, g = normed.weight_v.detach().numpy(), normed.weight_g.detach().numpy()
    expect = x.numpy() @ (g * v / np.linalg.norm(v, axis=1, keepdims=True)).T + normed.bias.detach().numpy()
    np.testing.assert_allclose(normed(x).detach().numpy(), expect, rtol=1e-5)

def test_module_registration_and_state_dict_roundtrip():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    sd = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    other = Net()
    other.load_state_dict({k: torch.tensor(v) for k, v in sd.items()})
    x = torch.randn(4, 6)
    np.testing.assert_array_equal(net(x).detach().numpy(), other(x).detach().numpy())
    with pytest.raises(RuntimeError, match="Missing key"):
        other.load_state_dict({"fc1.weight": torch.zeros(5, 6)})
    with pytest.raises(RuntimeError, match="size mismatch for fc1.bias"):
        other.load_state_dict({**{k: torch.tensor(v) for k, v in sd.items()}, "fc1.bias": torch.zeros(4)})


def test_train_eval_and_to_double():
    net = Net()
    net.eval()
    assert not net.training and not net.fc1.training
    net.train()
    p0 = net.fc1.weight
    net.double()
    assert net.fc1.weight is p0 and p0.dtype == torch.float64 and p0.requires_grad
    assert net(torch.randn(2, 6, dtype=torch.float64)).dtype == torch.float64


def test_cross_entropy_options_match_reference():
    x = np.random.randn(5, 4)
    t = np.array([0, 3, 1, -100, 2])
    w = np.array([1.0, 2.0, 0.5, 1.5])
    logits = torch.tensor(x, requires_grad=True)
    loss = nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=-100, label_smoothing=0.1)(
        logits, torch.tensor(t))
    lp = x - x.max(1, keepdims=True) - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True))
    keep = t != -100
    nll = -(w[t[keep]] * lp[keep, t[keep]])
    smooth = -(lp[keep] * w).sum(1)
    want = (0.9 * nll.sum() + 0.1 / 4 * smooth.sum()) / w[t[keep]].sum()
    assert abs(loss.item() - want) < 1e-12
    for red in ("sum", "none"):
        out = nn.CrossEntropyLoss(reduction=red)(torch.tensor(x), torch.tensor(np.array([0, 3, 1, 1, 2])))
        ref = -lp[np.arange(5), [0, 3, 1, 1, 2]]
        np.testing.assert_allclose(out.numpy(), ref.sum() if red == "sum" else ref, rtol=1e-12)


def test_cross_entropy_gradient_with_options():
    from pyautodiff.autograd import gradcheck

    t = torch.tensor([0, 3, 1, -100, 2])
    w = torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=torch.float64)
    x = torch.tensor(np.random.randn(5, 4), requires_grad=True)
    assert gradcheck(lambda x: nn.functional.cross_entropy(x, t, weight=w, label_smoothing=0.2), [x])
    x3 = torch.tensor(np.random.randn(2, 3, 4), requires_grad=True)
    t3 = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])
    assert gradcheck(lambda x: nn.functional.cross_entropy(x, t3, reduction="sum"), [x3])


CE_TARGET = np.array([0, 3, 1, 1, 2])
CE_WEIGHT = np.array([1.0, 2.0, 0.5, 1.5])
# name, input shape, target, keyword arguments of cross_entropy
CE_CASES = [
    ("none", (5, 4), CE_TARGET, dict(reduction="none")),
    ("sum_2d", (5, 4), CE_TARGET, dict(reduction="sum")),
    ("mean_default", (5, 4), CE_TARGET, {}),
    ("ignore_index_mean", (5, 4), CE_TARGET, dict(ignore_index=1)),
    ("ignore_index_sum_weight", (5, 4), CE_TARGET, dict(ignore_index=3, reduction="sum", weight=CE_WEIGHT)),
    ("ignore_index_none", (5, 4), CE_TARGET, dict(ignore_index=1, reduction="none")),
    ("ignore_index_smoothing", (5, 4), CE_TARGET, dict(ignore_index=2, label_smoothing=0.3)),
    ("smoothing_mean", (5, 4), CE_TARGET, dict(label_smoothing=0.2)),
    ("smoothing_sum", (5, 4), CE_TARGET, dict(label_smoothing=0.2, reduction="sum")),
    ("smoothing_none", (5, 4), CE_TARGET, dict(label_smoothing=0.4, reduction="none")),
    ("weight_smoothing_none", (5, 4), np.array([0, 3, 1, -100, 2]),
     dict(label_smoothing=0.1, reduction="none", weight=CE_WEIGHT)),
    ("input_1d", (4,), np.array(2), {}),
    ("input_1d_sum_smoothing", (4,), np.array(3), dict(reduction="sum", label_smoothing=0.25)),
    ("input_1d_none_weight", (4,), np.array(1), dict(reduction="none", weight=CE_WEIGHT)),
    ("input_4d", (2, 3, 2, 3), np.array([[[0, 2, 1], [1, 1, 0]], [[2, -100, 0], [0, 1, 2]]]), {}),
    ("input_4d_none", (2, 3, 2, 2), np.array([[[0, 2], [1, 1]], [[2, 0], [0, 1]]]), dict(reduction="none")),
    ("input_4d_weight_smoothing_sum", (2, 3, 2, 2), np.array([[[0, 2], [1, -100]], [[2, 0], [0, 1]]]),
     dict(reduction="sum", weight=CE_WEIGHT[:3], label_smoothing=0.15)),
]


def _ce_call(lib, x, target, kwargs):
    kwargs = dict(kwargs)
    if "weight" in kwargs:
        kwargs["weight"] = lib.tensor(kwargs["weight"])
    return lib.nn.functional.cross_entropy(x, lib.tensor(target), **kwargs)


@pytest.mark.parametrize("name,shape,target,kwargs", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy_modes_gradcheck(name, shape, target, kwargs):
    from pyautodiff.autograd import gradcheck

    x = torch.tensor(np.random.randn(*shape), requires_grad=True)
    assert gradcheck(lambda x: _ce_call(torch, x, target, kwargs), [x], eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("name,shape,target,kwargs", CE_CASES, ids=[c[0] for c in CE_CASES])
def test_cross_entropy_modes_match_pytorch(name, shape, target, kwargs, pt):
    x0 = np.random.randn(*shape)
    x, rx = torch.tensor(x0, requires_grad=True), pt.tensor(x0, requires_grad=True)
    ours, ref = _ce_call(torch, x, target, kwargs), _ce_call(pt, rx, target, kwargs)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-14)
    seed = np.random.uniform(-1, 1, tuple(ref.shape))
    ours.backward(torch.tensor(seed))
    ref.backward(pt.tensor(seed))
    np.testing.assert_allclose(x.grad.numpy(), rx.grad.numpy(), rtol=1e-10, atol=1e-13)


def sgd_reference(p, grads, lr, momentum, dampening, wd, nesterov):
    buf = None
    for g in grads:
        g = g + wd * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


@pytest.mark.parametrize("momentum,dampening,wd,nesterov", [
    (0, 0, 0, False), (0.9, 0, 0, False), (0.9, 0.1, 1e-2, False), (0.9, 0, 1e-2, True)])
def test_sgd_matches_the_pytorch_algorithm(momentum, dampening, wd, nesterov):
    p0 = np.random.randn(7)
    grads = [np.random.randn(7) for _ in range(4)]
    p = nn.Parameter(torch.tensor(p0))
    opt = optim.SGD([p], lr=0.1, momentum=momentum, dampening=dampening, weight_decay=wd, nesterov=nesterov)
    for g in grads:
        opt.zero_grad()
        p.grad = torch.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), sgd_reference(p0, grads, 0.1, momentum, dampening, wd, nesterov),
                               rtol=1e-13, atol=1e-13)


def test_training_reduces_the_loss():
    torch.manual_seed(1)
    x = torch.randn(64, 6)
    y = (x.sum(1) > 0).long()
    net = Net()
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_mse_l1_sequential():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    x = torch.randn(5, 3)
    y = torch.randn(5, 1)
    out = model(x)
    d = out.detach().numpy() - y.numpy()
    assert abs(nn.MSELoss()(out, y).item() - (d ** 2).mean()) < 1e-6
    assert abs(nn.L1Loss(reduction="sum")(out, y).item() - np.abs(d).sum()) < 1e-5
    assert len(list(model.parameters())) == 4
