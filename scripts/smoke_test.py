"""Smoke test of an installed pyautodiff: import, a small backward, a save/load round trip.

Run it from outside the source tree so that the installed package is the one imported
(scripts/check_wheel.sh and the cibuildwheel test-command do).  Exits non-zero on failure.
"""
import os
import sys
import tempfile

import numpy as np

import pyautodiff as torch
import pyautodiff.nn as nn


def main():
    pkg_dir = os.path.dirname(os.path.realpath(torch.__file__))
    source_root = os.environ.get("PYAUTODIFF_SOURCE_ROOT")
    if source_root and pkg_dir.startswith(os.path.realpath(source_root) + os.sep):
        raise SystemExit(f"smoke: imported pyautodiff from the source tree ({pkg_dir}), not the install")

    # A small backward, checked against the closed form.
    torch.manual_seed(0)
    x = torch.randn(4, 3, requires_grad=True)
    w = np.arange(6, dtype=np.float32).reshape(3, 2) / 6
    y = (x @ torch.from_numpy(w)).relu().sum()
    y.backward()
    active = (x.detach().numpy() @ w > 0).astype(np.float32)
    np.testing.assert_allclose(x.grad.numpy(), active @ w.T, rtol=1e-6, atol=1e-7)

    # A tiny training step through the OpenMP GEMM, and a save/load round trip.
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    loss = nn.CrossEntropyLoss()(model(torch.randn(32, 8)), torch.randint(0, 3, (32,)))
    loss.backward()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ckpt.safetensors")
        torch.save({"model": model.state_dict(), "epoch": 3, "loss": loss.item()}, path)
        back = torch.load(path)
        assert back["epoch"] == 3 and back["loss"] == loss.item(), back
        clone = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        clone.load_state_dict(back["model"])
        for name, value in model.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), clone.state_dict()[name].numpy())

    # The files that must ship in the wheel.
    for rel in ("py.typed", "datasets/data/README.md", "datasets/data/train-images-idx3-ubyte.gz"):
        assert os.path.exists(os.path.join(pkg_dir, rel)), f"smoke: {rel} is missing from the install"

    ext = [f for f in os.listdir(pkg_dir) if f.startswith("_C.")]
    print(f"smoke: ok (Python {sys.version.split()[0]}, {pkg_dir}, extension {ext})")


if __name__ == "__main__":
    main()
