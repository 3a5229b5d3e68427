"""Regressions found by reviewing the in-place, indexing and compatibility-function work:
each test failed before its fix."""
import gc

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import lib


def live():
    gc.collect()
    return lib.pa_live_tensors(), lib.pa_live_nodes()


def test_inplace_ops_built_on_numpy_nodes_leave_no_cycle():
    before = live()
    for _ in range(3):
        w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a = w * 1
        a.index_add_(0, torch.tensor([0]), torch.tensor([5.0]))
        a.scatter_(0, torch.tensor([1]), 0.5)
        a.scatter_add_(0, torch.tensor([2]), w[:1] * 1)
        x = w * 1
        x.mul_(x.prod())
        h = w * 1
        h[torch.tensor([0, 0])] = w[1:] * 2
        (a.sum() + x.sum() + h.sum()).backward()
        del w, a, x, h
    assert live() == before


def test_gradients_use_the_values_the_forward_saw():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    p = y.prod()
    y.mul_(2)
    p.backward()
    assert x.grad.tolist() == [6.0, 3.0, 2.0]
    w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    e = torch.einsum("ij,jk->ik", w, torch.ones(2, 2))
    with torch.no_grad():
        w.mul_(10)
    e.sum().backward()
    assert w.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]


@pytest.mark.parametrize("eq,shapes", [("ii->", [(3, 3)]), ("ii->i", [(3, 3)]), ("ii,i->", [(3, 3), (3,)]),
                                       ("iij->j", [(3, 3, 2)]), ("bii->b", [(2, 3, 3)])])
def test_einsum_gradient_with_a_repeated_label(eq, shapes):
    rng = np.random.default_rng(0)
    xs = [torch.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(lambda *ts: torch.einsum(eq, *ts), xs, eps=1e-6, atol=1e-8, rtol=1e-6)


def test_norm_below_one_has_a_zero_gradient_at_zero_elements():
    x = torch.tensor([1.0, 0.0, -2.0], requires_grad=True)
    x.norm(p=0.5).backward()
    assert x.grad[1].item() == 0.0 and np.isfinite(x.grad.numpy()).all()
    y = torch.tensor([[1.0, 2.0]], requires_grad=True)
    torch.cdist(y, torch.tensor([[1.0, 3.0]]), p=0.5).sum().backward()
    assert y.grad.tolist() == [[0.0, -1.0]]


def test_pow_in_place_with_a_cast_keeps_its_saved_values():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.pow_(torch.tensor([2.0, 3.0], dtype=torch.float64))
    y.sum().backward()
    assert y.dtype == torch.float32 and x.grad.tolist() == [2.0, 12.0]


def test_a_hook_registered_before_an_in_place_op_can_be_removed():
    calls = []
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    handle = y.register_hook(lambda g: calls.append(g))
    y.mul_(3)
    handle.remove()
    y.sum().backward()
    assert calls == [] and x.grad.tolist() == [3.0, 3.0]


def test_recorded_setitem_gives_every_duplicate_its_gradient_and_joins_the_graph():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    v = torch.tensor([5.0, 6.0, 7.0], requires_grad=True)
    h = x * 1
    h[torch.tensor([0, 0, 1])] = v
    (h * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert h.tolist() == [6.0, 7.0, 3.0, 4.0]
    assert x.grad.tolist() == [0.0, 0.0, 3.0, 4.0] and v.grad.tolist() == [1.0, 1.0, 2.0]
    t = torch.tensor([1.0, 2.0])
    t[1:1] = torch.tensor([9.0], requires_grad=True)  # nothing written, but recorded
    assert t.requires_grad


def test_copy_fill_and_zero_are_recorded_as_pytorch_records_them():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
    a = torch.zeros(3)
    a.copy_(w * 2)  # a joins the graph
    b = x * 1
    b.copy_(w)  # b's old values get no gradient
    c = x * 3
    c.zero_()
    d = x * 1
    d.fill_(2.0)
    (a + 2 * b + c + 5 * d).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and w.grad.tolist() == [4.0, 4.0, 4.0]
    assert d.tolist() == [2.0, 2.0, 2.0] and c.requires_grad


def test_fill_and_zero_work_on_an_expanded_tensor():
    z = torch.zeros(1).expand(3)
    z.fill_(2.0)
    assert z.tolist() == [2.0, 2.0, 2.0]
    z.zero_()
    assert z.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("op", ["pow", "maximum", "minimum"])
def test_mixed_dtype_binary_gradients(op, pt):
    results = []
    for lib_ in (torch, pt):
        x = lib_.tensor([1.0, 2.0, 0.5], requires_grad=True)
        e = lib_.tensor([2.0, 1.0, 0.5], dtype=lib_.float64, requires_grad=True)
        z = getattr(lib_, op)(x * 1, e)
        (z * lib_.tensor([1.0, 2.0, 3.0], dtype=lib_.float64)).sum().backward()
        results.append((x.grad.numpy(), e.grad.numpy()))
    for ours, theirs in zip(*results):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_mixed_dtype_pow_gradient_matches_finite_differences():
    x = torch.tensor([1.5, 2.0, 0.5], requires_grad=True)  # float32 base
    e = torch.tensor([2.0, 1.5, 0.5], dtype=torch.float64, requires_grad=True)
    y = x.pow(e)
    y.sum().backward()
    xv, ev = x.detach().numpy().astype(np.float64), e.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), ev * xv ** (ev - 1), rtol=1e-6)
    np.testing.assert_allclose(e.grad.numpy(), xv ** ev * np.log(xv), rtol=1e-12)


def test_amax_and_max_over_all_share_the_gradient_among_ties():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x = torch.tensor(a, requires_grad=True)
    (x.amax(1).sum() + x.max() + x.amin(0).sum() + x.max(1)[0].sum()).backward()
    want = np.array([[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])  # amax(1)
    want += [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]]  # max(): shared by the two 3s
    want += [[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]  # amin(0): no ties
    want += [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]  # max(dim): to the index only
    np.testing.assert_array_equal(x.grad.numpy(), want)
    n = torch.tensor([[1.0, float("nan"), float("nan")], [2.0, 2.0, 0.0]], requires_grad=True)
    n.max().backward()  # over all elements, the NaNs share
    np.testing.assert_array_equal(n.grad.numpy(), [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])
    m = torch.tensor([[1.0, float("nan")], [2.0, 2.0]], requires_grad=True)
    m.amax(1).sum().backward()  # a NaN row of amax: NaN throughout, as PyTorch
    assert np.isnan(m.grad.numpy()[0]).all() and m.grad.numpy()[1].tolist() == [0.5, 0.5]


def test_tie_gradients_match_pytorch(pt):
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    grads = []
    for lib_ in (torch, pt):
        x = lib_.tensor(a, requires_grad=True)
        (x.amax(1).sum() + x.max() * 2 + x.min() + lib_.amin(x, 0, keepdim=True).sum() + x.norm(float("inf"))).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(*grads)


# ---- sixth session's review (layers, attention, interpolate, pow, schedulers) ------------
def test_batch_first_attention_keeps_a_distinct_value(pt):
    tm = pt.nn.MultiheadAttention(8, 2, batch_first=True).double()
    pm = torch.nn.MultiheadAttention(8, 2, batch_first=True, dtype=torch.float64)
    pm.load_state_dict({k: torch.tensor(t.detach().numpy()) for k, t in tm.state_dict().items()})
    x, v = np.random.randn(3, 5, 8), np.random.randn(3, 5, 8)
    vt = torch.tensor(v, requires_grad=True)
    got = pm(torch.tensor(x), torch.tensor(x), vt)[0]
    want = tm(pt.tensor(x), pt.tensor(x), pt.tensor(v))[0]
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    got.sum().backward()
    assert vt.grad is not None


def test_a_fully_masked_attention_row_gives_zeros_not_nan():
    F = torch.nn.functional
    q, k, v = (torch.randn(1, 2, 3, 4, requires_grad=True) for _ in range(3))
    mask = torch.zeros(3, 3)
    mask[0] = float("-inf")
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert (out.detach().numpy()[:, :, 0] == 0).all() and np.isfinite(out.detach().numpy()).all()
    out.sum().backward()
    assert all(np.isfinite(t.grad.numpy()).all() for t in (q, k, v))
    layer = torch.nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)
    pad = torch.tensor([[False, False, True], [True, True, True]])
    y = layer(torch.randn(2, 3, 4), src_key_padding_mask=pad)
    y.sum().backward()
    assert np.isfinite(y.detach().numpy()).all()
    assert all(np.isfinite(p.grad.numpy()).all() for p in layer.parameters())


def test_interpolate_keeps_a_dim_whose_size_does_not_change(pt):
    x = np.arange(100.0).reshape(1, 1, 100)
    got = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=1.001, mode="linear").numpy()
    np.testing.assert_array_equal(got[..., -3:], [[[97.0, 98.0, 99.0]]])
    y = np.random.randn(1, 2, 5, 50)
    for kw in (dict(scale_factor=(2.0, 1.01), mode="bilinear"), dict(scale_factor=(1.01, 2.0)),
               dict(size=(7, 50), mode="bilinear", align_corners=True)):
        np.testing.assert_allclose(torch.nn.functional.interpolate(torch.tensor(y), **kw).numpy(),
                                   pt.nn.functional.interpolate(pt.tensor(y), **kw).numpy(), rtol=1e-12, atol=1e-12)


def test_pow_special_cases_only_for_python_numbers():
    x = torch.tensor([-0.0, -np.inf])
    np.testing.assert_array_equal((x ** torch.tensor(-0.5)).numpy(), [np.inf, 0.0])     # powf's
    np.testing.assert_array_equal((x ** torch.tensor([0.5])).numpy(), [0.0, np.inf])
    np.testing.assert_array_equal((x ** 0.5).numpy(), [-0.0, np.nan])                   # sqrt, as PyTorch


def test_dropout2d_takes_3d_input_as_n_c_l():
    F = torch.nn.functional
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        z = F.dropout2d(torch.ones(4, 6, 5), 0.5).numpy()
    assert (z.min(-1) == z.max(-1)).all()                       # whole (n, c) rows
    assert not (z.reshape(4, 30).min(-1) == z.reshape(4, 30).max(-1)).all()   # not whole samples
    with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input"):
        F.dropout1d(torch.ones(2, 3, 4, 5))


def test_cyclic_lr_state_dict_pickles_and_reloads():
    import pickle

    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9)
    for _ in range(4):
        opt.step()
        sched.step()
    state = pickle.loads(pickle.dumps(sched.state_dict()))
    opt2 = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    other = torch.optim.lr_scheduler.CyclicLR(opt2, 0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9)
    other.load_state_dict(state)
    opt.step()
    sched.step()
    opt2.step()
    other.step()
    assert other.get_last_lr() == sched.get_last_lr()


def test_shrink_and_threshold_pass_nan_through():
    F = torch.nn.functional
    nan = torch.tensor([float("nan"), 0.1, 2.0])
    assert np.isnan(F.threshold(nan, 1.0, -3.0).numpy()[0]) and F.threshold(nan, 1.0, -3.0).numpy()[1] == -3
    assert np.isnan(F.hardshrink(nan).numpy()[0]) and F.hardshrink(nan).numpy()[1] == 0
    assert np.isnan(F.softshrink(nan).numpy()[0]) and F.softshrink(nan).numpy()[2] == 1.5


def test_embedding_bag_max_of_empty_bags_stays_in_the_graph():
    w = torch.randn(5, 3, requires_grad=True)
    out = torch.nn.functional.embedding_bag(torch.tensor([[0, 0]]), w, mode="max", padding_idx=0)
    assert out.requires_grad and (out.detach().numpy() == 0).all()
    out.sum().backward()
    assert (w.grad.numpy() == 0).all()


def test_gaussian_nll_var_with_a_size_one_dim_anywhere_prelu_0d_movedim_0d(pt):
    F = torch.nn.functional
    x, t, v = np.random.randn(4, 3, 2, 2), np.random.randn(4, 3, 2, 2), np.random.rand(4, 1, 2, 2) + 0.1
    np.testing.assert_allclose(F.gaussian_nll_loss(torch.tensor(x), torch.tensor(t), torch.tensor(v)).item(),
                               pt.nn.functional.gaussian_nll_loss(pt.tensor(x), pt.tensor(t), pt.tensor(v)).item(),
                               rtol=1e-12)
    assert tuple(F.prelu(torch.tensor(-2.0), torch.tensor([0.25])).shape) == ()
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(torch.randn(3), torch.randn(3))
    assert tuple(torch.movedim(torch.tensor(1.0), 0, -1).shape) == ()


def test_lstm_cell_outputs_are_tensors_of_their_own_and_take_strided_state(pt):
    cell = torch.nn.LSTMCell(3, 4)
    h, c = cell(torch.randn(2, 3))
    h.mul_(2)                                   # in place on h, c saved by nothing else
    assert tuple(h.view(-1).shape) == (8,)
    c_t = torch.randn(4, 2).t()                 # columns strided
    h2, c2 = cell(torch.randn(2, 3), (torch.randn(2, 4), c_t))
    theirs = pt.nn.LSTMCell(3, 4)
    with pt.no_grad():
        for (_, p), (_, q) in zip(cell.named_parameters(), theirs.named_parameters()):
            q.copy_(pt.from_numpy(p.detach().numpy().copy()))
    x, hh, cc = np.random.randn(2, 3).astype(np.float32), np.random.randn(2, 4).astype(np.float32), \
        np.random.randn(4, 2).astype(np.float32)
    a = cell(torch.tensor(x), (torch.tensor(hh), torch.tensor(cc).t()))
    b = theirs(pt.tensor(x), (pt.tensor(hh), pt.tensor(cc).t()))
    np.testing.assert_allclose(a[1].detach().numpy(), b[1].detach().numpy(), rtol=1e-5, atol=1e-6)
    lstm = torch.nn.LSTM(2, 4)
    out, _ = lstm(torch.randn(3, 1, 2), (torch.zeros(1, 1, 4), torch.randn(4, 1, 1).permute(2, 1, 0)))
    assert tuple(out.shape) == (3, 1, 4)


def test_pow_decides_on_the_python_exponent_and_refuses_negative_integer_powers():
    x = torch.tensor([-0.0, -np.inf])
    np.testing.assert_array_equal((x ** 0.5000000001).numpy(), [0.0, np.inf])   # powf, not sqrt
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        torch.tensor([1, 2, -3]) ** -1
    y = torch.tensor([1.5, -2.0])
    alias = y
    y **= 2                                     # in place: the alias sees it
    np.testing.assert_array_equal(alias.numpy(), [2.25, 4.0])


def test_in_place_float_scalar_into_an_integer_tensor_is_refused():
    x = torch.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="result type float32 can't be cast to the desired output type int64"):
        x.mul_(1.5)
    x.add_(2)                                   # an int scalar is fine
    np.testing.assert_array_equal(x.numpy(), [3, 4, 5])


def test_conv_transpose_bad_calls_and_dropout2d_needs_two_dims():
    F = torch.nn.functional
    with pytest.raises(RuntimeError, match="non-positive groups is not supported"):
        F.conv_transpose2d(torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3), groups=0)
    with pytest.raises(RuntimeError, match=r"in_channels \(4\) must be divisible by groups \(3\)"):
        F.conv_transpose2d(torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3, 3), groups=3)
    with pytest.raises(RuntimeError, match="Expected 4D weight"):
        F.conv_transpose2d(torch.randn(1, 4, 5, 5), torch.randn(4, 2, 3))
    with pytest.raises(RuntimeError, match="expected non-empty input"):
        F.conv_transpose2d(torch.randn(1, 4, 0, 5), torch.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        torch.nn.ConvTranspose2d(2, 2, 3, stride=2)(torch.randn(1, 2, 4, 4), output_size=(1, 9, 9))
    with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"), \
            pytest.warns(UserWarning, match="Received a 1-D input to dropout2d"):
        F.dropout2d(torch.ones(5))


def test_logical_ops_cast_to_the_common_dtype_before_bool():
    # found by the long fuzz profile: a float64 0-dim subnormal-in-float32 value beside a
    # float32 tensor is 0 in their common dtype (float32), so false, as in PyTorch
    tiny = torch.tensor(2.31809252e-262, dtype=torch.float64)
    assert torch.logical_and(tiny, torch.tensor([1.0])).tolist() == [False]
    assert torch.logical_or(torch.tensor([0.0]), torch.tensor([1e-300], dtype=torch.float64)).tolist() == [True]
    assert torch.logical_and(torch.tensor([2, 0]), torch.tensor([True, True])).tolist() == [True, False]


# ---- seventh session: a review of the new optimizers, layers and distributions ----------
def test_lbfgs_line_search_budget_and_tolerance_are_pytorchs(pt):
    def run(T):
        x = T.zeros(2, dtype=T.float64, requires_grad=True)
        opt = T.optim.LBFGS([x], max_iter=2, line_search_fn="strong_wolfe")
        target = T.tensor([100.0, -30.0], dtype=T.float64)

        def closure():
            opt.zero_grad()
            loss = ((x - target) ** 2).sum() + (x ** 4).sum() * 1e-6
            loss.backward()
            return loss

        opt.step(closure)
        return x.detach().numpy(), opt.state[x]["func_evals"]

    (a, na), (b, nb) = run(torch), run(pt)
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert na == nb


def test_legacy_size_average_and_reduce_flags_are_honoured(pt):
    import warnings

    x = np.array([[0.1, 0.2, 0.4], [0.8, 0.1, 0.2]], np.float32)
    y = np.array([2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn, kw in (("multi_margin_loss", dict(reduce=False)), ("multi_margin_loss", dict(size_average=False)),
                       ("nll_loss", dict(size_average=False)), ("nll_loss", dict(reduce=False))):
            a = getattr(torch.nn.functional, fn)(torch.tensor(x), torch.tensor(y), **kw)
            b = getattr(pt.nn.functional, fn)(pt.tensor(x), pt.tensor(y), **kw)
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, err_msg=f"{fn} {kw}")
        for cls, kw in (("MultiMarginLoss", dict(size_average=False)), ("NLLLoss", dict(reduce=False)),
                        ("MSELoss", dict(size_average=False)), ("L1Loss", dict(reduce=False))):
            ours, theirs = getattr(torch.nn, cls)(**kw), getattr(pt.nn, cls)(**kw)
            assert ours.reduction == theirs.reduction, cls
    nan_row = torch.nn.functional.multi_margin_loss(torch.tensor([[float("nan"), 1.0, 2.0]]), torch.tensor([1]))
    assert abs(nan_row.item() - 2 / 3) < 1e-6  # the NaN term is skipped, as ATen


def test_distribution_dispatch_support_and_validation():
    D = torch.distributions

    class MyNormal(D.Normal):
        pass

    @D.register_kl(MyNormal, D.Normal)
    def _special(p, q):
        return torch.tensor(123.0)

    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 123.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 0.0
    assert D.Uniform(0.0, 2.0).log_prob(torch.tensor(2.0)).item() == float("-inf")
    assert D.Uniform(0.0, 2.0).icdf(torch.tensor(0.25)).item() == 0.5
    for bad in (lambda: D.Bernoulli(torch.tensor([1.5])), lambda: D.Categorical(torch.tensor([-0.5, 1.0])),
                lambda: D.Normal(torch.tensor([float("nan")]), 1.0),
                lambda: D.Normal(0.0, 1.0).log_prob(torch.tensor([float("nan")])),
                lambda: D.Normal(0.0, 1.0).log_prob(0.5)):
        with pytest.raises(ValueError):
            bad()
    assert repr(D.Bernoulli(probs=torch.tensor([0.3]))) == "Bernoulli(probs: tensor([0.3000]))"


def test_layer_edge_cases():
    F = torch.nn.functional
    assert tuple(F.fold(torch.zeros(0, 12, 4), (3, 3), 2).shape) == (0, 3, 3, 3)
    assert tuple(F.adaptive_max_pool1d(torch.zeros(0, 3, 5), 2).shape) == (0, 3, 2)
    assert tuple(F.adaptive_max_pool1d(torch.ones(1, 2, 5), 0).shape) == (1, 2, 0)
    _, idx = F.adaptive_max_pool1d(torch.tensor([[[1.0, float("nan"), 3.0, float("nan")]]]), 1, return_indices=True)
    assert idx.item() == 3
    x = torch.tensor([-1.0, 2.0], requires_grad=True)
    F.leaky_relu_(x * 1, 0.1).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.1, 1.0])
    w = torch.tensor([[0.0, 0.0], [1.0, 1.0]], requires_grad=True)
    F.pdist(w, p=0).sum().backward()
    assert w.grad.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(IndexError, match="Dimension out of range"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.nn.utils.weight_norm(torch.nn.Linear(4, 3), dim=2)


def test_python_bool_scalars_keep_the_tensors_dtype(pt):
    """A Python bool beside a tensor is a bool (PyTorch's wrapped number): True + a bool
    tensor stays bool; it used to be read as the int 1 and give int64."""
    for fn in (lambda T: T.tensor([True, False]) + True, lambda T: T.tensor([True]) * False,
               lambda T: T.tensor([1, 2]) + True, lambda T: T.tensor([1.5]) * True,
               lambda T: T.tensor([1, 2]) == True, lambda T: False | T.tensor([True, False])):  # noqa: E712
        a, b = fn(torch), fn(pt)
        assert a.dtype.name == str(b.dtype).replace("torch.", "") and a.tolist() == b.tolist()
    assert str(torch.result_type(True, False)) == "torch.bool"
