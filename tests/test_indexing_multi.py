"""Several index tensors in one key (the C gather pa_index_multi and its accumulating
backward): values against NumPy / PyTorch, gradients against PyTorch and finite
differences, errors."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import ffi, lib
from pyautodiff.autograd import gradcheck

SHAPE = (4, 5, 6, 7)


def _keys(rng):
    """Keys with two or more int index arrays (NumPy's and PyTorch's results agree on
    these: no int or 0-d index between them), with repeats and negative values."""
    def idx(*shape, size):
        return rng.integers(-size, size, size=shape)
    return {
        "adjacent_front": (idx(3, size=4), idx(3, size=5)),
        "adjacent_broadcast": (idx(2, 1, size=4), idx(3, size=5)),
        "adjacent_middle": (slice(None), idx(2, 3, size=5), idx(3, size=6)),
        "adjacent_back": (Ellipsis, idx(4, size=6), idx(4, size=7)),
        "three_adjacent": (idx(5, size=4), idx(5, size=5), idx(1, size=6)),
        "separated": (idx(3, size=4), slice(None), idx(3, size=6)),
        "separated_slice_step": (idx(2, 2, size=4), slice(None, None, 2), idx(2, size=6), slice(1, 5)),
        "separated_three": (idx(2, size=4), slice(1, 3), idx(2, size=6), idx(1, size=7)),
        "all_four": (idx(6, size=4), idx(6, size=5), idx(6, size=6), idx(6, size=7)),
        "repeated": (np.array([1, 1, 1, 2]), slice(None), np.array([0, 0, 0, 5])),
        "empty": (np.zeros(0, dtype=np.int64), slice(None), np.zeros(0, dtype=np.int64)),
        "lists": ([0, 3, 3], [1, -1, 2]),
    }


def _key(key, make):
    return tuple(make(k) if isinstance(k, np.ndarray) else k for k in key)


@pytest.mark.parametrize("name", list(_keys(np.random.default_rng(0))))
def test_values_match_numpy(name):
    key = _keys(np.random.default_rng(1))[name]
    a = np.random.default_rng(2).standard_normal(SHAPE)
    got = torch.tensor(a)[_key(key, torch.tensor)]
    want = a[tuple(np.asarray(k) if isinstance(k, list) else k for k in key)]
    assert tuple(got.shape) == want.shape
    np.testing.assert_array_equal(got.numpy(), want)


@pytest.mark.parametrize("name", list(_keys(np.random.default_rng(0))))
def test_values_and_grad_match_pytorch(pt, name):
    key = _keys(np.random.default_rng(3))[name]
    rng = np.random.default_rng(4)
    a = rng.standard_normal(SHAPE)
    x = torch.tensor(a, requires_grad=True)
    rx = pt.tensor(a, requires_grad=True)
    y, ry = x[_key(key, torch.tensor)], rx[_key(key, pt.tensor)]
    assert tuple(y.shape) == tuple(ry.shape)
    np.testing.assert_array_equal(y.detach().numpy(), ry.detach().numpy())
    g = rng.standard_normal(tuple(ry.shape))
    (y * torch.tensor(g)).sum().backward()
    (ry * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), rx.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["separated", "repeated", "adjacent_broadcast", "separated_three"])
def test_gradcheck(name):
    key = _key(_keys(np.random.default_rng(5))[name], torch.tensor)
    a = torch.tensor(np.random.default_rng(6).standard_normal(SHAPE), requires_grad=True)
    assert gradcheck(lambda x: x[key] * 1.5, (a,))


def test_non_contiguous_source_and_other_dtypes():
    a = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    key = (np.array([0, 3, -1]), slice(None), np.array([[1], [2]]))
    t = torch.tensor(a).permute(2, 0, 1)  # (6, 4, 5), strided
    np.testing.assert_array_equal(t[_key(key, torch.tensor)].numpy(), a.transpose(2, 0, 1)[key])
    b = a % 3 == 0
    np.testing.assert_array_equal(torch.tensor(b)[_key(key, torch.tensor)].numpy(), b[key])
    f = a.astype(np.float32)
    np.testing.assert_array_equal(torch.tensor(f)[_key(key, torch.tensor)].numpy(), f[key])


def test_repeated_index_gradient_is_thread_independent():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((8, 300, 40)).astype(np.float32)
    i, j = rng.integers(0, 8, 5000), rng.integers(0, 40, 5000)
    g = rng.standard_normal((5000, 300)).astype(np.float32)
    grads = []
    before = torch.get_num_threads()
    try:
        for n in (1, 2, 4):
            torch.set_num_threads(n)
            x = torch.tensor(a, requires_grad=True)
            (x[torch.tensor(i), :, torch.tensor(j)] * torch.tensor(g)).sum().backward()
            grads.append(x.grad.numpy().copy())
    finally:
        torch.set_num_threads(before)
    for other in grads[1:]:
        np.testing.assert_array_equal(grads[0], other)
    want = np.zeros_like(a, dtype=np.float64)
    np.add.at(want, (i, slice(None), j), g)
    np.testing.assert_allclose(grads[0], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("key, message", [
    ((np.array([0, 4]), slice(None), np.array([0, 1])),
     r"index 4 is out of bounds for dimension with size 4 \(dimension 0 of the indexed tensor of shape"),
    ((np.array([0]), slice(None), np.array([-7])), r"index -7 is out of bounds for dimension with size 6"),
    ((np.array([0, 1]), np.array([0, 1, 2])),
     r"shape mismatch: indexing tensors could not be broadcast together with shapes \(2,\), \(3,\)"),
])
def test_errors(key, message):
    x = torch.zeros(SHAPE)
    with pytest.raises(IndexError, match=message):
        x[_key(key, torch.tensor)]


def test_error_on_empty_dim():
    with pytest.raises(IndexError, match=r"index 0 is out of bounds for dimension with size 0"):
        torch.zeros((4, 0, 6))[torch.tensor([0]), torch.tensor([0])]
    assert tuple(torch.zeros((4, 0, 6))[torch.tensor([0, 1]), :, torch.tensor([2, 3])].shape) == (2, 0)


def test_c_entry_point_rejects_bad_arguments():
    x, i = torch.zeros((3, 4)), torch.tensor([0, 1])
    out = ffi.new("pa_tensor *[1]")
    for m, dims, idx in [(0, [0], [i]), (3, [0, 1, 1], [i, i, i]), (2, [1, 0], [i, i]), (2, [0, 2], [i, i]),
                         (1, [0], [torch.tensor([0.5])])]:
        rc = lib.pa_index_multi(x._h, m, ffi.new("int64_t[]", dims), ffi.new("pa_tensor *[]", [t._h for t in idx]),
                                out)
        assert rc != 0
        lib.pa_clear_error()
    rc = lib.pa_index_multi(x._h, 1, ffi.new("int64_t[]", [0]), ffi.new("pa_tensor *[]", [ffi.NULL]), out)
    assert rc != 0
    lib.pa_clear_error()


# ---- setitem through pa_index_put ------------------------------------------------------
SET_KEYS = {
    "two_indices": (np.array([0, 3, 3, 1]), slice(None), np.array([2, 2, 2, -1])),
    "adjacent_repeats": (np.array([1, 1, 2]), np.array([4, 4, 0])),
    "mask": (np.arange(40 * 50).reshape(40, 50) % 7 == 0,),
    "slice_and_list": (slice(2, 30, 3), [0, 5, 5]),
    "basic_only": (slice(1, 3), 4),
}


def _set_key(key, make):
    return tuple(make(k) if isinstance(k, np.ndarray) else k for k in key)


@pytest.mark.parametrize("big", [False, True], ids=["small", "big"])
@pytest.mark.parametrize("name", list(SET_KEYS))
def test_recorded_setitem_matches_pytorch(pt, name, big):
    shape = (40, 50, 6) if big else (4, 5, 6)
    key = SET_KEYS[name]
    if name == "mask" and not big:
        key = (np.arange(20).reshape(4, 5) % 7 == 0,)
    if name == "slice_and_list" and not big:
        key = (slice(0, 3, 2), [0, 4, 4])
    rng = np.random.default_rng(8)
    a = rng.standard_normal(shape)
    view_shape = a[tuple(np.asarray(k) if isinstance(k, list) else k for k in key)].shape
    v = rng.standard_normal(view_shape[-1:])  # broadcast over the leading dims
    x, val = torch.tensor(a, requires_grad=True), torch.tensor(v, requires_grad=True)
    rx, rval = pt.tensor(a, requires_grad=True), pt.tensor(v, requires_grad=True)
    y, ry = x * 2.0, rx * 2.0
    y[_set_key(key, torch.tensor)] = val
    ry[_set_key(key, pt.tensor)] = rval
    np.testing.assert_array_equal(y.detach().numpy(), ry.detach().numpy())
    g = rng.standard_normal(shape)
    (y * torch.tensor(g)).sum().backward()
    (ry * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), rx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(val.grad.numpy(), rval.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("big", [False, True], ids=["small", "big"])
def test_recorded_setitem_gradcheck_and_numbers(big):
    shape = (40, 50, 6) if big else (4, 5, 6)
    # distinct positions: with repeats value's gradient counts every write (PyTorch's
    # index_put), which finite differences (the last write wins) do not see
    key = (torch.tensor([0, 3, 3]), slice(None), torch.tensor([1, -1, 0]))
    base = torch.tensor(np.random.default_rng(9).standard_normal(shape), requires_grad=True)
    val = torch.tensor(np.random.default_rng(10).standard_normal((3, shape[1])), requires_grad=True)

    def f(b, v):
        y = b * 1.0
        y[key] = v
        return y

    if big:  # finite differences over value only (the tensor's are checked below)
        assert gradcheck(lambda v: f(base.detach(), v), (val,), eps=1e-6, atol=1e-8, rtol=1e-6)
    else:
        assert gradcheck(f, (base, val), eps=1e-6, atol=1e-8, rtol=1e-6)
    y = base * 1.0
    y[key] = 2.5  # a number: fill, gradient to the untouched elements only
    want = base.detach().numpy().copy()
    want[np.array([0, 3, 3]), :, np.array([1, -1, 0])] = 2.5
    np.testing.assert_array_equal(y.detach().numpy(), want)
    y.sum().backward()
    mask = np.ones(shape)
    mask[np.array([0, 3, 3]), :, np.array([1, -1, 0])] = 0
    np.testing.assert_array_equal(base.grad.numpy(), mask)


@pytest.mark.parametrize("contiguous", [True, False])
def test_plain_setitem_several_indices(contiguous):
    shape = (40, 50, 6)
    a = np.random.default_rng(11).standard_normal(shape)
    t = torch.tensor(a) if contiguous else torch.tensor(a.transpose(2, 1, 0).copy()).permute(2, 1, 0)
    seen = t[0]  # a view: sees the write
    i, j = np.array([0, 39, 0]), np.array([5, 5, -1])
    v = np.arange(3 * 50, dtype=np.int64).reshape(3, 50)  # cast to float64, as copy_
    t[torch.tensor(i), :, torch.tensor(j)] = torch.tensor(v)
    want = a.copy()
    want[i, :, j] = v
    np.testing.assert_array_equal(t.numpy(), want)
    np.testing.assert_array_equal(seen.numpy(), want[0])
    t[torch.tensor(i), :, torch.tensor(j)] = -1.0
    want[i, :, j] = -1.0
    np.testing.assert_array_equal(t.numpy(), want)


def test_setitem_shape_mismatch_is_copy_error():
    t = torch.zeros((40, 50, 6))
    key = (torch.tensor([0, 1]), slice(None), torch.tensor([1, 2]))
    with pytest.raises((RuntimeError, ValueError)) as plain:
        t[key] = torch.ones(3)
    y = torch.zeros((40, 50, 6), requires_grad=True) * 1.0
    with pytest.raises(type(plain.value)) as recorded:
        y[key] = torch.ones(3, requires_grad=True)
    assert str(plain.value) == str(recorded.value)


def test_plain_setitem_last_write_wins_for_any_thread_count():
    rng = np.random.default_rng(12)
    i, j = rng.integers(0, 8, 3000), rng.integers(0, 40, 3000)
    v = rng.standard_normal((3000, 300))
    want = np.zeros((8, 300, 40))
    want[i, :, j] = v  # NumPy: the last write wins too
    before = torch.get_num_threads()
    try:
        for n in (1, 2, 4):
            torch.set_num_threads(n)
            t = torch.zeros((8, 300, 40), dtype=torch.float64)
            t[torch.tensor(i), :, torch.tensor(j)] = torch.tensor(v)
            np.testing.assert_array_equal(t.numpy(), want)
    finally:
        torch.set_num_threads(before)


def test_plain_setitem_source_sharing_memory_and_masks():
    a = np.arange(4 * 5 * 6, dtype=np.float64).reshape(4, 5, 6)
    t = torch.tensor(a)
    t[torch.tensor([0, 1]), :, torch.tensor([2, 3])] = t[torch.tensor([1, 0]), :, torch.tensor([3, 2])]
    want = a.copy()
    want[[0, 1], :, [2, 3]] = a[[1, 0], :, [3, 2]]
    np.testing.assert_array_equal(t.numpy(), want)
    t = torch.tensor(a)
    t[:, :, 1:][torch.tensor([0, 1]), torch.tensor([2, 3])] = 0.0  # a view's write shows in t
    want = a.copy()
    want[[0, 1], [2, 3], 1:] = 0.0
    np.testing.assert_array_equal(t.numpy(), want)
    mask = np.arange(5 * 6).reshape(5, 6) % 4 == 0
    t = torch.tensor(a).permute(0, 2, 1)  # the mask's dims do not merge: one index per dim
    t[:, torch.tensor(mask.T)] = -1.0
    want = a.copy().transpose(0, 2, 1)
    want[:, mask.T] = -1.0
    np.testing.assert_array_equal(t.numpy(), want)


def test_index_put_entry_point_errors():
    x, i = torch.zeros((3, 4)), torch.tensor([0, 1])
    idx = ffi.new("pa_tensor *[]", [i._h, i._h])
    dims = ffi.new("int64_t[]", [0, 1])
    for src in [torch.zeros(3), torch.zeros(2, dtype=torch.float64)]:  # shape, dtype
        assert lib.pa_index_multi_put(x._h, 2, dims, idx, src._h, 0.0, lib.PA_SCATTER_COPY) != 0
        lib.pa_clear_error()
    assert lib.pa_index_multi_put(x._h, 2, dims, idx, ffi.NULL, 0.0, lib.PA_SCATTER_COPY) != 0
    lib.pa_clear_error()
    bad = torch.tensor([0, 3])
    assert lib.pa_index_multi_put(x._h, 2, dims, ffi.new("pa_tensor *[]", [bad._h, bad._h]), ffi.NULL, 1.0,
                                  lib.PA_SCATTER_FILL) != 0
    lib.pa_clear_error()
    assert x.numpy().sum() == 0  # nothing written
    w = torch.zeros((3, 4), requires_grad=True)
    assert lib.pa_index_multi_put(w._h, 2, dims, idx, ffi.NULL, 1.0, lib.PA_SCATTER_FILL) != 0
    lib.pa_clear_error()
