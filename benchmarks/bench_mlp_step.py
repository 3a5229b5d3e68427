"""One training step of the article's MLP (784-128-10, CrossEntropy, SGD momentum 0.9):
pyautodiff vs a hand-written NumPy step vs PyTorch and JAX (each when installed), same
process, interleaved, equal thread counts."""
import argparse
import os
import sys

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


def jax_step_factory(jax, batch, rng):
    """The same step as one jitted JAX function: forward, jax.grad of the mean
    cross-entropy, and the SGD momentum update (PyTorch's formula)."""
    import jax.numpy as jnp

    w1 = rng.standard_normal((128, 784)).astype(np.float32) * 0.03
    w2 = rng.standard_normal((10, 128)).astype(np.float32) * 0.08
    params = tuple(jnp.asarray(a) for a in (w1, np.zeros(128, np.float32), w2, np.zeros(10, np.float32)))
    bufs = tuple(jnp.zeros_like(p) for p in params)
    x = jnp.asarray(rng.random((batch, 784), dtype=np.float32))
    y = jnp.asarray(rng.integers(0, 10, batch))

    def loss_fn(params, x, y):
        w1, b1, w2, b2 = params
        z = jnp.maximum(x @ w1.T + b1, 0) @ w2.T + b2
        return -jnp.mean(jax.nn.log_softmax(z)[jnp.arange(batch), y])

    @jax.jit
    def update(params, bufs, x, y):
        grads = jax.grad(loss_fn)(params, x, y)
        bufs = tuple(0.9 * b + g for b, g in zip(bufs, grads))
        return tuple(p - 0.01 * b for p, b in zip(params, bufs)), bufs

    state = [params, bufs]

    def step():
        state[0], state[1] = update(state[0], state[1], x, y)
        state[0][0].block_until_ready()

    return step


def import_jax(threads):
    """JAX, or None with the reason: it is not installed, or it cannot be held to
    `threads` (XLA's CPU pool takes every core, or one with the flags set before import)."""
    cores = os.cpu_count() or 1
    if threads not in (1, cores):
        return None, f"JAX skipped: XLA cannot be held to {threads} of {cores} cores"
    if threads == 1:
        if "jax" in sys.modules:
            return None, "JAX skipped: imported before its single-thread flags could be set"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    try:
        import jax
    except ImportError:
        return None, "JAX not installed"
    return jax, f"JAX {jax.__version__}"


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
    jax, jax_note = import_jax(threads)
    rows = []
    for batch in args.batches:
        rng = np.random.default_rng(0)
        fns = {"pyautodiff": framework_step_factory(pyautodiff, batch, rng),
               "numpy": numpy_step_factory(batch, rng)}
        if torch is not None:
            fns["torch"] = framework_step_factory(torch, batch, rng)
        if jax is not None:
            fns["jax"] = jax_step_factory(jax, batch, rng)
        t = timeit_interleaved(fns)
        row = [batch, f"{t['pyautodiff'] * 1e6:.0f}", f"{t['numpy'] * 1e6:.0f}",
               f"{t['numpy'] / t['pyautodiff']:.2f}x"]
        for name in ("torch", "jax"):
            if name in t:
                row += [f"{t[name] * 1e6:.0f}", f"{t[name] / t['pyautodiff']:.2f}x"]
        rows.append(row)
    header = ["batch", "ours us", "numpy us", "vs numpy"]
    header += ["torch us", "vs torch"] if torch else []
    header += ["jax us", "vs jax"] if jax else []
    return print_table(f"mlp_step: 784-128-10 SGD step, {threads} threads ({jax_note}) — {machine()}",
                       header, rows)


if __name__ == "__main__":
    main()
