"""MNIST and Fashion-MNIST from MNIST-format IDX files; the bundled 5,000-image MNIST
sample is used when no root is given."""
from __future__ import annotations

import os
from typing import Any, Union

import numpy as np

from .._creation import from_numpy
from ..utils.data import TensorDataset
from .idx import IDXError, read_idx

__all__ = ["MNIST", "FashionMNIST", "BUNDLED_ROOT"]

BUNDLED_ROOT = os.path.join(os.path.dirname(__file__), "data")

_FILES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _find(root: str, stem: str) -> str:
    for sub in ("", "raw", os.path.join("MNIST", "raw"), os.path.join("FashionMNIST", "raw")):
        for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
            path = os.path.join(root, sub, name)
            if os.path.isfile(path):
                return path
    raise FileNotFoundError(f"no {stem}[.gz] in {root} (expected MNIST-format IDX files)")


class MNIST(TensorDataset):
    """Images as float32 in [0, 1] of shape (1, 28, 28) — or (784,) with flatten=True —
    and int64 labels.  `root` is a directory of MNIST-format IDX files (gzip or raw);
    None means the 5,000-image sample shipped with pyautodiff."""

    def __init__(self, root: Union[str, os.PathLike[str], None] = None, train: bool = True, flatten: bool = False,
                 transform: Any = None, download: bool = False) -> None:
        if download:
            raise ValueError("MNIST: pyautodiff does not download; pass root= a directory of IDX files")
        self.root = BUNDLED_ROOT if root is None else os.path.expanduser(str(root))
        self.train = train
        images_path, labels_path = (_find(self.root, s) for s in _FILES[bool(train)])
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise IDXError(f"{os.path.basename(images_path)}: expected uint8 images (N, rows, cols), got "
                           f"{images.dtype} of shape {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise IDXError(f"{os.path.basename(labels_path)}: {labels.shape} labels for {images.shape[0]} images")
        n, rows, cols = images.shape
        x = (images.astype(np.float32) / np.float32(255.0))
        x = x.reshape(n, rows * cols) if flatten else x.reshape(n, 1, rows, cols)
        self.data = from_numpy(np.ascontiguousarray(x))
        self.targets = from_numpy(labels.astype(np.int64))
        self.classes = [str(i) for i in range(int(labels.max()) + 1)] if n else []
        super().__init__(self.data, self.targets)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(root={self.root!r}, train={self.train}, "
                f"samples={len(self)}, image shape={tuple(self.data.shape[1:])})")


class FashionMNIST(MNIST):
    """Fashion-MNIST: the same file format and reader as MNIST (Debian's
    dataset-fashion-mnist installs it under /usr/share/datasets/fashion-mnist)."""

    classes_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                     "Sneaker", "Bag", "Ankle boot"]
