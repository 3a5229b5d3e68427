"""Advanced indexing: several index tensors, lists, masks, getitem and setitem, against
NumPy, finite differences and (when installed) PyTorch."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import lib
from pyautodiff.autograd import gradcheck

SHAPE = (4, 5, 6)
MASK_45 = np.arange(20).reshape(4, 5) % 3 == 0
MASK_56 = np.arange(30).reshape(5, 6) % 4 == 1

# Keys where NumPy and PyTorch agree.  ndarrays become pyautodiff / PyTorch tensors;
# lists stay lists.
KEYS = {
    "list": ([0, 2],),
    "list_negative": ([-1, 0, -4],),
    "list_repeated": ([1, 1, 3],),
    "tuple_in_key": ((0, 3), 1),
    "slice_then_list": (slice(None), [1, 0]),
    "tensor_2d": (np.array([[0, 1], [2, 3]]),),
    "two_adjacent": (np.array([0, 3, 3]), np.array([1, 4, -5])),
    "three_adjacent": (np.array([0, 3]), np.array([1, 4]), np.array([5, 0])),
    "broadcast": (np.array([[0], [3]]), np.array([1, 2, 4])),
    "broadcast_middle": (slice(None), np.array([[0], [2]]), np.array([1, 5])),
    "non_adjacent": (np.array([0, 3]), slice(None), np.array([5, 0])),
    "non_adjacent_broadcast": (np.array([[0], [1], [3]]), slice(1, 4), np.array([0, -1])),
    "ellipsis_last": (Ellipsis, [0, -1]),
    "ellipsis_between": ([[0, 1], [2, 3]], Ellipsis, [1]),
    "none_first": (None, [1, 2], slice(1, 3)),
    "none_between": ([0, 1], None, [2, 3]),
    "none_after": ([0, 1], [2, 3], None),
    "slices_around": (slice(None, None, 2), [0, 0, 4], slice(1, 4)),
    "int_then_list": (2, [4, 0]),
    "list_then_int": ([1, 2], 3),
    "int_between": ([0, 1], 2, [1, 5]),
    "index_0d_int": (np.array(2),),
    "index_0d_int_with_list": (np.array(1), [0, 2]),
    "bool_list": (slice(None), [True, False, True, False, True]),
    "bool_list_first": ([False, True, True, False],),
    "bool_tensor_partial": (np.array([True, False, True, True]),),
    "mask_2d_partial": (MASK_45,),
    "mask_after_slice": (slice(None), MASK_56),
    "mask_with_index": (np.array([False, True, False, True]), [1, 3]),
    "mask_ellipsis": (Ellipsis, np.array([True, False, True, False, True, False])),
    "mask_all_false": (np.zeros(4, dtype=bool),),
    "python_true": (True,),
    "python_false": (False,),
    "true_with_list": ([0, 1], True),
    "bool_0d_tensor": (np.array(True),),
    "empty_list": ([],),
    "empty_tensor": (np.array([], dtype=np.int64),),
    "empty_2d_tensor": (np.zeros((2, 0), dtype=np.int64),),
    "empty_pair": ([], slice(None), []),
    "empty_then_int": (np.array([], dtype=np.int64), slice(None), 1),
}

# Keys where PyTorch (which pyautodiff follows) differs from NumPy: ints select first.
TORCH_ONLY_KEYS = {
    "int_first_non_adjacent": (0, slice(None), [0, 1]),
    "int_none_list": (1, None, [0, 2]),
    "0d_tensor_non_adjacent": (np.array(1), slice(None), [0, 2]),
}


def _key_for(key, make_tensor):
    return tuple(make_tensor(k) if isinstance(k, np.ndarray) else k for k in key)


def _pa_key(key):
    return _key_for(key, torch.from_numpy)


def _data(dtype=np.float32):
    return np.arange(np.prod(SHAPE), dtype=dtype).reshape(SHAPE)


# ---- getitem: values -----------------------------------------------------------------
@pytest.mark.parametrize("name", KEYS)
def test_getitem_matches_numpy(name):
    key = KEYS[name]
    a = _data()
    got = torch.tensor(a)[_pa_key(key)]
    expected = a[key]
    assert tuple(got.shape) == expected.shape
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("name", KEYS)
def test_getitem_on_a_strided_view_matches_numpy(name):
    base = np.arange(6 * 5 * 8, dtype=np.float64).reshape(6, 8, 5).transpose(0, 2, 1)[1:5, :, 1:7]
    key = KEYS[name]
    t = torch.from_numpy(np.ascontiguousarray(base.transpose(0, 2, 1))).permute(0, 2, 1)
    assert tuple(t.shape) == base.shape == SHAPE and not t.is_contiguous()
    np.testing.assert_array_equal(t[_pa_key(key)].numpy(), base[key])


@pytest.mark.parametrize("name", list(KEYS) + list(TORCH_ONLY_KEYS))
def test_getitem_matches_pytorch(name, pt):
    key = {**KEYS, **TORCH_ONLY_KEYS}[name]
    a = _data()
    expected = pt.tensor(a)[_key_for(key, pt.from_numpy)]
    got = torch.tensor(a)[_pa_key(key)]
    assert tuple(got.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_int_before_an_advanced_index_selects_first_as_in_pytorch():
    a = _data()
    t = torch.tensor(a)
    assert t[0, :, [0, 1]].shape == (5, 2)  # NumPy: (2, 5)
    np.testing.assert_array_equal(t[0, :, [0, 1]].numpy(), a[0][:, [0, 1]])


def test_basic_keys_give_views_and_advanced_keys_copies():
    t = torch.zeros(*SHAPE)
    assert t[1:, 0]._h.storage == t._h.storage
    assert t[np.array(1)]._h.storage == t._h.storage  # a 0-d int index selects
    assert t[[0, 1]]._h.storage != t._h.storage


def test_logits_at_labels():
    logits = np.random.randn(8, 10).astype(np.float32)
    labels = np.random.randint(0, 10, 8)
    got = torch.tensor(logits)[torch.arange(8), torch.tensor(labels)]
    np.testing.assert_array_equal(got.numpy(), logits[np.arange(8), labels])


def test_index_tensors_are_not_modified():
    index = torch.tensor([-1, 0, -2])
    torch.zeros(3, 4)[index, index]
    assert index.tolist() == [-1, 0, -2]


# ---- getitem: gradients --------------------------------------------------------------
GRAD_KEYS = ["list_repeated", "two_adjacent", "broadcast", "broadcast_middle", "non_adjacent",
             "non_adjacent_broadcast", "ellipsis_between", "none_between", "slices_around",
             "int_between", "bool_list", "mask_2d_partial", "mask_with_index", "true_with_list",
             "empty_pair"]


@pytest.mark.parametrize("name", GRAD_KEYS + list(TORCH_ONLY_KEYS))
def test_getitem_gradcheck(name):
    key = _pa_key({**KEYS, **TORCH_ONLY_KEYS}[name])
    a = torch.randn(*SHAPE, dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda x: x[key] * 1.5, (a,))


def test_repeated_indices_accumulate_gradients():
    a = torch.zeros(3, 2, requires_grad=True)
    a[[0, 2, 0, 0], [1, 1, 1, 0]].sum().backward()
    assert a.grad.tolist() == [[1.0, 2.0], [0.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize("name", GRAD_KEYS + list(TORCH_ONLY_KEYS))
def test_getitem_gradient_matches_pytorch(name, pt):
    key = {**KEYS, **TORCH_ONLY_KEYS}[name]
    a = _data(np.float64) / 100
    x = torch.tensor(a, requires_grad=True)
    out = x[_pa_key(key)]
    weights = np.random.randn(*out.shape)
    (out * torch.tensor(weights)).sum().backward()
    xt = pt.tensor(a, requires_grad=True)
    (xt[_key_for(key, pt.from_numpy)] * pt.tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


# ---- getitem: errors -----------------------------------------------------------------
OOB = (r"index {v} is out of bounds for dimension with size {size} "
       r"\(dimension {dim} of the indexed tensor of shape \(4, 5, 6\)\)")
NOT_INTS = "used as indices must hold only ints or only bools"
GETITEM_ERRORS = [
    ("oob_tensor", lambda t: t[torch.tensor([0, 4])], IndexError, OOB.format(v=4, size=4, dim=0)),
    ("oob_second_index", lambda t: t[[0], [7]], IndexError, OOB.format(v=7, size=5, dim=1)),
    ("oob_negative", lambda t: t[:, [-6, 0]], IndexError, OOB.format(v=-6, size=5, dim=1)),
    ("oob_after_none_and_ellipsis", lambda t: t[None, ..., [6]], IndexError, OOB.format(v=6, size=6, dim=2)),
    ("oob_after_int", lambda t: t[1, :, [9]], IndexError, OOB.format(v=9, size=6, dim=2)),
    ("oob_empty_dim", lambda t: t[:0][[0]], IndexError, "index 0 is out of bounds for dimension with size 0"),
    ("float_tensor", lambda t: t[torch.tensor([0.0])], IndexError,
     r"tensors used as indices must be int64 or bool tensors, got torch.float32"),
    ("float_tensor_second", lambda t: t[[0], torch.tensor([1.0], dtype=torch.float64)], IndexError,
     r"tensors used as indices must be int64 or bool tensors, got torch.float64"),
    ("float_0d_tensor", lambda t: t[torch.tensor(1.0)], IndexError, "tensors used as indices must be int64 or bool"),
    ("float_list", lambda t: t[[0.5, 1]], IndexError, "lists " + NOT_INTS + r", got \[0.5, 1\]"),
    ("float_array", lambda t: t[np.array([1.0])], IndexError, "arrays " + NOT_INTS),
    ("ragged_list", lambda t: t[[[0, 1], [2]]], IndexError, "lists " + NOT_INTS),
    ("list_of_slices", lambda t: t[[0, slice(None)]], IndexError, "lists " + NOT_INTS),
    ("broadcast_mismatch", lambda t: t[[0, 1], [0, 1, 2]], IndexError,
     r"shape mismatch: indexing tensors could not be broadcast together with shapes \(2,\), \(3,\)"),
    ("mask_mismatch", lambda t: t[:, torch.tensor([True, False, True])], IndexError,
     r"the shape of the mask \(3,\) at index 1 does not match the shape of the indexed tensor \(4, 5, 6\) at dim 1"),
    ("bool_list_mismatch", lambda t: t[[True, False]], IndexError, r"the shape of the mask \(2,\) at index 0"),
    ("mask_too_many_dims", lambda t: t[..., torch.ones(4, 5, 6, 7, dtype=torch.bool)], IndexError,
     r"the shape of the mask \(4, 5, 6, 7\)"),
    ("too_many", lambda t: t[[0], [0], [0], [0]], IndexError, r"too many indices for tensor of dimension 3 \(got 4\)"),
    ("two_ellipses", lambda t: t[..., [0], ...], IndexError, "an index can only have a single ellipsis"),
    ("string", lambda t: t["a"], TypeError, "index of type str is not supported"),
    ("float_scalar_with_list", lambda t: t[[0], 1.5], TypeError, "index of type float is not supported"),
]


@pytest.mark.parametrize("fn, exc, message", [e[1:] for e in GETITEM_ERRORS], ids=[e[0] for e in GETITEM_ERRORS])
def test_getitem_errors(fn, exc, message):
    with pytest.raises(exc, match=message):
        fn(torch.zeros(*SHAPE))


# ---- setitem -------------------------------------------------------------------------
SETITEM_KEYS = [name for name in KEYS if "repeated" not in name and name != "slices_around"]


@pytest.mark.parametrize("name", SETITEM_KEYS)
@pytest.mark.parametrize("value_kind", ["number", "full", "broadcast_last"])
def test_setitem_matches_numpy(name, value_kind):
    key = KEYS[name]
    a = _data()
    shape = a[key].shape
    if value_kind == "number":
        value = -3.5
    elif value_kind == "full":
        value = -np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    else:
        value = -np.arange(shape[-1] if shape else 1, dtype=np.float32) - 1
    t = torch.tensor(a)
    t[_pa_key(key)] = value if value_kind == "number" else torch.tensor(value)
    a[key] = value
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("name", SETITEM_KEYS + list(TORCH_ONLY_KEYS))
def test_setitem_matches_pytorch(name, pt):
    key = {**KEYS, **TORCH_ONLY_KEYS}[name]
    a = _data()
    expected = pt.tensor(a)
    shape = tuple(expected[_key_for(key, pt.from_numpy)].shape)
    value = -np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    expected[_key_for(key, pt.from_numpy)] = pt.tensor(value)
    t = torch.tensor(a)
    t[_pa_key(key)] = torch.tensor(value)
    np.testing.assert_array_equal(t.numpy(), expected.numpy())


def test_setitem_with_a_mask_of_the_tensor_itself():
    t = torch.tensor([[1.0, -2.0], [-3.0, 4.0]])
    t[t < 0] = 0
    assert t.tolist() == [[1.0, 0.0], [0.0, 4.0]]


def test_setitem_writes_through_to_views_and_bases():
    base = torch.zeros(4, 6)
    rows = base[1:]
    rows[[0, 2], [1, 3]] = torch.tensor([5.0, 6.0])
    assert base[1, 1].item() == 5.0 and base[3, 3].item() == 6.0
    view = base[:, 1]
    base[[1], [1]] = 7.0
    assert view[1].item() == 7.0
    transposed = base.t()  # a non-contiguous target
    transposed[[0, 5]] = 1.0
    np.testing.assert_array_equal(base.numpy()[:, [0, 5]], np.ones((4, 2)))


def test_setitem_bumps_the_version_counter():
    t = torch.zeros(3)
    view = t[1:]
    before = lib.pa_tensor_version(t._h)
    view[[0]] = 1.0
    assert lib.pa_tensor_version(t._h) == before + 1
    w = torch.ones(3, requires_grad=True)
    y = (w * t).sum()  # saves t
    t[[2]] = 2.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_setitem_casts_to_the_target_dtype():
    ints = torch.zeros(3, dtype=torch.int64)
    ints[[0, 2]] = 2.7
    assert ints.tolist() == [2, 0, 2]
    flags = torch.zeros(3, dtype=torch.bool)
    flags[[1]] = 0.5
    assert flags.tolist() == [False, True, False]
    single = torch.zeros(2, 2)
    single[[1]] = torch.tensor([[0.1, 0.2]], dtype=torch.float64)
    np.testing.assert_array_equal(single.numpy()[1], np.array([0.1, 0.2], dtype=np.float32))
    ints[torch.tensor([True, False, False])] = torch.tensor(9.9, dtype=torch.float64)
    assert ints.tolist() == [9, 0, 2]


def test_setitem_value_with_leading_unit_dims():
    t = torch.zeros(3, 4)
    t[[0, 2]] = torch.ones(1, 1, 4)
    t[1] = torch.full((1, 4), 2.0)
    assert t.tolist() == [[1.0] * 4, [2.0] * 4, [1.0] * 4]


def test_setitem_repeated_indices_write_one_of_the_values():
    t = torch.zeros(3)
    t[[1, 1, 1]] = torch.tensor([4.0, 5.0, 6.0])
    assert t[0].item() == 0 and t[2].item() == 0 and t[1].item() in (4.0, 5.0, 6.0)


def test_setitem_empty_and_false_keys_change_nothing():
    t = torch.arange(6.0).reshape(2, 3)
    t[[]] = 1.0
    t[False] = 1.0
    t[torch.zeros(2, dtype=torch.bool)] = torch.ones(3)
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_setitem_on_a_0d_tensor():
    t = torch.tensor(3.0)
    t[True] = 5.0
    t[False] = 7.0
    assert t.item() == 5.0


def test_setitem_basic_keys_keep_working():
    t = torch.zeros(3, 4)
    t[1:, 2] = 5.0
    t[0] = torch.arange(4.0)
    t[..., -1] = -1.0
    assert t.tolist() == [[0.0, 1.0, 2.0, -1.0], [0.0, 0.0, 5.0, -1.0], [0.0, 0.0, 5.0, -1.0]]


def test_setitem_on_tensors_that_require_grad():
    w = torch.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem_: a leaf Variable that requires grad"):
        w[[0]] = 1.0
    with torch.no_grad():
        w[[0, 2]] = 1.0
    assert w.tolist() == [1.0, 0.0, 1.0] and w.requires_grad
    t = torch.zeros(3)
    v = torch.ones(1, requires_grad=True)
    t[[0]] = v  # t joins the graph, as in PyTorch
    assert t.requires_grad and t.grad_fn is not None
    t.sum().backward()
    assert v.grad.tolist() == [1.0]
    with torch.no_grad():
        t2 = torch.zeros(3)
        t2[[0]] = torch.full((1,), 2.0, requires_grad=True)
    assert t2.tolist() == [2.0, 0.0, 0.0] and not t2.requires_grad


SETITEM_GRAD_KEYS = {
    "slice": (slice(1, None), 1),
    "int_col": ((slice(None), 0), None),
    "index_list": (([0, 2, 0], [1, 1, 3]), None),  # a repeated position: the last write wins
    "mask": (np.array([[True, False, True, False, True]] * 4), None),
    "ellipsis_tensor": ((Ellipsis, np.array([4, 0])), None),
}


@pytest.mark.parametrize("name", list(SETITEM_GRAD_KEYS))
def test_setitem_into_a_non_leaf_is_recorded_and_matches_finite_differences(name):
    key, _ = SETITEM_GRAD_KEYS[name]
    rng = np.random.default_rng(3)
    key_t = tuple(torch.tensor(k) if isinstance(k, np.ndarray) else k for k in key) if isinstance(key, tuple) else (
        torch.tensor(key) if isinstance(key, np.ndarray) else key)
    base = torch.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    n_val = torch.tensor(np.zeros((4, 5)))[key_t].shape
    val = torch.tensor(rng.standard_normal(tuple(n_val)), requires_grad=True)

    def f(base, val):
        h = base * 2.0
        h[key_t] = val * 3.0
        return h.tanh()

    assert gradcheck(f, (base, val), eps=1e-6, atol=1e-8, rtol=1e-6)
    h = base.detach().numpy() * 2.0
    h[key] = val.detach().numpy() * 3.0
    np.testing.assert_allclose(f(base, val).detach().numpy(), np.tanh(h), rtol=1e-12)
    scalar_h = base * 2.0
    scalar_h[key_t] = 0.5  # a number: the gradient to base is masked
    scalar_h.sum().backward()
    want = np.full((4, 5), 2.0)
    want[key] = 0.0
    np.testing.assert_array_equal(base.grad.numpy(), want)


def test_setitem_recorded_matches_pytorch(pt):
    rng = np.random.default_rng(4)
    a, v = rng.standard_normal((3, 4)), rng.standard_normal(2)
    grads = []
    for lib_ in (torch, pt):
        x, val = lib_.tensor(a, requires_grad=True), lib_.tensor(v, requires_grad=True)
        h = x * 1.0
        h[:, 0] = 0.0
        h[lib_.tensor([0, 2]), lib_.tensor([1, 3])] = val * 2
        h[h > 1.0] = 1.0
        (h * h).sum().backward()
        grads.append((h.detach().numpy(), x.grad.numpy(), val.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


SETITEM_ERRORS = [
    ("oob", lambda t: t.__setitem__(([0], [9]), 1.0), IndexError, OOB.format(v=9, size=5, dim=1)),
    ("float_index", lambda t: t.__setitem__(torch.tensor([1.0]), 1.0), IndexError,
     "tensors used as indices must be int64 or bool tensors, got torch.float32"),
    ("mask_mismatch", lambda t: t.__setitem__(torch.ones(4, 4, dtype=torch.bool), 1.0), IndexError,
     r"the shape of the mask \(4, 4\)"),
    ("value_shape", lambda t: t.__setitem__([0, 1], torch.ones(3, 6)), ValueError,
     r"copy_: source of shape \(3, 6\) cannot be broadcast to \(2, 5, 6\)"),
    ("value_type", lambda t: t.__setitem__([0, 1], "a"), TypeError, "expected a Tensor or a number, got str"),
    ("value_list", lambda t: t.__setitem__([0, 1], [1.0, 2.0]), TypeError, "expected a Tensor or a number, got list"),
]


@pytest.mark.parametrize("fn, exc, message", [e[1:] for e in SETITEM_ERRORS], ids=[e[0] for e in SETITEM_ERRORS])
def test_setitem_errors_leave_the_tensor_unchanged(fn, exc, message):
    t = torch.tensor(_data())
    before = lib.pa_tensor_version(t._h)
    with pytest.raises(exc, match=message):
        fn(t)
    np.testing.assert_array_equal(t.numpy(), _data())
    assert lib.pa_tensor_version(t._h) == before
