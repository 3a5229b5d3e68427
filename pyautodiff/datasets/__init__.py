"""Datasets: MNIST-format IDX readers and the bundled 5,000-image MNIST sample."""
from .idx import IDXError, read_idx
from .mnist import BUNDLED_ROOT, MNIST, FashionMNIST

__all__ = ["MNIST", "FashionMNIST", "read_idx", "IDXError", "BUNDLED_ROOT"]
