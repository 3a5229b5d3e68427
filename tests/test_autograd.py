"""The engine: accumulation, retain_graph, freed graphs, grad mode, leaks."""
import gc

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import lib


def live():
    gc.collect()
    return lib.pa_live_nodes(), lib.pa_live_tensors(), lib.pa_live_storage_bytes()


def test_gradients_accumulate_across_backward_calls():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 + 2 * np.array([1.0, 2.0, 3.0]))


def test_shared_subexpression_and_reused_input():
    x = torch.tensor([0.5, -1.5], dtype=torch.float64, requires_grad=True)
    y = x.exp()
    z = (y * y + y * x).sum()
    z.backward()
    xv = np.array([0.5, -1.5])
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(2 * xv) + np.exp(xv) * (xv + 1))


def test_gradient_reaching_an_intermediate_twice_is_summed_whatever_comes_first():
    # The gradient of a sum is the upstream gradient expanded (stride 0) over the reduced
    # dims; a second gradient reaching the same tensor must not be added into that view
    # in place (every element would share one cell).
    c = np.array([1.0, 2.0, 3.0, 4.0])
    for order in ("sum first", "sum last"):
        w = torch.tensor(np.ones(4), requires_grad=True)
        v = w * 1.0
        a, b = (v * torch.tensor(c)).sum(), v.sum()
        (a - b if order == "sum last" else -b + a).backward()
        np.testing.assert_array_equal(w.grad.numpy(), c - 1, err_msg=order)
    x = torch.tensor(np.ones(4), requires_grad=True)
    (gx,) = torch.autograd.grad((x * torch.tensor(c)).sum() - x.sum(), x)
    np.testing.assert_array_equal(gx.numpy(), c - 1)
    x = torch.tensor(np.ones(4), requires_grad=True)
    (gx,) = torch.autograd.grad(x.sum() * 2 + (x * torch.tensor(c)).sum(), x)
    np.testing.assert_array_equal(gx.numpy(), c + 2)


def test_assigned_expanded_grad_is_not_accumulated_into_in_place():
    x = torch.ones(4, requires_grad=True)
    x.grad = torch.zeros(1).expand(4)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        (x * torch.arange(4.0)).sum().backward()


def test_inplace_write_into_a_view_with_a_broadcast_size_one_dim_is_allowed():
    base = torch.zeros(3, 1)
    y = base.expand(3, 4)[:, :1]  # size-1 dim with stride 0: no two elements share memory
    y.add_(torch.tensor([[1.0], [2.0], [3.0]]))
    np.testing.assert_array_equal(base.numpy(), [[1.0], [2.0], [3.0]])


@pytest.mark.parametrize("extra", ["sum", "sum(1).mean", "mean"])
def test_loss_plus_a_penalty_on_the_same_activations_matches_finite_differences(extra):
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    w = torch.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    t = torch.tensor(np.array([0, 2, 1, 1, 0]))
    penalty = {"sum": lambda h: 0.01 * h.sum(), "sum(1).mean": lambda h: h.sum(1).mean(),
               "mean": lambda h: h.mean()}[extra]

    def f(x, w):
        h = x @ w
        return torch.nn.functional.cross_entropy(h, t) + penalty(h)

    assert torch.autograd.gradcheck(f, (x, w), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_inplace_ops_on_non_leaf_tensors_are_recorded():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((2, 3)))
    c = torch.tensor(rng.standard_normal(4))

    def f(w, skip, scale):
        out = x @ w
        out += skip  # a residual connection, as torchvision's ResNet blocks write it
        out.mul_(3.0)
        out.sub_(c, alpha=2)
        out.mul_(scale)  # scale requires grad: the node keeps a copy of the old values
        out.div_(scale + 2)
        return out.tanh()

    w = torch.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    skip = torch.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    scale = torch.tensor(rng.standard_normal(4), requires_grad=True)
    assert torch.autograd.gradcheck(f, (w, skip, scale), eps=1e-6, atol=1e-8, rtol=1e-6)
    out = x @ w
    out += skip
    assert out.grad_fn.name() == "AddBackward" and not out.is_leaf


def test_inplace_accumulation_into_a_tensor_without_grad():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    total = torch.zeros(())
    for k in range(1, 4):
        total += (w * k).sum()  # total joins the graph
    assert total.requires_grad and total.item() == 18.0
    total.backward()
    assert w.grad.tolist() == [6.0, 6.0]


def test_inplace_result_cast_back_to_the_target_dtype():
    a = torch.ones(3, requires_grad=True) * 1.0  # float32, non-leaf
    b = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64, requires_grad=True)
    a.mul_(b)
    assert a.dtype == torch.float32
    a.sum().backward()
    assert b.grad.dtype == torch.float64 and b.grad.tolist() == [1.0, 1.0, 1.0]


def test_inplace_keeps_retain_grad_and_frees_the_graph():
    before = live()
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    o = w * 2
    o.retain_grad()
    o.mul_(w)  # saves a copy of o's old values: no cycle through o
    o.sum().backward()
    assert o.grad.tolist() == [1.0, 1.0] and w.grad.tolist() == [4.0, -8.0]
    del o, w
    assert live() == before


def test_inplace_recording_refusals_and_the_saved_value_check():
    w = torch.ones(2, 2, requires_grad=True)
    o = w * 2
    view = o[0]
    with pytest.raises(RuntimeError, match="add_: in-place operation on a tensor whose memory other "
                                           "tensors share"):
        o.add_(1)
    del view
    s = torch.sigmoid(w)  # saves its output for backward
    with pytest.raises(RuntimeError, match="mul_: in-place operation on a tensor whose memory"):
        s.mul_(2)
    from pyautodiff._ffi import raise_error

    with pytest.raises(RuntimeError, match="eq_: not differentiable"):  # (no Python eq_ yet)
        raise_error(lib.pa_binary_(lib.PA_BIN_EQ, (w * 1)._h, torch.ones(2, 2)._h))
    filled = w * 1
    filled.fill_(0.5)  # recorded: its old values get a zero gradient, as in PyTorch
    assert filled.requires_grad and filled.tolist() == [[0.5, 0.5], [0.5, 0.5]]
    o = w * 2
    y = o * w  # saves o
    o.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_inplace_matches_pytorch(pt):
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((4, 3), (3, 5), (4, 5), (5,))]
    results = []
    for lib_ in (torch, pt):
        x, w, skip, g = (lib_.tensor(a, requires_grad=i > 0) for i, a in enumerate(arrays))
        out = x @ w
        out += skip
        out.mul_(g)
        out.sub_(0.5)
        out.relu().sum().backward()
        results.append([t.detach().numpy() for t in (out, w.grad, skip.grad, g.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_retain_graph_allows_a_second_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_no_grad_records_nothing():
    x = torch.ones(3, requires_grad=True)
    with torch.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert torch.is_grad_enabled()

    @torch.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad


def test_detach_shares_memory_and_stops_gradients():
    x = torch.ones(3, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    with torch.no_grad():
        x.add_(1)
    assert d.tolist() == [2.0, 2.0, 2.0]


def test_grad_fn_names():
    x = torch.ones(2, 2, requires_grad=True)
    assert (x @ x).grad_fn.name() == "MmBackward"
    assert x.sum().grad_fn.name() == "SumBackward"
    assert x.is_leaf and not (x * 1).is_leaf


def test_non_scalar_backward_with_gradient():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.backward(torch.tensor([1.0, 0.5]))
    assert x.grad.tolist() == [2.0, 2.0]


def test_broadcast_gradient_is_summed_to_input_shape():
    a = torch.ones(3, 1, requires_grad=True)
    b = torch.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.tolist() == [[4.0], [4.0], [4.0]]
    assert b.grad.tolist() == [3.0] * 4


def test_graph_and_buffers_are_freed_after_backward():
    import pyautodiff.nn as nn

    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 3))
    x = torch.randn(8, 20)
    t = torch.randint(0, 3, (8,))
    loss_fn = nn.CrossEntropyLoss()
    # Warm up, then measure: every step must return the counters to the same values.
    for _ in range(2):
        loss = loss_fn(model(x), t)
        loss.backward()
        del loss
    model.zero_grad()
    base = live()
    for _ in range(5):
        loss = loss_fn(model(x), t)
        nodes_during = lib.pa_live_nodes()
        loss.backward()
        del loss
        model.zero_grad()
        assert live() == base
    assert nodes_during > base[0]


def test_saved_buffers_released_by_backward_before_graph_dies():
    x = torch.randn(256, 256, requires_grad=True)
    y = x.exp()  # saves its 256 KiB output
    z = y.sum()
    del y
    before = live()[2]
    z.backward()
    x.grad = None
    after = live()[2]
    assert before - after == 256 * 256 * 4  # the saved exp output is gone although z (and its graph) live
    del z


def test_deep_chain_does_not_overflow_the_stack():
    x = torch.ones(1, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    del y


def test_threads_setting():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    assert torch.get_num_threads() == 1
    torch.set_num_threads(n)
    with pytest.raises(ValueError):
        torch.set_num_threads(0)


def test_gradients_of_many_slices_add_into_one_region_each():
    # x[t], chunk pieces and narrow views send their gradients straight into their region
    # of the base's gradient; the sums must be those of whole zero-padded gradients,
    # whether the base also gets a whole gradient, is a leaf, keeps its gradient
    # (retain_grad), has a hook, or is differentiated through autograd.grad.
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((5, 3, 4))
    w = rng.standard_normal((5, 3, 4))

    def program(x, base_hook=None):
        y = x * 2.0                                   # a non-leaf base
        y.retain_grad()
        if base_hook:
            y.register_hook(base_hook)
        parts = [y[t].sum(0) * float(t + 1) for t in range(5)]          # select
        a, b = y.chunk(2, dim=2)                                         # slices
        tail = y[1:4, :, ::2]                                            # strided slice
        total = sum(p.sum() for p in parts) + (a * 3).sum() + (b ** 2).sum() + (tail * tail).sum()
        total = total + (y * torch.tensor(w)).sum()                      # a whole gradient too
        x_parts = [x[t, 1] for t in range(5)]                            # slices of the leaf
        return total + sum((p * p).sum() for p in x_parts), y

    def numpy_grads():
        y = xv * 2
        gy = np.zeros_like(y)
        for t in range(5):
            gy[t] += t + 1
        gy[:, :, :2] += 3
        gy[:, :, 2:] += 2 * y[:, :, 2:]
        gy[1:4, :, ::2] += 2 * y[1:4, :, ::2]
        gy += w
        gx = 2 * gy
        gx[:, 1] += 2 * xv[:, 1]
        return gx, gy

    gx_want, gy_want = numpy_grads()
    x = torch.tensor(xv, requires_grad=True)
    out, y = program(x)
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), gx_want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), gy_want, rtol=1e-12, atol=1e-12)
    seen = []
    x2 = torch.tensor(xv, requires_grad=True)
    out2, _ = program(x2, base_hook=lambda g: seen.append(g.numpy().copy()))
    (gx2,) = torch.autograd.grad(out2, [x2])
    np.testing.assert_allclose(gx2.numpy(), gx_want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(seen[0], gy_want, rtol=1e-12, atol=1e-12)
    # a leaf whose slices get gradients accumulates into an existing .grad
    x3 = torch.tensor(xv, requires_grad=True)
    x3.grad = torch.ones(5, 3, 4, dtype=torch.float64)
    sum((x3[t] * float(t)).sum() for t in range(5)).backward()
    np.testing.assert_array_equal(x3.grad.numpy(), 1 + np.arange(5.0)[:, None, None] * np.ones((5, 3, 4)))
    # a leaf with a hook gets the whole gradient of each slice
    x4 = torch.tensor(xv, requires_grad=True)
    shapes = []
    x4.register_hook(lambda g: shapes.append(tuple(g.shape)))
    (x4[0].sum() + x4[1].sum()).backward()
    assert shapes == [(5, 3, 4), (5, 3, 4)]
    np.testing.assert_array_equal(x4.grad.numpy()[:2], np.ones((2, 3, 4)))
    np.testing.assert_array_equal(x4.grad.numpy()[2:], np.zeros((3, 3, 4)))


def test_detach_in_place_cuts_the_graph_and_frees_it():
    gc.collect()
    nodes = lib.pa_live_nodes()
    w = torch.ones(3, requires_grad=True)
    h = w * 2
    out = h + 1
    assert out.detach_() is out and not out.requires_grad and out.grad_fn is None
    assert out.tolist() == [3.0, 3.0, 3.0]
    (h * h).sum().backward()  # the rest of the graph still works
    assert w.grad.tolist() == [8.0, 8.0, 8.0]
    del h
    gc.collect()
    assert lib.pa_live_nodes() == nodes
    leaf = torch.ones(2, requires_grad=True)
    assert leaf.detach_() is leaf and not leaf.requires_grad
    # truncated backpropagation through time: the hidden state leaves the graph each chunk
    cell = torch.nn.RNNCell(2, 3)
    hidden = torch.zeros(1, 3)
    for _ in range(3):
        hidden = cell(torch.ones(1, 2), hidden)
        hidden.sum().backward()
        hidden.detach_()
    assert cell.weight_hh.grad is not None and hidden.grad_fn is None


def test_detach_in_place_refuses_a_view_of_a_graph_tensor():
    y = torch.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="Can't detach views in-place. Use detach\\(\\) instead"):
        y[:2].detach_()
    with pytest.raises(RuntimeError, match="Can't detach views in-place"):
        y.view(3, 1).detach_()
