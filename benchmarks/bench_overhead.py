"""Per-op overhead on tiny tensors: a forward op with grad enabled, and a chained
forward+backward, pyautodiff vs PyTorch (when installed)."""
import numpy as np

from benchmarks.common import machine, print_table, time_against_torch


def cases(torch):
    a = torch.from_numpy(np.random.rand(16).astype(np.float32)).requires_grad_()
    b = torch.from_numpy(np.random.rand(16).astype(np.float32))

    def forward():
        return a * b

    def chain():  # 8 ops forward, then backward
        y = ((a * b + 1.0).relu() * a).tanh().exp().sum() * 2.0
        y.backward()

    return {"mul (16 elems, grad)": forward, "chain fwd+bwd (8 ops)": chain}


def main(argv=None):
    rows = []
    for name, t in time_against_torch(cases).items():
        row = [name, f"{t['ours'] * 1e6:.2f}"]
        if "torch" in t:
            row += [f"{t['torch'] * 1e6:.2f}", f"{t['ours'] / t['torch']:.2f}"]
        rows.append(row)
    return print_table(f"overhead — {machine()}", ["case", "ours us", "torch us", "ours/torch"][:len(rows[0])], rows)


if __name__ == "__main__":
    main()
