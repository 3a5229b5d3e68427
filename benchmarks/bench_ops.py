"""Elementwise, reduction and softmax/cross-entropy kernels: pyautodiff vs NumPy (and
PyTorch when installed), same process, interleaved, equal thread counts.

    python -m benchmarks elementwise reduce softmax_xent layout
"""
import numpy as np

from benchmarks.common import limit_numpy_threads, machine, numpy_blas_kernel, print_table, timeit_interleaved

SIZES = (1_000, 100_000, 1_000_000, 10_000_000)


def _contenders(torch_mod, np_fn, pa_fn, torch_fn):
    fns = {"ours": pa_fn, "numpy": np_fn}
    if torch_mod is not None and torch_fn is not None:
        fns["torch"] = torch_fn
    return fns


def _row(label, t):
    row = [label, f"{t['ours'] * 1e6:.1f}", f"{t['numpy'] * 1e6:.1f}", f"{t['numpy'] / t['ours']:.2f}x"]
    if "torch" in t:
        row += [f"{t['torch'] * 1e6:.1f}", f"{t['torch'] / t['ours']:.2f}x"]
    return row


def _header(torch_mod):
    return ["case", "ours us", "numpy us", "vs numpy"] + (["torch us", "vs torch"] if torch_mod else [])


def _setup():
    import pyautodiff

    try:
        import torch
        torch.set_num_threads(pyautodiff.get_num_threads())
    except ImportError:
        torch = None
    limit_numpy_threads(pyautodiff.get_num_threads())
    return pyautodiff, torch


def elementwise(argv=None):
    pa, torch = _setup()
    rows = []
    for n in SIZES:
        a = np.random.rand(n).astype(np.float32)
        b = np.random.rand(n).astype(np.float32)
        pa_a, pa_b = pa.from_numpy(a), pa.from_numpy(b)
        t_a, t_b = (torch.from_numpy(a), torch.from_numpy(b)) if torch else (None, None)
        cases = [
            ("add", lambda: a + b, lambda: pa_a + pa_b, lambda: t_a + t_b),
            ("mul", lambda: a * b, lambda: pa_a * pa_b, lambda: t_a * t_b),
            ("relu", lambda: np.maximum(a, 0), lambda: pa.relu(pa_a), lambda: torch.relu(t_a)),
            ("exp", lambda: np.exp(a), lambda: pa.exp(pa_a), lambda: torch.exp(t_a)),
        ]
        for name, f_np, f_pa, f_t in cases:
            rows.append(_row(f"{name} n={n:.0e}", timeit_interleaved(_contenders(torch, f_np, f_pa, f_t if torch else None))))
    return print_table(f"elementwise float32 ({pa.get_num_threads()} threads) — {machine()}; numpy: {numpy_blas_kernel()}",
                       _header(torch), rows)


def layout(argv=None):
    """Copies that rearrange memory (a transposed view made contiguous, a permuted one)
    and torch.where's masked select: memory-bound, where the order of reads decides."""
    pa, torch = _setup()
    rows = []
    rng = np.random.default_rng(0)
    for shape in ((1024, 128), (784, 1024), (2048, 2048)):
        a = rng.random(shape, dtype=np.float32)
        pa_a = pa.from_numpy(a)
        t_a = torch.from_numpy(a) if torch else None
        rows.append(_row(f"T.contiguous {shape[0]}x{shape[1]}", timeit_interleaved(_contenders(
            torch, lambda: np.ascontiguousarray(a.T), lambda: pa_a.T.contiguous(),
            (lambda: t_a.T.contiguous()) if torch else None))))
    a = rng.random((32, 64, 8, 64), dtype=np.float32)  # (batch, seq, heads, dim) -> heads first
    pa_a = pa.from_numpy(a)
    t_a = torch.from_numpy(a) if torch else None
    rows.append(_row("permute(0,2,1,3) 32x64x8x64", timeit_interleaved(_contenders(
        torch, lambda: np.ascontiguousarray(a.transpose(0, 2, 1, 3)),
        lambda: pa_a.permute(0, 2, 1, 3).contiguous(),
        (lambda: t_a.permute(0, 2, 1, 3).contiguous()) if torch else None))))
    for n in (100_000, 1_000_000):
        x, y = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
        m = rng.random(n) < 0.5
        pa_x, pa_y, pa_m = pa.from_numpy(x), pa.from_numpy(y), pa.from_numpy(m)
        t_x, t_y, t_m = (torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(m)) if torch else (None,) * 3
        rows.append(_row(f"where(mask, x, y) n={n:.0e}", timeit_interleaved(_contenders(
            torch, lambda: np.where(m, x, y), lambda: pa.where(pa_m, pa_x, pa_y),
            (lambda: torch.where(t_m, t_x, t_y)) if torch else None))))
        rows.append(_row(f"where(mask, x, 0) n={n:.0e}", timeit_interleaved(_contenders(
            torch, lambda: np.where(m, x, np.float32(0)), lambda: pa.where(pa_m, pa_x, 0.0),
            (lambda: torch.where(t_m, t_x, 0.0)) if torch else None))))
    return print_table(f"layout float32 ({pa.get_num_threads()} threads) — {machine()}; numpy: {numpy_blas_kernel()}",
                       _header(torch), rows)


def reduce(argv=None):
    pa, torch = _setup()
    rows = []
    for shape in ((1_000_000,), (10_000_000,), (1000, 1000), (4096, 1024)):
        a = np.random.rand(*shape).astype(np.float32)
        pa_a = pa.from_numpy(a)
        t_a = torch.from_numpy(a) if torch else None
        cases = [("sum all", lambda: a.sum(), lambda: pa_a.sum(), lambda: t_a.sum())]
        if len(shape) == 2:
            cases += [("sum dim0", lambda: a.sum(0), lambda: pa_a.sum(0), lambda: t_a.sum(0)),
                      ("mean dim1", lambda: a.mean(1), lambda: pa_a.mean(1), lambda: t_a.mean(1)),
                      ("max dim1", lambda: a.max(1), lambda: pa_a.max(1), lambda: t_a.max(1))]
        for name, f_np, f_pa, f_t in cases:
            label = f"{name} {'x'.join(map(str, shape))}"
            rows.append(_row(label, timeit_interleaved(_contenders(torch, f_np, f_pa, f_t if torch else None))))
    return print_table(f"reduce float32 ({pa.get_num_threads()} threads) — {machine()}", _header(torch), rows)


def softmax_xent(argv=None):
    pa, torch = _setup()
    rows = []
    for n, c in ((64, 10), (1024, 10), (1024, 1000)):
        x = np.random.randn(n, c).astype(np.float32)
        y = np.random.randint(0, c, n)
        pa_x, pa_y = pa.from_numpy(x), pa.from_numpy(y.astype(np.int64))
        px = pa.from_numpy(x.copy()).requires_grad_()

        def np_fwd_bwd():
            m = x.max(1, keepdims=True)
            e = np.exp(x - m)
            s = e.sum(1, keepdims=True)
            loss = (np.log(s) + m)[:, 0] - x[np.arange(n), y]
            g = e / s
            g[np.arange(n), y] -= 1
            return loss.mean(), g / n

        def pa_fwd_bwd():
            pa.nn.functional.cross_entropy(px, pa_y).backward()
            px.grad = None

        fns = {"ours": pa_fwd_bwd, "numpy": np_fwd_bwd}
        if torch:
            tx = torch.from_numpy(x.copy()).requires_grad_()
            ty = torch.from_numpy(y.astype(np.int64))

            def t_fwd_bwd():
                torch.nn.functional.cross_entropy(tx, ty).backward()
                tx.grad = None

            fns["torch"] = t_fwd_bwd
        rows.append(_row(f"xent fwd+bwd {n}x{c}", timeit_interleaved(fns)))
        fns = {"ours": lambda: pa.log_softmax(pa_x, 1),
               "numpy": lambda: x - x.max(1, keepdims=True) - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True))}
        if torch:
            tx2 = torch.from_numpy(x)
            fns["torch"] = lambda: torch.log_softmax(tx2, 1)
        rows.append(_row(f"log_softmax {n}x{c}", timeit_interleaved(fns)))
    return print_table(f"softmax / cross-entropy float32 ({pa.get_num_threads()} threads) — {machine()}",
                       _header(torch), rows)


if __name__ == "__main__":
    elementwise()
    reduce()
    softmax_xent()
