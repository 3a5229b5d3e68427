"""Conv2d forward+backward: pyautodiff vs PyTorch (when installed) and a NumPy im2col
reference forward, same process, interleaved, equal thread counts."""
import numpy as np

from benchmarks.common import limit_numpy_threads, machine, print_table, timeit_interleaved

CASES = [  # (batch, in, out, size, kernel)
    (64, 1, 16, 28, 3),
    (64, 16, 32, 14, 3),
    (32, 64, 64, 32, 3),
]


def numpy_conv(x, w):
    n, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))  # n c h w k k
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * wd, c * k * k)
    return (cols @ w.reshape(o, -1).T).reshape(n, h, wd, o).transpose(0, 3, 1, 2)


def main(argv=None):
    import pyautodiff as pa

    try:
        import torch
        torch.set_num_threads(pa.get_num_threads())
    except ImportError:
        torch = None
    limit_numpy_threads(pa.get_num_threads())
    rows = []
    for n, cin, cout, size, k in CASES:
        x = np.random.rand(n, cin, size, size).astype(np.float32)
        w = (np.random.rand(cout, cin, k, k).astype(np.float32) - 0.5) * 0.1
        px, pw = pa.from_numpy(x), pa.from_numpy(w.copy()).requires_grad_()

        def ours():
            pa.nn.functional.conv2d(px, pw, padding=1).sum().backward()
            pw.grad = None

        fns = {"ours": ours, "numpy fwd": lambda: numpy_conv(x, w)}
        if torch:
            tx, tw = torch.from_numpy(x), torch.from_numpy(w.copy()).requires_grad_()

            def theirs():
                torch.nn.functional.conv2d(tx, tw, padding=1).sum().backward()
                tw.grad = None

            fns["torch"] = theirs
        t = timeit_interleaved(fns, rounds=5)
        row = [f"{n}x{cin}x{size}x{size} -> {cout}, k{k}", f"{t['ours'] * 1e3:.2f}", f"{t['numpy fwd'] * 1e3:.2f}"]
        if torch:
            row += [f"{t['torch'] * 1e3:.2f}", f"{t['torch'] / t['ours']:.2f}x"]
        rows.append(row)
    header = ["conv (fwd+bwd ours/torch)", "ours ms", "numpy fwd-only ms"] + (["torch ms", "vs torch"] if torch else [])
    return print_table(f"conv2d float32 ({pa.get_num_threads()} threads) — {machine()}", header, rows)


if __name__ == "__main__":
    main()
