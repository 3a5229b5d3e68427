"""The index family in C (csrc/ops/index.c): gather, scatter, scatter_add, index_add,
index_copy, index_fill and the setitem paths that use them, against PyTorch (values,
repeated indices, strided inputs, in-place forms), their errors, their gradients
(float64 finite differences) and thread-count determinism."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck

RNG = np.random.default_rng(7)
X = RNG.standard_normal((5, 6, 7))
SRC = RNG.standard_normal((5, 6, 7))


def both(pt, fn):
    """fn(library, x, src) with pyautodiff and with PyTorch (float64), as NumPy arrays."""
    ours = fn(torch, torch.tensor(X), torch.tensor(SRC))
    theirs = fn(pt, pt.tensor(X), pt.tensor(SRC))
    return ours.numpy(), theirs.numpy()


def _idx(shape, high, seed=0):
    return np.random.default_rng(seed).integers(0, high, shape)


def _perm(shape, dim, seed=0):
    return np.argsort(np.random.default_rng(seed).random(shape), axis=dim)[tuple(
        slice(0, n) for n in shape)]


VALUES = [
    ("gather_d0", lambda T, x, s: x.gather(0, T.tensor(_idx((3, 6, 7), 5)))),
    ("gather_d1_small", lambda T, x, s: x.gather(1, T.tensor(_idx((5, 2, 4), 6)))),
    ("gather_d2_transposed", lambda T, x, s: x.transpose(0, 2).gather(2, T.tensor(_idx((7, 6, 9), 5)))),
    ("scatter_add_d0_dup", lambda T, x, s: x.scatter_add(0, T.tensor(_idx((9, 6, 7), 5)), s.repeat(2, 1, 1))),
    ("scatter_add_d1_dup", lambda T, x, s: x.scatter_add(1, T.tensor(_idx((5, 12, 3), 6)), s.repeat(1, 2, 1))),
    ("scatter_add_d2_strided", lambda T, x, s: x.transpose(0, 1).scatter_add(2, T.tensor(_idx((6, 5, 10), 7)),
                                                                            s.transpose(0, 1).repeat(1, 1, 2))),
    ("scatter_d1_perm", lambda T, x, s: x.scatter(1, T.tensor(_perm((5, 6, 7), 1)), s)),
    ("scatter_d0_perm_part", lambda T, x, s: x.scatter(0, T.tensor(_perm((5, 6, 7), 0)[:3, :4]), s)),
    ("scatter_value", lambda T, x, s: x.scatter(2, T.tensor(_perm((5, 6, 7), 2)[:, :, :2]), -1.5)),
    ("index_add_d0_dup", lambda T, x, s: x.index_add(0, T.tensor([4, 0, 4, 4]), s[:4], alpha=-2)),
    ("index_add_d2", lambda T, x, s: x.index_add(2, T.tensor([6, 1, 1]), s[:, :, :3])),
    ("index_add_strided", lambda T, x, s: x.transpose(0, 2).index_add(1, T.tensor([5, 0]), s.transpose(0, 2)[:, :2])),
    ("index_copy_d1", lambda T, x, s: x.index_copy(1, T.tensor([5, 0, 3]), s[:, :3])),
    ("index_fill_d2_negative", lambda T, x, s: x.index_fill(2, T.tensor([-1, 0, 2]), 3.5)),
    ("index_add_1d", lambda T, x, s: x.reshape(-1).index_add(0, T.tensor(_idx((500,), 210)), s.reshape(-1).repeat(3)[:500])),
    ("scatter_add_1d_bins", lambda T, x, s: T.zeros(17, dtype=T.float64).scatter_add(
        0, T.tensor(_idx((210,), 17)), s.reshape(-1))),
]


@pytest.mark.parametrize("name,fn", VALUES, ids=[v[0] for v in VALUES])
def test_values_match_pytorch(name, fn, pt):
    ours, theirs = both(pt, fn)
    np.testing.assert_array_equal(ours, theirs)  # same order of additions: same bits


def test_float32_scatter_add_bits_match_pytorch_and_thread_counts(pt):
    x = RNG.standard_normal((64, 300)).astype(np.float32)
    idx = _idx((64, 300), 7, seed=3)
    want = pt.zeros(64, 7).scatter_add(1, pt.tensor(idx), pt.tensor(x)).numpy()
    for dim_case in range(2):
        results = []
        for threads in (1, 2, 4):
            torch.set_num_threads(threads)
            if dim_case == 0:
                results.append(torch.zeros(64, 7).scatter_add(1, torch.tensor(idx), torch.tensor(x)).numpy())
            else:
                results.append(torch.zeros(7, 64).scatter_add(0, torch.tensor(idx.T.copy()),
                                                              torch.tensor(x.T.copy())).numpy().T)
        torch.set_num_threads(2)
        for r in results:
            np.testing.assert_array_equal(r, want)


INPLACE = [
    ("scatter_", lambda T, x, s: x.scatter_(1, T.tensor(_perm((5, 6, 7), 1)[:, :3]), s)),
    ("scatter_value_", lambda T, x, s: x.scatter_(0, T.tensor(_idx((2, 6, 7), 5)), 2.0)),
    ("scatter_add_", lambda T, x, s: x.scatter_add_(2, T.tensor(_idx((5, 6, 9), 7)), s.repeat(1, 1, 2))),
    ("index_add_", lambda T, x, s: x.index_add_(1, T.tensor([0, 0, 5]), s[:, :3], alpha=3)),
    ("index_copy_", lambda T, x, s: x.index_copy_(0, T.tensor([3, 1]), s[:2])),
    ("index_fill_", lambda T, x, s: x.index_fill_(1, T.tensor([2, -6]), -1.0)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[v[0] for v in INPLACE])
def test_inplace_forms_write_the_tensor(name, fn, pt):
    x, xt = torch.tensor(X), pt.tensor(X)
    v = x.view(-1)  # a view sees the write
    r = fn(torch, x, torch.tensor(SRC))
    fn(pt, xt, pt.tensor(SRC))
    assert r is x
    # (index_add with alpha: PyTorch's vector path rounds differently by an ulp)
    np.testing.assert_allclose(x.numpy(), xt.numpy(), rtol=1e-15, atol=1e-15)
    np.testing.assert_array_equal(v.numpy(), x.numpy().reshape(-1))


def test_a_source_sharing_the_target_memory_is_read_before_the_writes():
    # PyTorch refuses these ("some elements ... refer to a single memory location"); we
    # read a copy of the source, as NumPy does.
    x = torch.tensor(X)
    x[torch.tensor([1, 2])] = x[0:2]
    want = X.copy()
    want[[1, 2]] = X[0:2]
    np.testing.assert_array_equal(x.numpy(), want)
    x = torch.tensor(X)
    perm = _perm((5, 6, 7), 0)
    x.scatter_(0, torch.tensor(perm), x)
    want = X.copy()
    np.put_along_axis(want, perm, X, 0)
    np.testing.assert_array_equal(x.numpy(), want)


SETITEM = [
    ("rows", lambda T, x: x.__setitem__(T.tensor([4, 0, -1]), T.tensor(SRC[:3]))),
    ("rows_duplicates_last_wins", lambda T, x: x.__setitem__(T.tensor([1, 1, 1]), T.tensor(SRC[:3]))),
    ("cols_scalar", lambda T, x: x.__setitem__((slice(None), [0, 5, 2]), 1.0)),
    ("cols_broadcast", lambda T, x: x.__setitem__((slice(None), T.tensor([0, 5])), T.tensor(SRC[0, 0]))),
    ("slice_then_index", lambda T, x: x.__setitem__((slice(1, 4), 2, [6, 0]), 9.0)),
    ("rowmask", lambda T, x: x.__setitem__(T.tensor(X[:, 0, 0] > 0), 0.0)),
    ("mask_2d", lambda T, x: x.__setitem__((slice(None), T.tensor(X[0] > 0)), -3.0)),
    ("mask_3d_scalar", lambda T, x: x.__setitem__(T.tensor(X > 0.5), 0.0)),
    ("mask_3d_tensor", lambda T, x: x.__setitem__(T.tensor(X > 0.5), T.tensor(SRC[X > 0.5]))),
    ("mask_transposed_view", lambda T, x: x.transpose(0, 2).__setitem__(T.tensor(X.transpose(2, 1, 0) > 0), 5.0)),
]


@pytest.mark.parametrize("name,fn", SETITEM, ids=[v[0] for v in SETITEM])
def test_setitem_matches_pytorch(name, fn, pt):
    x, xt = torch.tensor(X), pt.tensor(X)
    fn(torch, x)
    fn(pt, xt)
    np.testing.assert_array_equal(x.numpy(), xt.numpy())


@pytest.mark.parametrize("key", ["mask3", "mask2", "rowmask"])
def test_mask_getitem_matches_pytorch(key, pt):
    mask = {"mask3": X > 0, "mask2": X[0] > 0, "rowmask": X[:, 0, 0] > 0}[key]
    k = (slice(None), torch.tensor(mask)) if key == "mask2" else torch.tensor(mask)
    kt = (slice(None), pt.tensor(mask)) if key == "mask2" else pt.tensor(mask)
    np.testing.assert_array_equal(torch.tensor(X)[k].numpy(), pt.tensor(X)[kt].numpy())
    np.testing.assert_array_equal(torch.tensor(X).masked_select(torch.tensor(X > 0)).numpy(), X[X > 0])


def test_take_wraps_negatives_and_names_bad_indices():
    x = torch.tensor(X)
    np.testing.assert_array_equal(x.take(torch.tensor([[0, -1], [7, 209]])).numpy(),
                                  X.reshape(-1)[[[0, -1], [7, 209]]])
    with pytest.raises(IndexError, match=r"take\(\): index 210 out of range for tensor of size \[5, 6, 7\]"):
        x.take(torch.tensor([1, 210]))


ERRORS = [
    ("gather_oob", lambda x, i: x.gather(1, i([[[6]]])), IndexError, "gather: index 6 is out of bounds for dimension 1 with size 6"),
    ("scatter_oob", lambda x, i: x.scatter(2, i([[[7]]]), 1.0), IndexError, "scatter: index 7 is out of bounds for dimension 2 with size 7"),
    ("scatter_add_negative", lambda x, i: x.scatter_add(0, i([[[-1]]]), x), IndexError,
     "scatter_add: index -1 is out of bounds for dimension 0 with size 5"),
    ("scatter__oob_untouched", lambda x, i: x.scatter_(0, i([[[0, 9]]]), 1.0), IndexError, "index 9 is out of bounds"),
    ("index_add_negative", lambda x, i: x.index_add(1, i([-1]), x[:, :1]), IndexError,
     r"index_add_\(\): index -1 is out of bounds for dimension 1 with size 6"),
    ("index_copy_oob", lambda x, i: x.index_copy(0, i([5]), x[:1]), IndexError,
     r"index_copy_\(\): index 5 is out of bounds for dimension 0 with size 5"),
    ("index_fill_oob", lambda x, i: x.index_fill(2, i([-8]), 0.0), IndexError,
     r"index_fill_\(\): index -8 is out of bounds for dimension 2 with size 7"),
    ("index_copy_count", lambda x, i: x.index_copy(0, i([0, 1]), x[:1]), RuntimeError, r"Number of indices \(2\)"),
    ("index_2d", lambda x, i: x.index_fill(0, i([[0]]), 0.0), RuntimeError, "Index is supposed to be a vector of int64"),
    ("scatter_src_small", lambda x, i: x.scatter(0, i(np.zeros((5, 6, 7), np.int64)), x[:2]), RuntimeError,
     "to be smaller than src"),
    ("setitem_oob", lambda x, i: x.__setitem__(i([0, 5]), 1.0), IndexError, "index 5 is out of bounds for dimension with size 5"),
    ("setitem_mask_shape", lambda x, i: x.__setitem__(torch.tensor(X[0] > 0), 1.0), IndexError, "the shape of the mask"),
]


@pytest.mark.parametrize("name,fn,exc,msg", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_op_and_value(name, fn, exc, msg):
    x = torch.tensor(X)
    with pytest.raises(exc, match=msg):
        fn(x, lambda v: torch.tensor(np.asarray(v, dtype=np.int64)))
    np.testing.assert_array_equal(x.numpy(), X)  # nothing written before the check


def test_c_entry_points_refuse_bad_calls():
    from pyautodiff._ffi import ffi, lib
    from pyautodiff._tensor import call

    x = torch.tensor(X)
    with pytest.raises(ValueError, match="src is required unless mode is FILL"):
        call(lib.pa_scatter, x._h, 0, torch.zeros(1, 1, 1, dtype=torch.int64)._h, ffi.NULL, 0.0, lib.PA_SCATTER_ADD, 0)
    with pytest.raises(ValueError, match="mode must be"):
        call(lib.pa_index_put, x._h, 0, torch.tensor([0])._h, ffi.NULL, 0.0, 1.0, 7, 0)
    with pytest.raises(ValueError, match="source .* must have self's shape"):
        call(lib.pa_index_put, x._h, 0, torch.tensor([0])._h, x._h, 0.0, 1.0, lib.PA_SCATTER_COPY, 0)
    with pytest.raises(RuntimeError, match="in-place form records no gradient"):
        call(lib.pa_scatter, torch.tensor(X, requires_grad=True)._h, 0, torch.zeros(1, 1, 1, dtype=torch.int64)._h,
             ffi.NULL, 0.0, lib.PA_SCATTER_FILL, 1)
    with pytest.raises(TypeError, match="mask must be a bool tensor"):
        call(lib.pa_mask_positions, x._h)


def _t(a):
    return torch.tensor(a, requires_grad=True)


GRADS = [
    ("gather", lambda x, s: x.gather(1, torch.tensor(_idx((5, 9, 7), 6))) ** 2),
    ("gather_d0_strided", lambda x, s: x.transpose(0, 2).gather(0, torch.tensor(_idx((9, 6, 5), 7))) ** 2),
    ("scatter", lambda x, s: x.scatter(1, torch.tensor(_perm((5, 6, 7), 1)[:, :4]), s) * x),  # (no repeats)
    ("scatter_value", lambda x, s: x.scatter(0, torch.tensor(_idx((2, 6, 7), 5)), 2.0) ** 2),
    ("scatter_add_dup", lambda x, s: x.scatter_add(2, torch.tensor(_idx((5, 6, 12), 7)), s.repeat(1, 1, 2)) ** 2),
    ("index_add_alpha", lambda x, s: x.index_add(0, torch.tensor([1, 4, 1]), s[:3] * 2, alpha=-1.5) ** 2),
    ("index_copy", lambda x, s: x.index_copy(2, torch.tensor([6, 0]), s[:, :, :2]) * x),
    ("index_fill", lambda x, s: x.index_fill(1, torch.tensor([0, -1]), 0.25) * x + s),
    ("setitem_recorded", lambda x, s: _setitem(x * 1.0, s)),
    ("mask_getitem", lambda x, s: x[torch.tensor(X > 0)] * s[torch.tensor(X > 0)]),
]


def _setitem(h, s):
    h[torch.tensor([3, 0, -1])] = s[:3] * 2
    return h ** 2


@pytest.mark.parametrize("name,fn", GRADS, ids=[g[0] for g in GRADS])
def test_gradients_match_finite_differences(name, fn):
    x, s = _t(X[:, :, :]), _t(SRC)
    assert gradcheck(fn, (x, s), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_backward_node_name_and_inplace_recording():
    x, s = _t(X), _t(SRC)
    out = x.scatter_add(0, torch.tensor(_idx((5, 6, 7), 5)), s)
    assert out.grad_fn.name() == "ScatterBackward"
    h = x * 1.0
    h.index_fill_(0, torch.tensor([1]), 0.0)
    h.scatter_(2, torch.tensor(_idx((5, 6, 1), 7)), s)
    h.sum().backward()
    assert x.grad is not None and s.grad is not None
    assert np.all(x.grad.numpy()[1] == 0)
