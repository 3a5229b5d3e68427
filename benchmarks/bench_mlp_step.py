"""One training step of the article's MLP (784-128-10, CrossEntropy, SGD momentum 0.9):
pyautodiff vs a hand-written NumPy step vs PyTorch (when installed), same process,
interleaved, equal thread counts."""
import argparse

import numpy as np

from benchmarks.common import machine, print_table, timeit_interleaved


def numpy_step_factory(batch, rng):
    w1 = rng.standard_normal((128, 784)).astype(np.float32) * 0.03
    b1 = np.zeros(128, np.float32)
    w2 = rng.standard_normal((10, 128)).astype(np.float32) * 0.08
    b2 = np.zeros(10, np.float32)
    params = [w1, b1, w2, b2]
    bufs = [np.zeros_like(p) for p in params]
    x = rng.random((batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        h = x @ w1.T + b1
        a = np.maximum(h, 0)
        z = a @ w2.T + b2
        m = z.max(1, keepdims=True)
        e = np.exp(z - m)
        p = e / e.sum(1, keepdims=True)
        g = p
        g[np.arange(batch), y] -= 1
        g /= batch
        gw2 = g.T @ a
        gb2 = g.sum(0)
        ga = g @ w2
        ga[h <= 0] = 0
        gw1 = ga.T @ x
        gb1 = ga.sum(0)
        for prm, buf, gr in zip(params, bufs, (gw1, gb1, gw2, gb2)):
            buf *= 0.9
            buf += gr
            prm -= 0.01 * buf

    return step


def framework_step_factory(torch, batch, rng):
    nn, optim = torch.nn, torch.optim
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.from_numpy(rng.random((batch, 784), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 10, batch).astype(np.int64))

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batches", type=int, nargs="*", default=[64, 256, 1024])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    import pyautodiff

    try:
        import torch
    except ImportError:
        torch = None
    threads = args.threads or pyautodiff.get_num_threads()
    pyautodiff.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    rows = []
    for batch in args.batches:
        rng = np.random.default_rng(0)
        fns = {"pyautodiff": framework_step_factory(pyautodiff, batch, rng),
               "numpy": numpy_step_factory(batch, rng)}
        if torch is not None:
            fns["torch"] = framework_step_factory(torch, batch, rng)
        t = timeit_interleaved(fns)
        row = [batch, f"{t['pyautodiff'] * 1e6:.0f}", f"{t['numpy'] * 1e6:.0f}",
               f"{t['numpy'] / t['pyautodiff']:.2f}x"]
        if torch is not None:
            row += [f"{t['torch'] * 1e6:.0f}", f"{t['torch'] / t['pyautodiff']:.2f}x"]
        rows.append(row)
    header = ["batch", "ours us", "numpy us", "vs numpy"] + (["torch us", "vs torch"] if torch else [])
    return print_table(f"mlp_step: 784-128-10 SGD step, {threads} threads — {machine()}", header, rows)


if __name__ == "__main__":
    main()
