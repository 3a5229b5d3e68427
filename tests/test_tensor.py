"""Tensor creation, conversion, views and indexing against NumPy."""
import numpy as np
import pytest

import pyautodiff as torch


def test_tensor_dtype_inference():
    assert torch.tensor([1.0, 2.0]).dtype == torch.float32
    assert torch.tensor([1, 2]).dtype == torch.int64
    assert torch.tensor([True]).dtype == torch.bool
    assert torch.tensor(np.array([1.0])).dtype == torch.float64
    assert torch.tensor(3.5).shape == ()


def test_from_numpy_is_zero_copy_both_ways():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = torch.from_numpy(a)
    a[0, 0] = 42
    assert t[0, 0].item() == 42
    back = t.numpy()
    back[1, 2] = -1
    assert a[1, 2] == -1
    # Strided arrays keep their layout.
    s = torch.from_numpy(a[:, ::2])
    np.testing.assert_array_equal(s.numpy(), a[:, ::2])


def test_from_numpy_keeps_the_array_alive():
    import gc

    t = torch.from_numpy(np.arange(1000, dtype=np.float64))
    gc.collect()
    assert t.sum().item() == sum(range(1000))


def test_numpy_of_views_shares_memory():
    t = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    v = t.t()
    np.testing.assert_array_equal(v.numpy(), np.arange(12).reshape(3, 4).T)
    assert not v.is_contiguous() and v.contiguous().is_contiguous()


@pytest.mark.parametrize("key", [
    (1,), (slice(None), 2), (slice(1, None, 2),), (Ellipsis, 1), (None, 0), (slice(None), None, 1),
    (-1, slice(None, None, 3)), (slice(5, 1),), (Ellipsis,), (0, Ellipsis, None),
])
def test_basic_indexing_matches_numpy(key):
    a = np.arange(4 * 6, dtype=np.float32).reshape(4, 6)
    np.testing.assert_array_equal(torch.tensor(a)[key].numpy(), a[key])


def test_advanced_indexing():
    a = np.arange(20, dtype=np.float32).reshape(5, 4)
    t = torch.tensor(a)
    np.testing.assert_array_equal(t[torch.tensor([[0, 4], [1, 1]])].numpy(), a[[[0, 4], [1, 1]]])
    np.testing.assert_array_equal(t[:, [3, 0]].numpy(), a[:, [3, 0]])
    np.testing.assert_array_equal(t[t > 10].numpy(), a[a > 10])


def test_slices_are_views():
    t = torch.zeros(3, 4)
    t[1:, 2] = 5.0
    assert t.tolist()[1][2] == 5.0 and t.tolist()[0][2] == 0.0


def test_creation_functions():
    assert torch.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert torch.ones((2,)).tolist() == [1.0, 1.0]
    assert torch.full((2,), 7).dtype == torch.int64
    np.testing.assert_allclose(torch.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(torch.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(torch.eye(3).numpy(), np.eye(3))
    assert torch.randn(3, 4).shape == (3, 4) and torch.rand(5).dtype == torch.float32
    assert sorted(torch.randperm(10).tolist()) == list(range(10))


def test_random_is_seeded_and_well_distributed():
    torch.manual_seed(123)
    a = torch.randn(10000)
    torch.manual_seed(123)
    b = torch.randn(10000)
    assert a.tolist() == b.tolist()
    assert abs(a.mean().item()) < 0.05 and abs(a.numpy().std() - 1) < 0.05
    u = torch.rand(10000).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    r = torch.randint(0, 10, (10000,)).numpy()
    assert r.min() == 0 and r.max() == 9


def test_type_promotion():
    i = torch.tensor([1, 2])
    f = torch.tensor([0.5, 0.5])
    assert (i + f).dtype == torch.float32
    assert (i * 2).dtype == torch.int64
    assert (i / 2).dtype == torch.float32
    assert (f + 1).dtype == torch.float32
    assert (f.double() + f).dtype == torch.float64
    assert (f + torch.tensor(1.0, dtype=torch.float64)).dtype == torch.float32  # 0-dim rule
    assert (i > 1).dtype == torch.bool


def test_large_float32_sum_is_accurate():
    x = np.random.rand(10_000_000).astype(np.float32)
    got = torch.from_numpy(x).sum().item()
    want = x.astype(np.float64).sum()
    assert abs(got - want) / want < 1e-6


def test_inplace_ops_and_repr():
    t = torch.ones(3)
    t.add_(2).mul_(3)
    assert t.tolist() == [9.0, 9.0, 9.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]
    assert "tensor(" in repr(torch.ones(2, requires_grad=True)) and "requires_grad=True" in repr(torch.ones(2, requires_grad=True))


def test_max_min_argmax():
    a = np.array([[1.0, 5.0, 3.0], [7.0, 2.0, 7.0]], dtype=np.float32)
    t = torch.tensor(a)
    v, i = t.max(1)
    assert v.tolist() == [5.0, 7.0] and i.tolist() == [1, 0]
    assert t.argmax().item() == 3 and t.argmin(dim=0).tolist() == [0, 1, 0]
    assert t.max().item() == 7.0 and t.min(0).values.tolist() == [1.0, 2.0, 3.0]


def test_inplace_ops_cast_the_promoted_result_as_pytorch():
    # float32 op= float64 is computed in float64 and rounded once into the float32 tensor
    # (PyTorch's rule: any cast but float -> integral/bool and non-bool -> bool).
    rng = np.random.default_rng(4)
    a = rng.standard_normal(257).astype(np.float32)
    b = rng.standard_normal(257)
    for op, ref in (("add_", np.add), ("sub_", np.subtract), ("mul_", np.multiply), ("div_", np.divide)):
        x = torch.from_numpy(a.copy())
        getattr(x, op)(torch.from_numpy(b))
        assert x.dtype == torch.float32
        np.testing.assert_array_equal(x.numpy(), ref(a.astype(np.float64), b).astype(np.float32))
    f = torch.ones(3)
    f += torch.tensor([True, False, True])
    assert f.tolist() == [2.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="add_: result type float32 can't be cast to the desired output type bool"):
        torch.ones(3, dtype=torch.bool).add_(torch.ones(3))
    with pytest.raises(TypeError, match="mul_: result type float64 can't be cast to the desired output type int64"):
        torch.tensor([1, 2]).mul_(torch.tensor([0.5, 0.5], dtype=torch.float64))


def test_legacy_constructor_makes_float32():
    assert torch.Tensor([1, 2]).dtype == torch.float32
    assert torch.Tensor(np.array([1, 2])).tolist() == [1.0, 2.0]
    assert torch.Tensor(2, 3).shape == (2, 3) and torch.Tensor(2, 3).dtype == torch.float32


def test_data_is_a_grad_free_alias_and_assignment_copies():
    w = torch.nn.Linear(2, 3)
    d = w.bias.data
    assert not d.requires_grad and d.is_leaf
    d.fill_(0.25)  # the classic init idiom: writes the parameter
    assert w.bias.tolist() == [0.25] * 3 and w.bias.requires_grad
    _, pred = torch.max(torch.tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True).data, 1)
    assert pred.tolist() == [1, 0]
    w.weight.data = torch.ones(3, 2)
    assert w.weight.tolist() == [[1.0, 1.0]] * 3
    with pytest.raises(ValueError, match=r"data: assigning a tensor of shape \(2, 2\)"):
        w.weight.data = torch.ones(2, 2)


def test_format_of_a_zero_dim_tensor_formats_its_value():
    loss = torch.tensor(0.123456, dtype=torch.float64)
    assert f"{loss:.3f}" == "0.123" and f"{torch.tensor(7):>3d}" == "  7"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{torch.ones(2):.3f}"


def test_deepcopy_of_tensors_modules_and_state_dicts():
    import copy

    nn = torch.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    model(torch.randn(5, 3)).sum().backward()
    best = copy.deepcopy(model.state_dict())  # the early-stopping idiom
    twin = copy.deepcopy(model)
    w = model[0].weight
    assert type(twin[0].weight) is nn.Parameter and twin[0].weight.requires_grad
    np.testing.assert_array_equal(twin[0].weight.grad.numpy(), w.grad.numpy())
    with torch.no_grad():
        w.add_(1)  # the copies do not follow
    np.testing.assert_array_equal(best["0.weight"].numpy() + 1, w.detach().numpy())
    np.testing.assert_array_equal(twin[0].weight.detach().numpy() + 1, w.detach().numpy())
    assert best["1.num_batches_tracked"].shape == () and best["1.num_batches_tracked"].item() == 1
    x = torch.randn(2, 3)
    model.eval(), twin.eval()
    with torch.no_grad():
        w.copy_(twin[0].weight)
    np.testing.assert_array_equal(twin(x).detach().numpy(), model(x).detach().numpy())
    t = torch.ones(2, requires_grad=True)
    a, b = copy.deepcopy([t, t])
    assert a is b and a is not t and a.requires_grad and a.is_leaf
    with pytest.raises(RuntimeError, match="Only Tensors created explicitly by the user"):
        copy.deepcopy(t * 2)


def test_numpy_scalars_on_the_left_keep_the_graph():
    t = torch.ones(2, requires_grad=True)
    for r in (np.float64(2.0) * t, np.float32(2.0) + t, np.int64(3) - t):
        assert isinstance(r, torch.Tensor) and r.requires_grad and r.dtype == torch.float32
    (np.float64(0.5) * t).sum().backward()
    assert t.grad.tolist() == [0.5, 0.5]
    with pytest.raises(TypeError, match="unsupported operand type: ndarray"):
        np.ones(2) * t  # as PyTorch: not silently an ndarray without the graph


def test_conversion_to_the_same_dtype_is_the_tensor_itself():
    """As PyTorch: x.float() on a float32 tensor (and .to/.type/.double/.long/.bool to the
    dtype it has) returns x itself, so Python-side state such as retain_grad stays one."""
    x = torch.ones(3, requires_grad=True)
    assert x.float() is x and x.to(torch.float32) is x and x.type(torch.float32) is x
    assert x.to("cpu") is x and x.to(x) is x
    y = x.double()
    assert y is not x and y.dtype == torch.float64 and y.double() is y
    n = torch.arange(3)
    assert n.long() is n and n.bool() is not n
