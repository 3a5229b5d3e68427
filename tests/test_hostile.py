"""Hostile calls: bad arguments through the public Python API and straight into the C
entry points (`pyautodiff._ffi.lib`).  Each must raise a Python exception whose message
names the op and the values or shapes at fault, and the library must keep working.

Calls that crash (or silently misbehave) in the current core are written as subprocess
tests marked xfail(strict=True) with the core bug they document, so a segfault cannot
take pytest down and the fix shows up as an XPASS to remove the marker."""
import io
import json
import struct
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
import pyautodiff.optim as optim
from pyautodiff._ffi import check, ffi, lib

_KEEP = []  # tensors whose handles sit in cffi pointer arrays during a call


def I(*values):  # noqa: E743 - an int64_t[] argument
    return ffi.new("int64_t[]", list(values) or [0])


def H(*tensors):
    """A `pa_tensor *[]` of the tensors' handles (the tensors are kept alive)."""
    _KEEP.extend(tensors)
    return ffi.new("pa_tensor *[]", [t._h for t in tensors])


def C(fn, *args):
    """Calls a core function whose last argument is a `pa_tensor **` result."""
    out = ffi.new("pa_tensor *[1]")
    check(fn(*args, out))
    lib.pa_tensor_release(out[0])


def S(fn, *args):
    """Calls a core function that returns only a status."""
    check(fn(*args))


def buf(n, dtype=np.float64):
    arr = np.zeros(max(n, 1), dtype=dtype)
    _KEEP.append(arr)
    return ffi.from_buffer(arr)


def gemm(m, n, k, lda, a_numel, ldb, b_numel, ldc, c_numel, dtype=lib.PA_FLOAT64, ta=0, tb=0):
    S(lib.pa_gemm, dtype, ta, tb, m, n, k, 1.0, buf(a_numel), lda, a_numel, buf(b_numel), ldb, b_numel,
      0.0, buf(c_numel), ldc, c_numel)


def t(*shape, dtype=None):
    return torch.ones(*shape, dtype=dtype)


L64 = torch.int64


def _pool(fn, x, *args):
    out = ffi.new("pa_tensor *[1]")
    idx = ffi.new("pa_tensor *[1]")
    check(fn(x._h, *args, out, idx))


def _safetensors(header, data=b""):
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def _load_bytes(data):
    return torch.load(io.BytesIO(data))


def _sgd_with_grad():
    p = nn.Parameter(torch.ones(3))
    p.grad = torch.ones(3)
    return p


BAD_CALLS = [
    # ---- C API: creation -------------------------------------------------------------
    ("c_empty_ndim9", lambda: C(lib.pa_empty, 9, I(*[1] * 9), 0), ValueError, "empty: tensors may have at most 8 dims, got 9"),
    ("c_empty_negative", lambda: C(lib.pa_empty, 2, I(3, -5), 0), ValueError, "empty: negative dimension -5"),
    ("c_empty_overflow", lambda: C(lib.pa_empty, 2, I(2**40, 2**40), 0), MemoryError, "empty: shape too large"),
    ("c_empty_huge", lambda: C(lib.pa_empty, 1, I(2**50), 1), MemoryError, "out of memory allocating 9007199254740992 bytes"),
    ("c_empty_dtype", lambda: C(lib.pa_empty, 1, I(5), 42), TypeError, "empty: unknown dtype code 42"),
    ("c_empty_dtype_neg", lambda: C(lib.pa_empty, 1, I(5), -1), TypeError, "unknown dtype code -1"),
    ("c_full_dtype", lambda: C(lib.pa_full, 1, I(5), 9, 1.0), TypeError, "unknown dtype code 9"),
    ("c_arange_nan", lambda: C(lib.pa_arange, 0.0, float("nan"), 1.0, 0), ValueError, r"arange: .*end=nan"),
    ("c_arange_dtype", lambda: C(lib.pa_arange, 0.0, 10.0, 1.0, 5), TypeError, "arange: unknown dtype code 5"),
    ("c_linspace_negative", lambda: C(lib.pa_linspace, 0.0, 1.0, -3, 0), ValueError, "linspace: number of steps must be non-negative, got -3"),
    ("c_linspace_huge", lambda: C(lib.pa_linspace, 0.0, 1.0, 2**62, 0), MemoryError, "shape too large"),
    ("c_eye_negative", lambda: C(lib.pa_eye, -2, 3, 0), ValueError, "negative dimension -2"),
    ("c_randint_range", lambda: C(lib.pa_randint, 10, 0, 1, I(3)), ValueError, "randint: expects low < high, got low=10, high=0"),
    ("c_randperm_negative", lambda: C(lib.pa_randperm, -1), ValueError, "randperm: n must be non-negative, got -1"),
    ("c_rand_int_dtype", lambda: C(lib.pa_rand, 1, I(3), lib.PA_INT64), TypeError, "rand: expected a floating-point dtype, got int64"),
    ("c_randn_bool_dtype", lambda: C(lib.pa_randn, 1, I(3), lib.PA_BOOL), TypeError, "randn: expected a floating-point dtype, got bool"),
    ("c_from_blob_escape", lambda: C(lib.pa_from_blob, buf(10), 1, I(5), I(3), 1, 80, ffi.NULL, ffi.NULL), ValueError,
     "from_numpy: strides reach outside the 80-byte buffer"),
    ("c_from_blob_negative_stride", lambda: C(lib.pa_from_blob, buf(10), 1, I(5), I(-1), 1, 80, ffi.NULL, ffi.NULL), ValueError,
     "strides reach outside"),
    ("c_from_blob_dtype", lambda: C(lib.pa_from_blob, buf(10), 1, I(5), I(1), 7, 80, ffi.NULL, ffi.NULL), TypeError,
     "from_numpy: unknown dtype code 7"),
    ("c_from_blob_ndim9", lambda: C(lib.pa_from_blob, buf(10), 9, I(*[1] * 9), I(*[1] * 9), 1, 80, ffi.NULL, ffi.NULL), ValueError,
     "at most 8 dims, got 9"),
    ("c_from_blob_overflow", lambda: C(lib.pa_from_blob, buf(10), 2, I(2**40, 2**40), I(2**40, 1), 1, 80, ffi.NULL, ffi.NULL),
     MemoryError, "from_numpy: shape too large"),
    ("c_from_blob_null_shape", lambda: C(lib.pa_from_blob, buf(10), 1, ffi.NULL, ffi.NULL, 1, 80, ffi.NULL, ffi.NULL), ValueError,
     "from_numpy: invalid argument: NULL"),
    ("c_from_data_short", lambda: C(lib.pa_from_data, buf(3), 24, 1, I(10), 1), ValueError,
     r"tensor: 24 bytes of data do not fill shape \(10,\) of float64 \(80 bytes\)"),
    # ---- C API: GEMM -----------------------------------------------------------------
    ("c_gemm_short_a", lambda: gemm(10, 10, 10, 10, 3, 10, 100, 10, 100), ValueError,
     r"gemm: A \(10 x 10, leading dimension 10\) needs 100 elements, the buffer has 3"),
    ("c_gemm_short_c", lambda: gemm(10, 10, 10, 10, 100, 10, 100, 10, 99), ValueError, "gemm: C .* the buffer has 99"),
    ("c_gemm_negative_ld", lambda: gemm(10, 10, 10, -10, 100, 10, 100, 10, 100), ValueError, "gemm: leading dimension of A is -10, needs at least 10"),
    ("c_gemm_small_ld", lambda: gemm(10, 10, 10, 5, 100, 10, 100, 10, 100), ValueError, "leading dimension of A is 5"),
    ("c_gemm_trans_ld", lambda: gemm(10, 10, 3, 3, 30, 10, 100, 10, 100, ta=1), ValueError, "leading dimension of A is 3, needs at least 10"),
    ("c_gemm_negative_m", lambda: gemm(-1, 10, 10, 10, 100, 10, 100, 10, 100), ValueError, "gemm: negative size m=-1"),
    ("c_gemm_dtype", lambda: gemm(2, 2, 2, 2, 4, 2, 4, 2, 4, dtype=lib.PA_INT64), TypeError, "gemm: dtype must be float32 or float64"),
    ("c_gemm_ld_overflow", lambda: gemm(3, 3, 3, 2**61 + 7, 100, 3, 100, 3, 100), ValueError, "gemm: A .* the buffer has 100"),
    ("c_gemm_isa", lambda: S(lib.pa_set_gemm_isa, 7), ValueError, "set_gemm_isa: unknown ISA code 7"),
    # ---- C API: elementwise ----------------------------------------------------------
    ("c_binary_op", lambda: C(lib.pa_binary, 99, t(3)._h, t(3)._h), ValueError, "binary: unknown op 99"),
    ("c_binary_op_negative", lambda: C(lib.pa_binary, -1, t(3)._h, t(3)._h), ValueError, "binary: unknown op -1"),
    ("c_binary_op_count", lambda: C(lib.pa_binary, lib.PA_BIN_COUNT, t(3)._h, t(3)._h), ValueError,
     f"unknown op {lib.PA_BIN_COUNT}"),
    ("c_binary_scalar_op", lambda: C(lib.pa_binary_scalar, 99, t(3)._h, 1.0, 1, 0), ValueError, "binary: unknown op 99"),
    ("c_binary_inplace_op", lambda: S(lib.pa_binary_, 99, t(3)._h, t(3)._h), ValueError, "binary_: unknown op 99"),
    ("c_unary_op", lambda: C(lib.pa_unary, lib.PA_UN_COUNT, t(3)._h), ValueError, f"unary: unknown op {lib.PA_UN_COUNT}"),
    ("c_unary_op_negative", lambda: C(lib.pa_unary, -1, t(3)._h), ValueError, "unary: unknown op -1"),
    ("c_to_dtype", lambda: C(lib.pa_to_dtype, t(3)._h, 17), TypeError, "to: unknown dtype code 17"),
    ("c_clamp_bool", lambda: C(lib.pa_clamp, t(3, dtype=torch.bool)._h, 0, 1, 1, 1), TypeError, "clamp: not implemented for bool"),
    ("c_where_float_cond", lambda: C(lib.pa_where, t(3)._h, t(3)._h, t(3)._h), TypeError, "where: expected condition to be a bool tensor, got float32"),
    ("c_inplace_cast", lambda: S(lib.pa_binary_, 0, t(3, dtype=L64)._h, t(3)._h), TypeError,
     "add_: result type float32 can't be cast to the desired output type int64"),
    ("c_inplace_broadcast", lambda: S(lib.pa_binary_, 0, t(3)._h, t(2, 3)._h), ValueError,
     r"add_: output with shape \(3,\) doesn't match the broadcast shape \(2, 3\)"),
    ("c_copy_shape", lambda: S(lib.pa_copy_, t(3)._h, t(2)._h), ValueError, r"copy_: source of shape \(2,\) cannot be broadcast to \(3,\)"),
    ("c_uniform_bounds", lambda: S(lib.pa_uniform_, t(3)._h, 1.0, 0.0), ValueError, "uniform_: expects low <= high, got low=1, high=0"),
    ("c_normal_std", lambda: S(lib.pa_normal_, t(3)._h, 0.0, -1.0), ValueError, "normal_: expects std >= 0.0, got std=-1"),
    ("c_to_buffer_short", lambda: S(lib.pa_to_contiguous_buffer, t(3, dtype=torch.float64)._h, buf(1), 8), ValueError,
     "buffer of 8 bytes for a tensor of 24 bytes"),
    # ---- C API: shapes ---------------------------------------------------------------
    ("c_reshape_ndim9", lambda: C(lib.pa_reshape, t(1)._h, 9, I(*[1] * 9)), ValueError, "reshape: at most 8 dims are supported, got 9"),
    ("c_reshape_ndim_negative", lambda: C(lib.pa_reshape, t(1)._h, -1, I(1)), ValueError, "reshape: .* got -1"),
    ("c_view_ndim9", lambda: C(lib.pa_view, t(1)._h, 9, I(*[1] * 9)), ValueError, "view: at most 8 dims"),
    ("c_reshape_bad_dim", lambda: C(lib.pa_reshape, t(6)._h, 2, I(-2, -3)), ValueError, "reshape: invalid shape dimension -2"),
    ("c_reshape_wrap", lambda: C(lib.pa_reshape, t(2)._h, 3, I(2**32, 2**31, 2)), ValueError,
     r"reshape: shape '\(4294967296, 2147483648, 2\)' is invalid for input of size 2"),
    ("c_permute_count", lambda: C(lib.pa_permute, t(2, 3)._h, 1, I(0)), ValueError,
     r"permute: number of dims don't match: the tensor has shape \(2, 3\) \(2 dims\) but 1 dims were given"),
    ("c_permute_count9", lambda: C(lib.pa_permute, t(2, 3)._h, 9, I(*range(9))), ValueError, "but 9 dims were given"),
    ("c_permute_range", lambda: C(lib.pa_permute, t(2, 3)._h, 2, I(0, 5)), IndexError, r"permute: dimension out of range .*got 5"),
    ("c_expand_fewer", lambda: C(lib.pa_expand, t(2, 3)._h, 1, I(3)), ValueError, r"expand: the number of sizes provided \(1\)"),
    ("c_expand_negative", lambda: C(lib.pa_expand, t(1, 3)._h, 3, I(-1, 2, 3)), ValueError, "expand: -1 is not allowed in a leading"),
    ("c_slice_stop", lambda: C(lib.pa_slice, t(5)._h, 0, 0, 10, 1), IndexError, r"slice: bounds \[0:10\] outside \[0, 5\] on dim 0"),
    ("c_slice_start_negative", lambda: C(lib.pa_slice, t(5)._h, 0, -1, 3, 1), IndexError, r"slice: bounds \[-1:3\]"),
    ("c_slice_step", lambda: C(lib.pa_slice, t(5)._h, 0, 0, 5, 0), ValueError, "slice: step must be positive, got 0"),
    ("c_slice_dim", lambda: C(lib.pa_slice, t(5)._h, 1, 0, 5, 1), IndexError, r"slice: dimension out of range .*got 1"),
    ("c_select_int_min", lambda: C(lib.pa_select, t(5)._h, 0, -2**63), IndexError, "select: index -9223372036854775808 is out of bounds"),
    ("c_select_0d", lambda: C(lib.pa_select, torch.tensor(1.0)._h, 0, 0), IndexError, "select: invalid index of a 0-dim tensor"),
    ("c_transpose_int_min", lambda: C(lib.pa_transpose, t(5, 2)._h, -2**63, 0), IndexError, "transpose: dimension out of range"),
    ("c_unsqueeze_9", lambda: C(lib.pa_unsqueeze, t(*[1] * 8)._h, 0), ValueError, "unsqueeze: at most 8 dims"),
    ("c_squeeze_dim", lambda: C(lib.pa_squeeze, t(2, 1)._h, 1, 5), IndexError, r"squeeze: dimension out of range .*got 5"),
    ("c_cat_empty", lambda: C(lib.pa_cat, 0, H(t(2)), 0), ValueError, "cat: expected a non-empty list of tensors"),
    ("c_cat_negative_n", lambda: C(lib.pa_cat, -1, H(t(2)), 0), ValueError, "cat: expected a non-empty list"),
    ("c_cat_0d", lambda: C(lib.pa_cat, 2, H(torch.tensor(1.0), torch.tensor(1.0)), 0), ValueError,
     "cat: zero-dimensional tensor .*cannot be concatenated"),
    ("c_stack_ndim8", lambda: C(lib.pa_stack, 1, H(t(*[1] * 8)), 0), ValueError, "at most 8 dims"),
    ("c_index_select_float", lambda: C(lib.pa_index_select, t(3, 2)._h, 0, torch.tensor([0.0])._h), TypeError,
     "index_select: index must be an int64 tensor, got float32"),
    ("c_index_select_2d", lambda: C(lib.pa_index_select, t(3, 2)._h, 0, torch.tensor([[0]])._h), ValueError,
     "index_select: index must be 1-d, got 2 dims"),
    ("c_index_select_negative", lambda: C(lib.pa_index_select, t(3, 2)._h, 0, torch.tensor([-4])._h), IndexError,
     "index_select: index -4 is out of bounds for dimension with size 3"),
    ("c_gather_rows_mismatch", lambda: S(lib.pa_gather_rows, 2, H(t(3, 2), t(4)), torch.tensor([0])._h, ffi.new("pa_tensor *[2]")),
     ValueError, "gather_rows: tensor 1 has 4 rows, tensor 0 has 3"),
    ("c_gather_rows_oob", lambda: S(lib.pa_gather_rows, 1, H(t(3, 2)), torch.tensor([5])._h, ffi.new("pa_tensor *[1]")),
     IndexError, "gather_rows: index 5 is out of bounds"),
    ("c_gather_ndim", lambda: C(lib.pa_gather, t(3, 2)._h, 1, torch.tensor([0])._h), ValueError,
     r"gather: index \(1,\) and input \(3, 2\) must have the same number of dimensions"),
    ("c_gather_oob", lambda: C(lib.pa_gather, t(3, 2)._h, 1, torch.tensor([[0], [2], [0]])._h), IndexError,
     "gather: index 2 is out of bounds for dimension 1 with size 2"),
    # ---- C API: reductions, nn ops ---------------------------------------------------
    ("c_sum_ndims9", lambda: C(lib.pa_sum, t(2, 3)._h, 9, I(*range(9)), 0), IndexError, "sum: dimension out of range"),
    ("c_sum_huge_dim", lambda: C(lib.pa_sum, t(2, 3)._h, 1, I(2**62), 0), IndexError, "got 4611686018427387904"),
    ("c_max_empty", lambda: S(lib.pa_max, t(0)._h, 0, 0, 0, ffi.new("pa_tensor *[1]"), ffi.new("pa_tensor *[1]")), IndexError,
     "max: expected reduction dim 0 to have non-zero size"),
    ("c_logsumexp_int", lambda: C(lib.pa_logsumexp, torch.arange(3)._h, 0, ffi.NULL, 0), TypeError,
     "logsumexp: expected a floating-point tensor, got int64"),
    ("c_softmax_dim", lambda: C(lib.pa_softmax, t(2)._h, 1), IndexError, r"softmax: dimension out of range .*got 1"),
    ("c_xent_reduction", lambda: C(lib.pa_cross_entropy, t(4, 3)._h, torch.tensor([0, 1, 2, 0])._h, ffi.NULL, 7, -100, 0.0),
     ValueError, "cross_entropy: unknown reduction code 7"),
    ("c_xent_smoothing_nan", lambda: C(lib.pa_cross_entropy, t(4, 3)._h, torch.tensor([0, 1, 2, 0])._h, ffi.NULL, 1, -100,
                                       float("nan")), ValueError, "label_smoothing must be between 0.0 and 1.0"),
    ("c_xent_zero_classes", lambda: C(lib.pa_cross_entropy, t(2, 0)._h, torch.tensor([0, 0])._h, ffi.NULL, 1, -100, 0.0),
     IndexError, "target 0 is out of bounds for 0 classes"),
    ("c_matmul_bool", lambda: C(lib.pa_matmul, t(2, 2, dtype=torch.bool)._h, t(2, 2, dtype=torch.bool)._h), TypeError,
     "matmul: not implemented for bool"),
    ("c_linear_bias", lambda: C(lib.pa_linear, t(2, 3)._h, t(4, 3)._h, t(5)._h), ValueError,
     r"linear: bias of shape \(5,\) .*does not match out_features 4"),
    ("c_linear_weight_1d", lambda: C(lib.pa_linear, t(2, 3)._h, t(3)._h, ffi.NULL), ValueError, r"linear: weight must be 2-d .*got shape \(3,\)"),
    ("c_conv_stride", lambda: C(lib.pa_conv2d, t(1, 2, 5, 5)._h, t(3, 2, 3, 3)._h, ffi.NULL, 0, 1, 0, 0, 1, 1, 1), ValueError,
     r"conv2d: stride must be positive, got \(0, 1\)"),
    ("c_conv_groups", lambda: C(lib.pa_conv2d, t(1, 2, 5, 5)._h, t(3, 2, 3, 3)._h, ffi.NULL, 1, 1, 0, 0, 1, 1, -2), ValueError,
     "conv2d: groups must be positive, got -2"),
    ("c_conv_padding_overflow", lambda: C(lib.pa_conv2d, t(1, 2, 5, 5)._h, t(3, 2, 3, 3)._h, ffi.NULL, 1, 1, 2**62, 2**62, 1, 1, 1),
     (ValueError, MemoryError), "conv2d"),
    ("c_conv_huge_groups", lambda: C(lib.pa_conv2d, t(1, 2, 5, 5)._h, t(3, 2, 3, 3)._h, ffi.NULL, 1, 1, 0, 0, 1, 1, 2**62),
     ValueError, "conv2d: stride, padding, dilation and groups must be at most 2147483647, got 4611686018427387904"),
    ("c_conv_pad_oom", lambda: C(lib.pa_conv2d, t(1, 2, 5, 5)._h, t(3, 2, 3, 3)._h, ffi.NULL, 1, 1, 100000, 100000, 1, 1, 1),
     MemoryError, "out of memory allocating"),
    ("c_maxpool_kernel", lambda: _pool(lib.pa_max_pool2d, t(1, 2, 5, 5), 0, 2, 2, 2, 0, 0, 1, 1, 0), ValueError,
     r"max_pool2d: kernel_size must be positive, got \(0, 2\)"),
    ("c_maxpool_huge_kernel", lambda: _pool(lib.pa_max_pool2d, t(1, 2, 5, 5), 2**62, 2, 1, 1, 0, 0, 1, 1, 0), ValueError,
     "max_pool2d: kernel_size, stride, padding and dilation must be at most 2147483647"),
    ("c_maxpool_huge_dilation", lambda: _pool(lib.pa_max_pool2d, t(1, 2, 5, 5), 2, 2, 1, 1, 0, 0, 2**62, 1, 0), ValueError,
     r"max_pool2d: kernel_size, stride, padding and dilation must be at most 2147483647"),
    ("c_avgpool_divisor", lambda: C(lib.pa_avg_pool2d, t(1, 2, 5, 5)._h, 2, 2, 2, 2, 0, 0, 0, 1, -3), ValueError,
     "avg_pool2d: divisor_override must be positive, got -3"),
    ("c_adaptive_negative", lambda: C(lib.pa_adaptive_avg_pool2d, t(1, 2, 5, 5)._h, -1, 3), ValueError,
     r"adaptive_avg_pool2d: output_size must be in \[1, 2147483647\], got \(-1, 3\)"),
    ("c_adaptive_oom", lambda: C(lib.pa_adaptive_avg_pool2d, t(1, 1, 2, 2)._h, 2**20, 2**20), MemoryError, "out of memory"),
    ("c_batch_norm_eps", lambda: C(lib.pa_batch_norm, t(4, 3)._h, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 1, 0.1, -1.0), ValueError,
     "batch_norm: eps must be positive .*eps=-1"),
    ("c_batch_norm_running_dtype", lambda: C(lib.pa_batch_norm, t(4, 3)._h, t(3, dtype=torch.float64)._h,
                                             t(3, dtype=torch.float64)._h, ffi.NULL, ffi.NULL, 1, 0.1, 1e-5), TypeError,
     "batch_norm: expected running_mean to have dtype float32"),
    ("c_batch_norm_eval_no_stats", lambda: C(lib.pa_batch_norm, t(4, 3)._h, ffi.NULL, ffi.NULL, ffi.NULL, ffi.NULL, 0, 0.1, 1e-5),
     ValueError, "running_mean and running_var must be defined in evaluation mode"),
    ("c_layer_norm_ndims", lambda: C(lib.pa_layer_norm, t(2, 3)._h, 9, I(*[1] * 9), ffi.NULL, ffi.NULL, 1e-5), ValueError,
     "layer_norm: normalized_shape must have between 1 and 2 dims .*got 9"),
    ("c_layer_norm_negative", lambda: C(lib.pa_layer_norm, t(2, 3)._h, -1, I(0), ffi.NULL, ffi.NULL, 1e-5), ValueError, "got -1"),
    ("c_dropout_nan", lambda: C(lib.pa_dropout, t(2, 3)._h, float("nan"), 1), ValueError, "dropout: probability has to be between 0 and 1, but got nan"),
    ("c_embedding_padding", lambda: C(lib.pa_embedding, torch.tensor([0])._h, t(5, 2)._h, 1, 7), ValueError,
     "embedding: padding_idx 7 must be within num_embeddings 5"),
    ("c_embedding_ndim", lambda: C(lib.pa_embedding, t(*[1] * 8, dtype=L64)._h, t(5, 2)._h, 0, 0), ValueError,
     "embedding: indices of shape .* have too many dims"),
    ("c_leaky_relu_bool", lambda: C(lib.pa_leaky_relu, t(2, dtype=torch.bool)._h, 0.1), TypeError, "leaky_relu: expected input to be float32 or float64, got bool"),
    # ---- C API: autograd and optimizers ----------------------------------------------
    ("c_requires_grad_int", lambda: S(lib.pa_set_requires_grad, t(3, dtype=L64)._h, 1), RuntimeError,
     "requires_grad_: only Tensors of floating point dtype can require gradients, got int64"),
    ("c_set_grad_dtype", lambda: S(lib.pa_set_grad, t(3)._h, t(3, dtype=torch.float64)._h), ValueError,
     r"grad: assigned grad of shape \(3,\) and dtype float64 does not match"),
    ("c_backward_grad_shape", lambda: S(lib.pa_backward, (torch.ones(3, requires_grad=True) * 2)._h, t(2)._h, 0), ValueError,
     r"backward: gradient of shape \(2,\) does not match the output's shape \(3,\)"),
    ("c_grad_no_inputs", lambda: S(lib.pa_grad, 0, H(t(1)), ffi.NULL, 1, H(t(1)), 0, 0, ffi.new("pa_tensor *[1]")), ValueError,
     "grad: needs at least one output and one input"),
    ("c_custom_function_negative", lambda: S(lib.pa_custom_function, -1, H(t(1)), t(3)._h, ffi.NULL, ffi.NULL, ffi.NULL), ValueError,
     "Function.apply: negative number of inputs"),
    ("c_sgd_buffer_shape", lambda: S(lib.pa_sgd_step, 1, H(_sgd_with_grad()), H(t(2)), 0.1, 0.9, 0, 0, 0, 0, 0), ValueError,
     r"sgd: state buffer of parameter 0 \(shape \(2,\), float32\) does not match the parameter \(shape \(3,\), float32\)"),
    ("c_sgd_no_buffers", lambda: S(lib.pa_sgd_step, 1, H(_sgd_with_grad()), ffi.NULL, 0.1, 0.9, 0, 0, 0, 0, 0), ValueError,
     "sgd: momentum 0.9 needs momentum buffers"),
    ("c_adam_step0", lambda: S(lib.pa_adam_step, 1, H(_sgd_with_grad()), H(torch.zeros(3)), H(torch.zeros(3)), ffi.NULL,
                               ffi.new("double[]", [0.0]), 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, 0), ValueError,
     "adam: step count 0 of parameter 0 must be >= 1"),
    ("c_adam_betas", lambda: S(lib.pa_adam_step, 1, H(_sgd_with_grad()), H(torch.zeros(3)), H(torch.zeros(3)), ffi.NULL,
                               ffi.new("double[]", [1.0]), 0.1, 1.5, 0.999, 1e-8, 0, 0, 0, 0), ValueError,
     r"adam: betas \(1.5, 0.999\) must be in \[0, 1\)"),
    ("c_adam_no_steps", lambda: S(lib.pa_adam_step, 1, H(_sgd_with_grad()), H(torch.zeros(3)), H(torch.zeros(3)), ffi.NULL,
                                  ffi.NULL, 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, 0), ValueError, "adam: step counts are required"),
    ("c_rmsprop_centered", lambda: S(lib.pa_rmsprop_step, 1, H(_sgd_with_grad()), H(torch.zeros(3)), ffi.NULL, ffi.NULL,
                                     0.1, 0.99, 1e-8, 0, 0, 1, 0), ValueError, "rmsprop: centered needs grad_avg buffers"),
    ("c_adagrad_buffer", lambda: S(lib.pa_adagrad_step, 1, H(_sgd_with_grad()), H(torch.zeros(4)), ffi.new("double[]", [1.0]),
                                   0.1, 0, 0, 1e-10, 0), ValueError, r"adagrad: state buffer of parameter 0 \(shape \(4,\), float32\)"),
    # ---- Python API ------------------------------------------------------------------
    ("py_two_ellipses", lambda: t(3, 4)[..., ..., 0], IndexError, "an index can only have a single ellipsis"),
    ("py_float_index", lambda: t(3, 4)[1.5], TypeError, "index of type float is not supported"),
    ("py_negative_step", lambda: t(3, 4)[::-1], ValueError, "step must be greater than zero"),
    ("py_float_index_tensor", lambda: t(3, 4)[torch.tensor([0.5])], IndexError, "tensors used as indices must be int64 or bool"),
    ("py_mask_shape", lambda: t(3, 4)[torch.ones(3, 4, 5, dtype=torch.bool)], IndexError, r"the shape of the mask \(3, 4, 5\)"),
    ("py_list_index_oob", lambda: t(3, 4)[[0, 7]], IndexError, "index 7 is out of bounds for dimension with size 3"),
    ("py_negative_index_oob", lambda: t(3, 4)[-4], IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    ("py_second_dim_oob", lambda: t(3, 4)[:, 4], IndexError, "index 4 is out of bounds for dimension 1 with size 4"),
    ("py_setitem_shape", lambda: t(3, 4).__setitem__(0, t(5)), ValueError, r"copy_: source of shape \(5,\) cannot be broadcast to \(4,\)"),
    ("py_setitem_str", lambda: t(3, 4).__setitem__(0, "a"), TypeError, "expected a Tensor or a number, got str"),
    ("py_max_dim", lambda: t(3, 4).max(dim=2), IndexError, r"max: dimension out of range .*got 2"),
    ("py_argmax_empty", lambda: t(0).argmax(), IndexError, "expected reduction dim 0 to have non-zero size"),
    ("py_var_dim", lambda: t(3, 4).var(dim=7), IndexError, "dimension out of range"),
    ("py_logsumexp_dims", lambda: t(3, 4).logsumexp(dim=(0, 9)), IndexError, r"logsumexp: dimension out of range .*got 9"),
    ("py_mean_bool", lambda: t(3, dtype=torch.bool).mean(), TypeError, "mean: could not infer output dtype.*bool"),
    ("py_softmax_int", lambda: torch.arange(3).softmax(0), TypeError, "softmax: expected a floating-point tensor, got int64"),
    ("py_softmax_no_dim", lambda: F.softmax(t(3)), TypeError, "softmax: dim must be given"),
    ("py_matmul_int", lambda: t(2, 2, dtype=L64) @ t(2, 2, dtype=L64), TypeError, "matmul: not implemented for int64"),
    ("py_xent_bool_target", lambda: F.cross_entropy(t(4, 3), torch.tensor([True, False, True, False])), TypeError,
     "cross_entropy: expected int64 class indices as target, got bool"),
    ("py_xent_int_logits", lambda: F.cross_entropy(t(4, 3, dtype=L64), torch.tensor([0, 1, 2, 0])), TypeError,
     "cross_entropy: expected floating-point logits, got int64"),
    ("py_xent_weight", lambda: F.cross_entropy(t(4, 3), torch.tensor([0, 1, 2, 0]), weight=t(4)), ValueError,
     r"cross_entropy: weight of shape \(4,\)"),
    ("py_xent_smoothing", lambda: F.cross_entropy(t(4, 3), torch.tensor([0, 1, 2, 0]), label_smoothing=2.0), ValueError,
     "label_smoothing must be between 0.0 and 1.0, got 2"),
    ("py_xent_list_target", lambda: F.cross_entropy(t(4, 3), [0, 1, 2, 0]), TypeError, "argument 'target' must be a Tensor, not list"),
    ("py_xent_spatial", lambda: F.cross_entropy(t(2, 3, 4), torch.zeros(2, 5, dtype=L64)), ValueError,
     r"cross_entropy: input of shape \(2, 3, 4\) and target of shape \(2, 5\)"),
    ("py_mse_shape", lambda: F.mse_loss(t(4, 3), t(3, 4)), ValueError, r"sub: shapes \(4, 3\) and \(3, 4\)"),
    ("py_l1_number", lambda: F.l1_loss(t(4, 3), 1.0), TypeError, "l1_loss: argument 'target' must be a Tensor, not float"),
    ("py_nll_oob", lambda: F.nll_loss(t(4, 3), torch.tensor([0, 1, 2, 5])), IndexError, "nll_loss: target 5 is out of bounds for 3 classes"),
    ("py_nll_float_target", lambda: F.nll_loss(t(4, 3), torch.tensor([0.0, 1, 2, 0])), TypeError, "nll_loss: target must be an int64"),
    ("py_nll_weight", lambda: F.nll_loss(t(4, 3), torch.tensor([0, 1, 2, 0]), weight=t(2)), ValueError,
     r"nll_loss: weight of shape \(2,\) should have one entry per class \(3\)"),
    ("py_bce_range", lambda: F.binary_cross_entropy(t(4, 3) * 2, t(4, 3)), ValueError,
     r"binary_cross_entropy: all elements of input should be between 0 and 1 \(12 are not\)"),
    ("py_huber_delta", lambda: F.huber_loss(t(2), t(2), delta=0), ValueError, "huber_loss: delta must be positive, got 0"),
    ("py_loss_module_reduction", lambda: nn.CrossEntropyLoss(reduction="bogus")(t(4, 3), torch.tensor([0, 1, 2, 0])), ValueError,
     "CrossEntropyLoss: 'bogus' is not a valid value for reduction"),
    ("py_conv_padding_string", lambda: F.conv2d(t(1, 2, 5, 5), t(3, 2, 3, 3), padding="full"), ValueError, "conv2d: invalid padding string 'full'"),
    ("py_conv_stride_type", lambda: F.conv2d(t(1, 2, 5, 5), t(3, 2, 3, 3), stride=1.5), TypeError, "conv2d: stride must be an int or a pair of ints"),
    ("py_conv_kernel_big", lambda: F.conv2d(t(1, 2, 5, 5), t(3, 2, 7, 7)), ValueError,
     r"conv2d: padded input size per channel \(5 x 5\) is smaller than the dilated kernel size \(7 x 7\)"),
    ("py_maxpool_rank", lambda: F.max_pool2d(t(5, 5), 2), ValueError, r"max_pool2d: expected a 3-d .*got shape \(5, 5\)"),
    ("py_avgpool_divisor", lambda: F.avg_pool2d(t(1, 1, 4, 4), 2, divisor_override=0), ValueError, "avg_pool2d: divisor must be not zero"),
    ("py_adaptive_zero", lambda: F.adaptive_avg_pool2d(t(1, 2, 5, 5), 0), ValueError, r"adaptive_avg_pool2d: output_size must be in \[1, 2147483647\], got \(0, 0\)"),
    ("py_batch_norm_one_value", lambda: F.batch_norm(t(1, 3), None, None, training=True), ValueError,
     "batch_norm: expected more than 1 value per channel when training"),
    ("py_layer_norm_shape", lambda: F.layer_norm(t(2, 3), (4,)), ValueError,
     r"layer_norm: normalized_shape \(4,\) does not match the last dims of the input of shape \(2, 3\)"),
    ("py_dropout_p", lambda: F.dropout(t(3), p=1.5), ValueError, "dropout probability has to be between 0 and 1, but got 1.5"),
    ("py_embedding_oob", lambda: F.embedding(torch.tensor([5]), t(5, 2)), IndexError, "embedding: index 5 is out of range for 5 embeddings"),
    ("py_embedding_negative", lambda: F.embedding(torch.tensor([-1]), t(5, 2)), IndexError, "embedding: index -1 is out of range"),
    ("py_embedding_float", lambda: F.embedding(torch.tensor([0.0]), t(5, 2)), TypeError, "embedding: expected int64 indices, got float32"),
    ("py_gelu_approx", lambda: F.gelu(t(2), approximate="fast"), ValueError, "gelu: approximate must be 'none' or 'tanh', got 'fast'"),
    ("py_to_device", lambda: t(2).to("cuda"), ValueError, "to: only the 'cpu' device exists in pyautodiff, got 'cuda'"),
    ("py_unknown_dtype", lambda: t(2).to(dtype="complex64"), TypeError, "unsupported dtype 'complex64'"),
    ("py_tensor_str", lambda: torch.tensor(["a", "b"]), TypeError, "tensor: cannot make a tensor from data of NumPy dtype"),
    ("py_from_numpy_negative_strides", lambda: torch.from_numpy(np.arange(4.0)[::-1]), ValueError,
     "from_numpy: arrays with negative or unaligned strides are not supported"),
    ("py_flatten_dims", lambda: t(2, 3, 4).flatten(2, 0), ValueError, "flatten: start_dim 2 comes after end_dim 0"),
    ("py_t_3d", lambda: t(2, 3, 4).t(), ValueError, r"t: expects a tensor with <= 2 dimensions, but self is 3D"),
    ("py_view_dtype", lambda: t(2).view(torch.float64), NotImplementedError, r"view\(dtype\) is not supported"),
    ("py_len_0d", lambda: len(torch.tensor(1.0)), TypeError, "len\\(\\) of a 0-d tensor"),
    ("py_bool_ambiguous", lambda: bool(t(3)), RuntimeError, "Boolean value of Tensor with 3 elements is ambiguous"),
    ("py_index_float_tensor", lambda: [0, 1][torch.tensor(1.0)], TypeError, "only integer tensors of a single element"),
    ("py_pickle", lambda: __import__("pickle").dumps(t(2)), TypeError, "pyautodiff tensors are not picklable"),
    ("py_num_threads", lambda: torch.set_num_threads(0), ValueError, "set_num_threads: expected a positive number of threads, got 0"),
    ("py_create_graph", lambda: (torch.ones(2, requires_grad=True) * 2).sum().backward(create_graph=True), NotImplementedError,
     "create_graph=True"),
    ("py_grad_assign_type", lambda: setattr(torch.ones(2, requires_grad=True), "grad", [1.0, 2.0]), TypeError,
     "assigned grad expected to be a Tensor or None but got list"),
    ("py_randint_no_size", lambda: torch.randint(0, 10), TypeError, "randint: size is required"),
    # ---- optimizers, state dicts, checkpoints ----------------------------------------
    ("opt_adam_beta", lambda: optim.Adam([nn.Parameter(t(3))], betas=(1.0, 0.9)), ValueError, "Invalid beta parameter at index 0: 1.0"),
    ("opt_adam_eps", lambda: optim.Adam([nn.Parameter(t(3))], eps=-1), ValueError, "Invalid epsilon value: -1"),
    ("opt_rmsprop_alpha", lambda: optim.RMSprop([nn.Parameter(t(3))], alpha=-1), ValueError, "Invalid alpha value: -1"),
    ("opt_adagrad_lr_decay", lambda: optim.Adagrad([nn.Parameter(t(3))], lr_decay=-1), ValueError, "Invalid lr_decay value: -1"),
    ("opt_empty", lambda: optim.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
    ("opt_tensor_params", lambda: optim.SGD(nn.Parameter(t(3)), lr=0.1), TypeError, "params argument given to the optimizer should be an iterable"),
    ("opt_int_param", lambda: optim.SGD([nn.Parameter(t(3)), 3], lr=0.1), TypeError, "optimizer can only optimize Tensors, but one of the params is int"),
    ("opt_no_lr", lambda: optim.SGD([nn.Parameter(t(3))]), ValueError, "didn't specify a value of required optimization parameter lr"),
    ("opt_non_leaf", lambda: optim.SGD([nn.Parameter(t(3)) * 2], lr=0.1), ValueError, "can't optimize a non-leaf Tensor"),
    ("opt_duplicate_groups", lambda: (lambda p: optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1))(nn.Parameter(t(3))), ValueError,
     "some parameters appear in more than one parameter group"),
    ("opt_state_groups", lambda: optim.SGD([nn.Parameter(t(3))], lr=0.1).load_state_dict({"state": {}, "param_groups": []}), ValueError,
     "different number of parameter groups"),
    ("opt_state_group_size", lambda: optim.SGD([nn.Parameter(t(3))], lr=0.1).load_state_dict(
        {"state": {}, "param_groups": [{"params": [0, 1]}]}), ValueError, "doesn't match the size of optimizer's group"),
    ("sched_not_optimizer", lambda: optim.lr_scheduler.StepLR(3, step_size=1), TypeError, "int is not an Optimizer"),
    ("module_missing_keys", lambda: nn.Linear(3, 2).load_state_dict({}), RuntimeError, "Missing key\\(s\\) in state_dict: \"weight\", \"bias\""),
    ("module_size_mismatch", lambda: nn.Linear(3, 2).load_state_dict({"weight": t(3, 3), "bias": t(2)}), RuntimeError,
     r"size mismatch for weight: copying a param with shape \(3, 3\)"),
    ("module_unexpected_key", lambda: nn.Linear(3, 2).load_state_dict({"weight": t(2, 3), "bias": t(2), "extra": t(1)}), RuntimeError,
     "Unexpected key\\(s\\) in state_dict: \"extra\""),
    ("ckpt_empty", lambda: _load_bytes(b""), ValueError, "not a valid safetensors file: it has 0 bytes"),
    ("ckpt_header_len", lambda: _load_bytes(struct.pack("<Q", 10**12) + b"{}"), ValueError, "the header length 1000000000000 is larger"),
    ("ckpt_not_object", lambda: _load_bytes(struct.pack("<Q", 2) + b"[]"), ValueError, "the header is not a JSON object"),
    ("ckpt_bad_json", lambda: _load_bytes(struct.pack("<Q", 3) + b"{x}"), ValueError, "the header is not valid JSON"),
    ("ckpt_offsets", lambda: _load_bytes(_safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4)),
     ValueError, r"tensor 'a' has data offsets \[0, 8\] outside the 4 bytes of data"),
    ("ckpt_dtype", lambda: _load_bytes(_safetensors({"a": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4)),
     ValueError, "tensor 'a' has an unknown dtype 'Q9'"),
    ("ckpt_bf16", lambda: _load_bytes(_safetensors({"a": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"\0" * 2)),
     ValueError, "tensor 'a' has dtype BF16, which pyautodiff cannot hold"),
    ("ckpt_negative_shape", lambda: _load_bytes(_safetensors({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4)),
     ValueError, r"tensor 'a' has an invalid shape \[-1\]"),
    ("ckpt_ndim9", lambda: _load_bytes(_safetensors({"a": {"dtype": "F32", "shape": [1] * 9, "data_offsets": [0, 4]}}, b"\0" * 4)),
     ValueError, "tensor 'a' has 9 dims, more than the 8"),
    ("ckpt_size_mismatch", lambda: _load_bytes(_safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 4]}}, b"\0" * 4)),
     ValueError, r"tensor 'a' of dtype F32 and shape \[3\] needs 12 bytes"),
    ("ckpt_structure", lambda: _load_bytes(_safetensors({"__metadata__": {"pyautodiff.structure": '{"version":1,"tree":{"t":"zz"}}'}})),
     ValueError, "the structure refers to a tensor 'zz' that the file does not hold"),
    ("ckpt_save_type", lambda: torch.save({"f": object()}, io.BytesIO()), TypeError, "save: cannot store a value of type object"),
]


def _library_still_works():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]
    y = torch.ones(3, 4).t().contiguous() @ torch.ones(3, 2)
    assert y.shape == (4, 2) and y.sum().item() == 24.0


@pytest.mark.parametrize("name,call,exc,pattern", BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
def test_hostile_call_raises(name, call, exc, pattern):
    lib.pa_clear_error()
    with pytest.raises(exc, match=pattern):
        call()
    _KEEP.clear()
    _library_still_works()


def test_battery_is_large_and_distinct():
    names = [b[0] for b in BAD_CALLS]
    assert len(names) == len(set(names)) and len(names) >= 60


def test_no_leak_after_hostile_calls():
    """Failing calls release whatever they built."""
    before = lib.pa_live_tensors()
    for name, call, exc, _ in BAD_CALLS:
        if name.startswith("c_"):
            with pytest.raises(exc):
                call()
    _KEEP.clear()
    import gc

    gc.collect()
    assert lib.pa_live_tensors() <= before + 4


# ---- core bugs, run in a subprocess so a crash cannot kill pytest ----------------------
_PRELUDE = """
import numpy as np
import pyautodiff as torch
import pyautodiff.nn.functional as F
from pyautodiff._ffi import ffi, lib, check
"""


def _isolated(code, expect):
    """Runs `code` in a fresh interpreter: it must exit normally and print `expect`.  It runs
    in a temporary directory, so the installed package is imported, not the source tree."""
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run([sys.executable, "-c", _PRELUDE + textwrap.dedent(code)], capture_output=True,
                              text=True, timeout=120, cwd=cwd)
    assert proc.returncode == 0, f"crashed with status {proc.returncode}: {proc.stderr[-800:]}"
    assert expect in proc.stdout, proc.stdout + proc.stderr[-800:]


_RAISES = """
try:
    {call}
except ({exc}) as e:
    print("RAISED", type(e).__name__, e)
else:
    print("NO ERROR")
"""


def _raises_isolated(call, exc="ValueError, MemoryError, IndexError, RuntimeError, TypeError", setup=""):
    _isolated(setup + _RAISES.format(call=call, exc=exc), "RAISED")


def test_isolated_harness_sees_errors():
    _raises_isolated("torch.ones(2) + torch.ones(3)")


def test_expand_numel_overflow_is_rejected():
    _raises_isolated("torch.ones(1, 3).expand(2**62, 3).sum()")


def test_expand_numel_overflow_silent_sum():
    _raises_isolated("print(torch.ones(1, 1).expand(2**32, 2**32).sum())")


def test_conv2d_dilation_overflow():
    _raises_isolated("print(F.conv2d(torch.ones(1, 2, 5, 5), torch.ones(3, 2, 3, 3), dilation=(2**62, 1)).shape)")


def test_adaptive_avg_pool_huge_output():
    _raises_isolated("F.adaptive_avg_pool2d(torch.ones(1, 2, 5, 5), (2**62, 3))")


def test_slice_huge_step():
    _isolated("print('SHAPE', tuple(torch.ones(5)[::2**63 - 1].shape))", "SHAPE (1,)")


def test_grad_assigned_to_itself():
    _raises_isolated("x = torch.ones(3, requires_grad=True); x.grad = x")


@pytest.mark.parametrize("call", [
    "check(lib.pa_sum(torch.ones(2, 3)._h, 1, ffi.NULL, 0, ffi.new('pa_tensor *[1]')))",
    "check(lib.pa_binary(0, torch.ones(3)._h, ffi.NULL, ffi.new('pa_tensor *[1]')))",
    "check(lib.pa_to_contiguous_buffer(torch.ones(3)._h, ffi.NULL, 12))",
    "check(lib.pa_gemm(1, 0, 0, 2, 2, 2, 1.0, ffi.NULL, 2, 4, ffi.NULL, 2, 4, 0.0, ffi.NULL, 2, 4))",
    "check(lib.pa_layer_norm(torch.ones(2, 3)._h, 1, ffi.NULL, ffi.NULL, ffi.NULL, 1e-5, ffi.new('pa_tensor *[1]')))",
    "check(lib.pa_empty(1, ffi.new('int64_t[]', [3]), 0, ffi.NULL))",
], ids=["sum_dims", "binary_operand", "to_buffer", "gemm", "layer_norm_shape", "empty_out"])
def test_null_pointer_arguments(call):
    _raises_isolated(call)


def test_custom_function_null_backward():
    _raises_isolated("check(lib.pa_custom_function(1, ffi.new('pa_tensor *[]', [a._h]), o._h, ffi.NULL, "
                     "ffi.NULL, ffi.NULL)); o.sum().backward()",
                     setup="a = torch.ones(3, requires_grad=True); o = torch.ones(3)\n")


@pytest.mark.parametrize("call", [
    "check(lib.pa_sum(torch.ones(2, 3)._h, -1, ffi.new('int64_t[]', [0]), 0, ffi.new('pa_tensor *[1]')))",
    "check(lib.pa_gather_rows(-1, ffi.new('pa_tensor *[1]'), torch.tensor([0])._h, ffi.new('pa_tensor *[1]')))",
    "check(lib.pa_sgd_step(-1, ffi.new('pa_tensor *[1]'), ffi.NULL, 0.1, 0, 0, 0, 0, 0, 0))",
], ids=["sum", "gather_rows", "sgd"])
def test_negative_counts(call):
    _raises_isolated(call)


def test_arange_too_many_elements_message():
    _isolated("""\
try:
    torch.arange(0, 1e18, 1e-3)
except Exception as e:
    print(type(e).__name__, e)""", "arange")


def test_sgd_buffer_dtype_message():
    _isolated("""\
p = torch.nn.Parameter(torch.ones(3)); p.grad = torch.ones(3)
buf = torch.zeros(3, dtype=torch.float64)
try:
    check(lib.pa_sgd_step(1, ffi.new('pa_tensor *[]', [p._h]), ffi.new('pa_tensor *[]', [buf._h]), 0.1, 0.9, 0, 0, 0, 0, 0))
except Exception as e:
    print(type(e).__name__, e)""", "float64")
