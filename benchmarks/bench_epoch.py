"""One Fashion-MNIST-sized epoch (60,000 samples, batch 64, shuffled) of the article's MLP
through each library's DataLoader over a TensorDataset: pyautodiff vs PyTorch."""
import time

import numpy as np

from benchmarks.common import machine, print_table


def epoch(lib, x, y, batch):
    nn, optim = lib.nn, lib.optim
    lib.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    data = lib.utils.data
    loader = data.DataLoader(data.TensorDataset(lib.from_numpy(x), lib.from_numpy(y)), batch_size=batch,
                             shuffle=True)

    def run():
        for images, labels in loader:
            opt.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            opt.step()

    return run


def main(argv=None):
    import pyautodiff as pa

    try:
        import torch
        torch.set_num_threads(pa.get_num_threads())
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    x = rng.random((60_000, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 60_000).astype(np.int64)
    runs = {"ours": epoch(pa, x, y, 64)}
    if torch:
        runs["torch"] = epoch(torch, x, y, 64)
    times = {k: [] for k in runs}
    for _ in range(3):  # interleaved rounds
        for k, f in runs.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    row = ["60,000 samples, batch 64", f"{med['ours']:.2f}"]
    header = ["epoch", "ours s"]
    if torch:
        row += [f"{med['torch']:.2f}", f"{med['torch'] / med['ours']:.2f}x"]
        header += ["torch s", "vs torch"]
    return print_table(f"epoch ({pa.get_num_threads()} threads) — {machine()}", header, [row])


if __name__ == "__main__":
    main()
