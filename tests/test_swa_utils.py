"""optim.swa_utils: AveragedModel (SWA mean and EMA), SWALR and update_bn against PyTorch
(skipped without it) and against their definitions."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
from pyautodiff.optim import swa_utils


def _train(T, make_avg, steps=6):
    T.manual_seed(0)
    rng = np.random.default_rng(0)
    model = T.nn.Sequential(T.nn.Linear(3, 4), T.nn.BatchNorm1d(4), T.nn.Linear(4, 1))
    with T.no_grad():
        for p in model.parameters():
            p.copy_(T.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    avg = make_avg(T, model)
    opt = T.optim.SGD(model.parameters(), lr=0.1)
    sched = T.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=3)
    lrs = []
    for _ in range(steps):
        x = T.tensor(rng.standard_normal((8, 3)).astype(np.float32))
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        avg.update_parameters(model)
    return avg, lrs


@pytest.mark.parametrize("kind", ["swa", "ema", "ema_buffers"])
def test_averaged_model_and_swalr_against_pytorch(pt, kind):
    def make(T, model):
        if kind == "swa":
            return T.optim.swa_utils.AveragedModel(model)
        return T.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=T.optim.swa_utils.get_ema_multi_avg_fn(0.9), use_buffers=kind == "ema_buffers")

    ours, lrs_a = _train(torch, make)
    theirs, lrs_b = _train(pt, make)
    np.testing.assert_allclose(lrs_a, lrs_b, rtol=1e-12)
    assert ours.n_averaged.item() == theirs.n_averaged.item() == 6
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for (n, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=n)


def test_swa_is_the_mean_of_the_weights_and_update_bn():
    m = nn.Linear(2, 1, dtype=torch.float64)
    avg = swa_utils.AveragedModel(m)
    seen = []
    for k in range(4):
        with torch.no_grad():
            m.weight.fill_(float(k))
        seen.append(float(k))
        avg.update_parameters(m)
    assert np.allclose(avg.module.weight.detach().numpy(), np.mean(seen))
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    net.eval()
    data = [torch.randn(5, 3) for _ in range(4)]
    swa_utils.update_bn([(x, 0) for x in data], net)
    with torch.no_grad():
        h = torch.cat([net[0](x) for x in data]).numpy()
    np.testing.assert_allclose(net[1].running_mean.numpy(), h.mean(0), rtol=1e-5, atol=1e-6)
    assert not net.training and net[1].momentum == 0.1
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        swa_utils.SWALR(torch.optim.SGD(m.parameters(), lr=0.1), 0.05, anneal_strategy="step")
