"""Bad calls raise clear Python exceptions naming the op and the shapes or values at
fault, and leave the library working."""
import gzip
import os

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.datasets import MNIST, IDXError, read_idx

BAD_CALLS = [
    ("broadcast", lambda: torch.ones(2, 3) + torch.ones(4), ValueError, r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast"),
    ("matmul_shapes", lambda: torch.ones(64, 784) @ torch.ones(128, 10), ValueError,
     r"matmul: shapes \(64, 784\) and \(128, 10\) cannot be multiplied \(784 != 128\)"),
    ("matmul_dtypes", lambda: torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64), TypeError, "same dtype"),
    ("matmul_0d", lambda: torch.matmul(torch.tensor(1.0), torch.ones(2)), ValueError, "at least 1 dimension"),
    ("sum_dim_range", lambda: torch.ones(2, 3).sum(2), IndexError, r"sum: dimension out of range"),
    ("sum_dup_dim", lambda: torch.ones(2, 3).sum((0, 0)), ValueError, "multiple times"),
    ("mean_int", lambda: torch.arange(4).mean(), TypeError, "mean"),
    ("view_incompatible", lambda: torch.ones(3, 4).t().view(12), RuntimeError, "view: size"),
    ("reshape_numel", lambda: torch.ones(3, 4).reshape(5, 2), ValueError, r"reshape: shape '\(5, 2\)' is invalid for input of size 12"),
    ("reshape_two_infer", lambda: torch.ones(3, 4).reshape(-1, -1), ValueError, "only one dimension can be inferred"),
    ("transpose_dim", lambda: torch.ones(3, 4).transpose(0, 5), IndexError, "transpose: dimension out of range"),
    ("permute_repeat", lambda: torch.ones(3, 4).permute(0, 0), ValueError, "repeated dim"),
    ("expand_bad", lambda: torch.ones(3, 2).expand(3, 4), ValueError, "expand: the expanded size"),
    ("select_oob", lambda: torch.ones(3, 4)[5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ("too_many_indices", lambda: torch.ones(3)[0, 0], IndexError, "too many indices"),
    ("index_tensor_oob", lambda: torch.ones(3, 2)[torch.tensor([0, 3])], IndexError, "index 3 is out of bounds"),
    ("cat_shapes", lambda: torch.cat([torch.ones(2, 3), torch.ones(2, 4)]), ValueError, "cat: sizes of tensors must match"),
    ("stack_shapes", lambda: torch.stack([torch.ones(2), torch.ones(3)]), ValueError, "stack: expects each tensor"),
    ("log_softmax_dim", lambda: torch.log_softmax(torch.ones(2, 3), 2), IndexError, "log_softmax: dimension out of range"),
    ("xent_label_oob", lambda: F.cross_entropy(torch.ones(4, 10), torch.tensor([0, 1, 12, 3])), IndexError,
     "cross_entropy: target 12 is out of bounds for 10 classes"),
    ("xent_negative_label", lambda: F.cross_entropy(torch.ones(2, 10), torch.tensor([0, -3])), IndexError, "target -3"),
    ("xent_float_target", lambda: F.cross_entropy(torch.ones(2, 3), torch.ones(2)), TypeError, "int64"),
    ("xent_shape", lambda: F.cross_entropy(torch.ones(4, 10), torch.tensor([0, 1])), ValueError, r"input of shape \(4, 10\) and target of shape \(2,\)"),
    ("xent_weight_grad", lambda: F.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1]), weight=torch.ones(3, requires_grad=True)),
     RuntimeError, "cross_entropy: not differentiable with respect to argument 'weight'"),
    ("nll_weight_grad", lambda: F.nll_loss(torch.ones(2, 3), torch.tensor([0, 1]), weight=torch.ones(3, requires_grad=True)),
     RuntimeError, "nll_loss: not differentiable with respect to argument 'weight'"),
    ("bce_weight_grad", lambda: F.binary_cross_entropy(torch.full((2,), 0.5), torch.ones(2), weight=torch.ones(2, requires_grad=True)),
     RuntimeError, "binary_cross_entropy: not differentiable with respect to argument 'weight'"),
    ("bcel_pos_weight_grad", lambda: F.binary_cross_entropy_with_logits(torch.ones(2), torch.ones(2), pos_weight=torch.ones(2, requires_grad=True)),
     RuntimeError, "binary_cross_entropy_with_logits: not differentiable with respect to argument 'pos_weight'"),
    ("xent_reduction", lambda: F.cross_entropy(torch.ones(2, 3), torch.tensor([0, 1]), reduction="avg"), ValueError, "reduction"),
    ("linear_shapes", lambda: nn.Linear(784, 128)(torch.ones(64, 100)), ValueError,
     r"linear: input of shape \(64, 100\) does not match weight of shape \(128, 784\)"),
    ("backward_nonscalar", lambda: (torch.ones(3, requires_grad=True) * 2).backward(), RuntimeError,
     "grad can be implicitly created only for scalar outputs"),
    ("backward_no_grad", lambda: torch.ones(3).sum().backward(), RuntimeError, "does not require grad"),
    ("requires_grad_int", lambda: torch.arange(3).requires_grad_(), RuntimeError, "floating point"),
    ("inplace_leaf", lambda: torch.ones(3, requires_grad=True).add_(1), RuntimeError, "in-place"),
    ("inplace_expanded_add", lambda: torch.zeros(1).expand(4).add_(torch.arange(4.0)), RuntimeError,
     r"add_: unsupported operation: more than one element of the written-to tensor \(shape \(4,\), "
     r"a stride of 0 in dim 0\)"),
    ("inplace_expanded_scalar", lambda: torch.zeros(3, 1).expand(3, 2).mul_(2), RuntimeError,
     r"mul_: unsupported operation.*a stride of 0 in dim 1"),
    ("inplace_expanded_copy", lambda: torch.zeros(1).expand(2).copy_(torch.ones(2)), RuntimeError,
     "copy_: unsupported operation"),
    ("inplace_expanded_setitem", lambda: torch.zeros(1).expand(4).__setitem__(slice(1, 3), 1.0), RuntimeError,
     "copy_: unsupported operation"),
    ("inplace_expanded_normal", lambda: torch.zeros(1).expand(2).normal_(), RuntimeError, "normal_: unsupported operation"),
    ("item_many", lambda: torch.ones(3).item(), ValueError, "item: a Tensor with 3 elements"),
    ("numpy_requires_grad", lambda: torch.ones(2, requires_grad=True).numpy(), RuntimeError, "detach"),
    ("negative_shape", lambda: torch.zeros(2, -1), ValueError, "negative dimension"),
    ("randint_range", lambda: torch.randint(5, 5, (2,)), ValueError, "randint: expects low < high"),
    ("arange_step", lambda: torch.arange(0, 10, 0), ValueError, "arange: step must be nonzero"),
    ("sgd_lr", lambda: torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=-1), ValueError, "Invalid learning rate"),
    ("sgd_nesterov", lambda: torch.optim.SGD([nn.Parameter(torch.ones(1))], lr=0.1, nesterov=True), ValueError, "Nesterov"),
    ("from_numpy_dtype", lambda: torch.from_numpy(np.zeros(3, dtype=np.complex64)), TypeError, "from_numpy"),
    ("grad_shape", lambda: setattr(torch.ones(3, requires_grad=True), "grad", torch.ones(2)), ValueError, "assigned grad"),
]


@pytest.mark.parametrize("name,call,exc,pattern", BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_bad_call_raises_clear_error(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
    # The library still works after the error.
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_second_backward_without_retain_graph_raises():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_inplace_change_of_saved_value_is_detected():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    w = torch.tensor([3.0, 4.0])
    y = (x * w).sum()
    w.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def _write_idx(path, payload, compress):
    data = gzip.compress(payload) if compress else payload
    with open(path, "wb") as f:
        f.write(data)


@pytest.mark.parametrize("compress", [False, True])
def test_malformed_idx_files_raise(tmp_path, compress):
    bad_magic = tmp_path / "bad_magic"
    _write_idx(bad_magic, b"\x12\x34\x08\x01" + b"\x00" * 8, compress)
    with pytest.raises(IDXError, match="bad IDX magic"):
        read_idx(str(bad_magic))
    truncated = tmp_path / "truncated"
    _write_idx(truncated, b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") + (28).to_bytes(4, "big")
               + (28).to_bytes(4, "big") + b"\x00" * 100, compress)
    with pytest.raises(IDXError, match="truncated or corrupt"):
        read_idx(str(truncated))
    short = tmp_path / "short"
    _write_idx(short, b"\x00\x00", compress)
    with pytest.raises(IDXError, match="too short"):
        read_idx(str(short))


def test_mnist_label_count_mismatch(tmp_path):
    images = b"\x00\x00\x08\x03" + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") * 2 + bytes(8)
    labels = b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + bytes(3)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(images)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)
    with pytest.raises(IDXError, match="3 labels|labels for 2 images"):
        MNIST(str(tmp_path), train=True)


def test_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        MNIST(str(tmp_path))
    assert os.path.isdir(str(tmp_path))
