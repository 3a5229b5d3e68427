"""Bit-identical results for any thread count, per-thread state, concurrent use."""
import threading

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
import pyautodiff.optim as optim


@pytest.fixture
def restore_threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.view(-1, 784))))


def train_mlp(threads, steps=100, batch=256):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = MLP()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = torch.rand(batch, 784)
    y = torch.randint(0, 10, (batch,))
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_training_is_bit_identical_for_1_and_2_threads(restore_threads):
    one, two = train_mlp(1), train_mlp(2)
    for k in one:
        assert np.array_equal(one[k], two[k]), k


def test_big_ops_are_bit_identical_across_threads(restore_threads):
    torch.manual_seed(3)
    x = torch.randn(1_000_003)
    m = torch.randn(300, 500)
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results.append([x.sum().numpy(), (x * 1.5 + 2).exp().numpy(), m.sum(0).numpy(), m.mean(1).numpy(),
                        (m @ m.t()).numpy(), torch.softmax(m, 1).numpy()])
    for a, b in zip(*results):
        assert np.array_equal(a, b)


def test_errors_are_per_thread():
    barrier = threading.Barrier(2)
    messages = {}

    def fail(name, shape):
        barrier.wait()
        for _ in range(200):
            try:
                torch.ones(*shape) + torch.ones(7)
            except ValueError as e:
                messages.setdefault(name, set()).add(str(e))

    threads = [threading.Thread(target=fail, args=("a", (2, 3))), threading.Thread(target=fail, args=("b", (5,)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert messages["a"] == {"add: shapes (2, 3) and (7,) cannot be broadcast together (dim 1: 3 vs 7)"}
    assert messages["b"] == {"add: shapes (5,) and (7,) cannot be broadcast together (dim 0: 5 vs 7)"}


def test_concurrent_inference_and_training_match_sequential():
    torch.manual_seed(0)
    models = [nn.Sequential(nn.Linear(32, 64), nn.Tanh(), nn.Linear(64, 4)) for _ in range(4)]
    data = [torch.randn(128, 32) for _ in range(4)]
    targets = [torch.randint(0, 4, (128,)) for _ in range(4)]
    snapshots = [{k: v.clone() for k, v in m.state_dict().items()} for m in models]

    def work(i, results):
        m = models[i]
        opt = optim.SGD(m.parameters(), lr=0.1)
        for _ in range(20):
            opt.zero_grad()
            F.cross_entropy(m(data[i]), targets[i]).backward()
            opt.step()
        with torch.no_grad():
            results[i] = m(data[i]).numpy().copy()

    concurrent = [None] * 4
    threads = [threading.Thread(target=work, args=(i, concurrent)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for m, snap in zip(models, snapshots):
        m.load_state_dict(snap)
    sequential = [None] * 4
    for i in range(4):
        work(i, sequential)
    for a, b in zip(concurrent, sequential):
        assert np.array_equal(a, b)


def train_cnn(threads, steps=100):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                          nn.Dropout(0.2), nn.Linear(64, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(64, 1, 16, 16)
    y = torch.randint(0, 10, (64,))
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_cnn_training_is_bit_identical_for_1_and_2_threads(restore_threads):
    one, two = train_cnn(1), train_cnn(2)
    for k in one:
        assert np.array_equal(one[k], two[k]), k


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.01, momentum=0.9, weight_decay=1e-3)),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=1e-3, weight_decay=1e-2)),
    ("AdamW", dict(lr=1e-3)),
    ("RMSprop", dict(lr=1e-3, momentum=0.5)),
    ("Adagrad", dict(lr=1e-2)),
])
def test_optimizer_updates_are_bit_identical_across_threads(restore_threads, name, kwargs):
    # Sizes whose per-thread chunks end in different vector remainders: every element
    # must be updated by the same operations wherever it falls (a multiply-add the
    # compiler contracted in the vector body but not in the remainder broke this).
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        params = [nn.Parameter(torch.randn(n)) for n in (40_018, 65_557, 131_101)]
        opt = getattr(optim, name)(params, **kwargs)
        for _ in range(4):
            for p in params:
                p.grad = torch.randn(p.shape)
            opt.step()
        results.append([p.detach().numpy().copy() for p in params])
    for a, b in zip(*results):
        assert np.array_equal(a, b)
