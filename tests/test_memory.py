"""Training does not leak: the live node/tensor/byte counters return to their baseline
after every step, and resident memory stays flat after warm-up."""
import gc
import os

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
import pyautodiff.optim as optim
from pyautodiff._ffi import lib


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def counters():
    return lib.pa_live_nodes(), lib.pa_live_tensors(), lib.pa_live_storage_bytes()


def test_mlp_training_5000_steps_is_leak_free():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(16, 784)
    y = torch.randint(0, 10, (16,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(20):  # warm-up: momentum buffers, allocator cache
        step()
    gc.collect()
    base = counters()
    rss_after_warmup = None
    for i in range(5000):
        step()
        assert counters() == base, f"step {i}: live (nodes, tensors, bytes) {counters()} != {base}"
        if i == 500:
            rss_after_warmup = rss_kib()
    growth = rss_kib() - rss_after_warmup
    if "libasan" not in os.environ.get("LD_PRELOAD", ""):  # ASan's quarantine holds freed memory
        assert growth < 2048, f"resident memory grew by {growth} KiB over 4,500 steps"


def test_retained_graph_is_freed_with_its_last_tensor():
    gc.collect()
    base = counters()
    x = torch.randn(100, 100, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    assert lib.pa_live_nodes() > base[0]
    del y
    gc.collect()
    assert lib.pa_live_nodes() == base[0]
    del x
    gc.collect()
    assert counters() == base
