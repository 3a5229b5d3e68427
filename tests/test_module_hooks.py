"""Module forward hooks and forward pre-hooks, ParameterList / ParameterDict, and the
nn.init functions trunc_normal_, orthogonal_, eye_ and dirac_ (compared with PyTorch
where it is installed)."""
import copy
import math
import warnings

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff import nn


# ---- forward hooks and pre-hooks ----------------------------------------------------------
def _hooked_run(lib):
    """Registers pre-hooks and hooks of every flavour on a small model, runs it once, and
    returns (the log of calls, the output as NumPy)."""
    lib.manual_seed(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU())
    with lib.no_grad():
        for p in model.parameters():
            p.copy_(lib.tensor(np.linspace(-1, 1, p.numel()).reshape(tuple(p.shape)), dtype=p.dtype))
    log = []

    def desc(v):
        if isinstance(v, tuple):
            return tuple(desc(x) for x in v)
        if isinstance(v, dict):
            return {k: desc(x) for k, x in v.items()}
        return tuple(v.shape) if hasattr(v, "shape") else v

    lin = model[0]
    lin.register_forward_pre_hook(lambda m, args: log.append(("pre1", type(m).__name__, desc(args))))
    lin.register_forward_pre_hook(lambda m, args: (log.append(("pre2", desc(args))), args[0] * 2)[1])
    lin.register_forward_pre_hook(lambda m, args: log.append(("pre0", desc(args))), prepend=True)
    lin.register_forward_pre_hook(lambda m, args, kwargs: log.append(("prekw", desc(args), desc(kwargs))),
                                  with_kwargs=True)
    lin.register_forward_hook(lambda m, args, out: log.append(("fwd1", desc(args), desc(out))))
    lin.register_forward_hook(lambda m, args, out: out + 1)
    lin.register_forward_hook(lambda m, args, out: log.append(("fwd0", desc(out))), prepend=True)
    lin.register_forward_hook(lambda m, args, kwargs, out: log.append(("fwdkw", desc(kwargs), desc(out))),
                              with_kwargs=True)
    model.register_forward_hook(lambda m, args, out: log.append(("outer", type(m).__name__, desc(out))))
    out = model(lib.ones(2, 3))
    log.append(("result",))
    return log, out.detach().numpy()


def test_hook_order_arguments_and_replacements_match_pytorch(pt):
    log, out = _hooked_run(torch)
    log_pt, out_pt = _hooked_run(pt)
    assert log == log_pt
    np.testing.assert_allclose(out, out_pt, rtol=1e-6)
    assert [e[0] for e in log] == ["pre0", "pre1", "pre2", "prekw", "fwd0", "fwd1", "fwdkw", "outer", "result"]


def test_pre_hook_replaces_args_and_a_non_tuple_is_wrapped():
    m = nn.Identity()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: torch.full((2,), 7.0))  # not a tuple
    m.register_forward_pre_hook(lambda mod, args: seen.append(args))
    out = m(torch.zeros(2))
    assert isinstance(seen[0], tuple) and len(seen[0]) == 1
    assert out.tolist() == [7.0, 7.0]


def test_hooks_get_kwargs_and_a_kwargs_pre_hook_can_replace_them():
    class Scale(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Scale()
    got = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"scale": kwargs["scale"] * 10}),
                                with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: got.append(dict(kwargs)), with_kwargs=True)
    assert m(torch.ones(1), scale=2.0).item() == 20.0
    assert got == [{"scale": 20.0}]


@pytest.mark.parametrize("lib_name", ["pyautodiff", "torch"])
def test_bad_kwargs_pre_hook_result_raises(lib_name, request):
    lib = torch if lib_name == "pyautodiff" else request.getfixturevalue("pt")
    m = lib.nn.Identity()
    m.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of \(new_args, new_kwargs\)"):
        m(lib.ones(1))


def _always_call_run(lib):
    class Boom(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    log = []
    m.register_forward_hook(lambda mod, args, out: log.append(("plain", out)))
    m.register_forward_hook(lambda mod, args, out: log.append(("always", out)), always_call=True)

    def failing(mod, args, out):
        raise KeyError("hook failed")

    m.register_forward_hook(failing, always_call=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="boom"):
            m(lib.ones(1))
    return log, [str(w.message) for w in caught]


def test_always_call_hooks_run_when_forward_raises(pt):
    log, warned = _always_call_run(torch)
    assert log == [("always", None)]
    assert len(warned) == 1 and "always_call=True" in warned[0] and "hook failed" in warned[0]
    assert (log, warned) == _always_call_run(pt)


def test_always_call_hook_is_not_run_twice_when_a_later_hook_raises():
    m = nn.Identity()
    calls = []
    m.register_forward_hook(lambda mod, args, out: calls.append("always"), always_call=True)

    def bad(mod, args, out):
        raise RuntimeError("late")

    m.register_forward_hook(bad)
    with pytest.raises(RuntimeError, match="late"):
        m(torch.ones(1))
    assert calls == ["always"]


def test_remove_handle_and_context_manager():
    m = nn.Linear(2, 2)
    calls = []
    h1 = m.register_forward_hook(lambda mod, args, out: calls.append("f"))
    h2 = m.register_forward_pre_hook(lambda mod, args: calls.append("p"))
    assert isinstance(h1.id, int) and h1.id != h2.id
    m(torch.ones(1, 2))
    assert calls == ["p", "f"]
    h1.remove()
    h1.remove()  # a second remove is harmless
    m(torch.ones(1, 2))
    assert calls == ["p", "f", "p"]
    h2.remove()
    m(torch.ones(1, 2))
    assert calls == ["p", "f", "p"]
    assert not m._forward_hooks and not m._forward_pre_hooks and not m._forward_hooks_with_kwargs
    assert not m._has_hooks  # back on the fast path
    with m.register_forward_hook(lambda mod, args, out: calls.append("ctx")):
        m(torch.ones(1, 2))
    m(torch.ones(1, 2))
    assert calls == ["p", "f", "p", "ctx"]


def test_hook_can_remove_itself_during_the_call():
    m = nn.Identity()
    calls = []
    handles = []

    def once(mod, args, out):
        calls.append("once")
        handles[0].remove()

    handles.append(m.register_forward_hook(once))
    m.register_forward_hook(lambda mod, args, out: calls.append("other"))
    m(torch.ones(1))
    m(torch.ones(1))
    assert calls == ["once", "other", "other"]


def test_handle_removes_the_extra_dict_entries():
    m = nn.Identity()
    h = m.register_forward_hook(lambda *a: None, with_kwargs=True, always_call=True)
    p = m.register_forward_pre_hook(lambda *a: None, with_kwargs=True)
    assert h.id in m._forward_hooks_with_kwargs and h.id in m._forward_hooks_always_called
    h.remove()
    p.remove()
    assert not m._forward_hooks_with_kwargs and not m._forward_hooks_always_called
    assert not m._forward_pre_hooks_with_kwargs


def test_forward_hook_output_replacement_is_differentiated():
    m = nn.Linear(3, 1)
    m.register_forward_hook(lambda mod, args, out: out * 3)
    x = torch.ones(2, 3)
    m(x).sum().backward()
    np.testing.assert_allclose(m.bias.grad.numpy(), [6.0])
    np.testing.assert_allclose(m.weight.grad.numpy(), np.full((1, 3), 6.0))


def test_capturing_activations_of_submodules(pt):
    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 2))
        model.load_state_dict({k: lib.tensor(np.arange(v.numel(), dtype=np.float32).reshape(tuple(v.shape)) / 10)
                               for k, v in model.state_dict().items()})
        acts = {}
        for name, sub in model.named_children():
            sub.register_forward_hook(lambda mod, args, out, name=name: acts.__setitem__(name, out.detach().numpy()))
        model(lib.tensor(np.linspace(-1, 1, 8, dtype=np.float32).reshape(2, 4)))
        return acts

    ours, theirs = run(torch), run(pt)
    assert sorted(ours) == sorted(theirs) == ["0", "1", "2"]
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-5, atol=1e-6)


def test_hooks_leave_state_dict_parameters_and_attributes_alone(pt):
    m = nn.Linear(2, 3)
    m.register_forward_hook(lambda *a: None)
    m.register_forward_pre_hook(lambda *a: None)
    assert list(m.state_dict()) == ["weight", "bias"] == list(pt.nn.Linear(2, 3).state_dict())
    assert len(list(m.parameters())) == 2 and list(m.children()) == []
    m.extra = 5
    assert m.extra == 5
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        m.missing


def test_deepcopy_of_a_hooked_model(pt):
    for lib in (torch, pt):
        m = lib.nn.Sequential(lib.nn.Linear(2, 2))
        calls = []
        h = m[0].register_forward_hook(lambda mod, args, out: calls.append(mod))
        c = copy.deepcopy(m)
        c(lib.ones(1, 2))
        assert calls == [c[0]]  # the copy keeps the hook, called with the copy
        h.remove()  # the handle belongs to the original's hook dict
        c(lib.ones(1, 2))
        m(lib.ones(1, 2))
        assert calls == [c[0], c[0]]
        assert c[0].weight is not m[0].weight


def test_deepcopy_of_an_unhooked_model_still_works():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    c = copy.deepcopy(m)
    np.testing.assert_allclose(c(torch.ones(1, 2)).detach().numpy(), m(torch.ones(1, 2)).detach().numpy())
    assert not c._has_hooks and list(c.state_dict()) == list(m.state_dict())


def test_module_without_init_call_is_still_callable():
    class NoInit(nn.Module):
        def __init__(self):  # (does not call Module.__init__, as some user code does)
            pass

        def forward(self, x):
            return x + 1

    assert NoInit()(torch.zeros(1)).item() == 1.0


# ---- ParameterList and ParameterDict ----------------------------------------------------
def _with_containers(lib):
    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.plist = lib.nn.ParameterList([lib.nn.Parameter(lib.zeros(2, 3)), lib.zeros(4)])
            self.plist.append(lib.nn.Parameter(lib.ones(1)))
            self.plist.extend([lib.ones(2, 2)])
            self.pdict = lib.nn.ParameterDict({"b": lib.nn.Parameter(lib.ones(3)), "a": lib.zeros(2)})
            self.pdict["c"] = lib.ones(1)
            self.lin = lib.nn.Linear(2, 2)

    return Net()


def test_parameter_containers_state_dict_keys_match_pytorch(pt):
    ours, theirs = _with_containers(torch), _with_containers(pt)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.plist.state_dict()) == ["0", "1", "2", "3"]
    for k, v in ours.state_dict().items():
        assert tuple(v.shape) == tuple(theirs.state_dict()[k].shape)
    assert repr(ours.plist) == repr(theirs.plist)
    assert repr(ours.pdict) == repr(theirs.pdict)


def test_parameter_list_behaves_like_a_list():
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.ones(3))
    pl = nn.ParameterList([a])
    pl.append(b)
    assert len(pl) == 2 and pl[0] is a and pl[1] is b and pl[-1] is b and list(pl) == [a, b]
    t = torch.full((2,), 5.0)
    pl += [t]
    assert isinstance(pl[2], nn.Parameter) and pl[2].requires_grad and pl[2].tolist() == [5.0, 5.0]
    sub = pl[1:]
    assert isinstance(sub, nn.ParameterList) and list(sub) == [b, pl[2]]
    pl[0] = torch.ones(2)
    assert isinstance(pl[0], nn.Parameter) and pl[0] is not a
    assert [p.shape for p in pl.parameters()] == [(2,), (3,), (2,)]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        pl[3]
    with pytest.raises(IndexError, match="index -4 is out of range"):
        pl[-4]
    with pytest.raises(TypeError, match="ParameterList.extend should be called with an iterable, but got Tensor"):
        pl.extend(torch.ones(2))
    with pytest.raises(RuntimeError, match="ParameterList should not be called"):
        pl(torch.ones(1))
    assert "0" not in dir(pl)


def test_parameter_list_is_trained_and_copied():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([nn.Parameter(torch.ones(2)) for _ in range(3)])

        def forward(self, x):
            for w in self.ws:
                x = x * w
            return x.sum()

    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net(torch.ones(2)).backward()
    opt.step()
    assert all(np.allclose(w.detach().numpy(), 0.9) for w in net.ws)
    c = copy.deepcopy(net)
    assert len(c.ws) == 3 and c.ws[0] is not net.ws[0]
    np.testing.assert_allclose(c.ws[0].detach().numpy(), net.ws[0].detach().numpy())
    net.load_state_dict({k: v * 0 for k, v in net.state_dict().items()})
    assert net.ws[2].tolist() == [0.0, 0.0]


def test_parameter_dict_behaves_like_a_dict(pt):
    pd = nn.ParameterDict({"z": torch.ones(1), "a": torch.zeros(2)})
    assert list(pd) == ["a", "z"] == list(pt.nn.ParameterDict({"z": pt.ones(1), "a": pt.zeros(2)}))
    pd.update([("m", torch.ones(3)), ("b", torch.ones(4))])  # pairs keep their order
    assert list(pd.keys()) == ["a", "z", "m", "b"]
    assert "m" in pd and "q" not in pd and len(pd) == 4
    assert isinstance(pd["m"], nn.Parameter) and pd.get("q") is None
    m = pd.pop("m")
    assert m.shape == (3,) and "m" not in pd and [k for k, _ in pd.named_parameters()] == ["a", "z", "b"]
    del pd["z"]
    assert list(pd) == ["a", "b"] and [tuple(v.shape) for v in pd.values()] == [(2,), (4,)]
    assert dict(pd.items())["b"] is pd["b"]
    assert pd.setdefault("c", torch.ones(5)).shape == (5,) and list(pd.state_dict()) == ["a", "b", "c"]
    assert pd.popitem()[0] == "c"
    cp = pd.copy()
    assert list(cp) == ["a", "b"] and cp["a"] is pd["a"]
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = torch.ones(1)
    with pytest.raises(RuntimeError, match="ParameterDict should not be called"):
        pd()
    with pytest.raises(ValueError, match="has length 3; 2 is required"):
        pd.update([("a", 1, 2)])
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []


# ---- nn.init ------------------------------------------------------------------------------
def _truncated_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda x: 0.5 * math.erfc(-x / math.sqrt(2))  # noqa: E731
    z = Phi(be) - Phi(al)
    mu = mean + std * (phi(al) - phi(be)) / z
    var = std * std * (1 + (al * phi(al) - be * phi(be)) / z - ((phi(al) - phi(be)) / z) ** 2)
    return mu, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, -2.0, 2.0), (0.5, 2.0, -1.0, 3.0), (0.0, 0.02, -0.04, 0.04),
                                          (1.0, 1.0, 1.0, 8.0), (0.0, 1.0, 4.0, 5.0), (0.0, 1.0, -5.0, -4.0)])
def test_trunc_normal_bounds_and_moments(mean, std, a, b):
    w = torch.empty(400, 500, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the far-tail cases warn, as in PyTorch)
        out = nn.init.trunc_normal_(w, mean, std, a, b)
    assert out is w
    x = w.numpy()
    assert x.min() >= a and x.max() <= b
    mu, sd = _truncated_moments(mean, std, a, b)
    assert abs(x.mean() - mu) < 5 * sd / math.sqrt(x.size)
    assert abs(x.std() / sd - 1) < 0.01


def test_trunc_normal_matches_pytorch_statistics(pt):
    ours = nn.init.trunc_normal_(torch.empty(200000), 0.3, 1.5, -1.0, 2.0).numpy()
    pt.manual_seed(0)
    theirs = pt.nn.init.trunc_normal_(pt.empty(200000), 0.3, 1.5, -1.0, 2.0).numpy()
    assert ours.dtype == theirs.dtype == np.float32
    assert abs(ours.mean() - theirs.mean()) < 0.01 and abs(ours.std() - theirs.std()) < 0.01
    # the two samples come from the same distribution: compare their quantiles
    q = np.linspace(0.01, 0.99, 25)
    np.testing.assert_allclose(np.quantile(ours, q), np.quantile(theirs, q), atol=0.03)


def test_trunc_normal_is_in_place_unrecorded_and_seeded():
    p = nn.Parameter(torch.empty(30, 20))
    assert nn.init.trunc_normal_(p, std=0.02) is p
    assert p.requires_grad and p.grad_fn is None and p.grad is None
    assert float(p.detach().abs().max()) <= 2.0
    torch.manual_seed(3)
    a = nn.init.trunc_normal_(torch.empty(50)).tolist()
    torch.manual_seed(3)
    assert nn.init.trunc_normal_(torch.empty(50)).tolist() == a
    assert nn.init.trunc_normal_(torch.empty(0)).shape == (0,)


def test_trunc_normal_warns_and_checks_its_arguments(pt):
    for lib in (torch, pt):
        with pytest.warns(UserWarning, match="mean is more than 2 std from"):
            lib.nn.init.trunc_normal_(lib.empty(10), mean=10.0, std=1.0, a=-1.0, b=1.0)
    with pytest.raises(ValueError, match="trunc_normal_: std must be positive"):
        nn.init.trunc_normal_(torch.empty(3), std=0.0)
    with pytest.raises(ValueError, match="trunc_normal_: expected a <= b"):
        nn.init.trunc_normal_(torch.empty(3), a=1.0, b=-1.0)


@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8), (4, 2, 3, 3), (5, 1)])
def test_orthogonal_is_orthogonal(shape, pt):
    w = torch.empty(*shape)
    assert nn.init.orthogonal_(w, gain=1.5) is w
    m = w.numpy().reshape(shape[0], -1).astype(np.float64) / 1.5
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5)
    t = pt.nn.init.orthogonal_(pt.empty(*shape), gain=1.5)
    assert tuple(t.shape) == tuple(w.shape)
    mt = t.numpy().reshape(shape[0], -1) / 1.5
    np.testing.assert_allclose(mt @ mt.T if rows <= cols else mt.T @ mt, np.eye(min(rows, cols)), atol=1e-5)


def test_orthogonal_parameter_seeding_and_errors(pt):
    p = nn.Parameter(torch.empty(4, 4))
    nn.init.orthogonal_(p)
    assert p.requires_grad and p.grad_fn is None
    torch.manual_seed(7)
    a = nn.init.orthogonal_(torch.empty(3, 5)).tolist()
    torch.manual_seed(7)
    assert nn.init.orthogonal_(torch.empty(3, 5)).tolist() == a
    # the distribution is Haar: the entries of a random orthogonal matrix have mean 0 and
    # variance 1/n (a wrong sign correction would bias the diagonal)
    diag = np.array([np.diag(nn.init.orthogonal_(torch.empty(4, 4), gain=1).numpy()) for _ in range(3000)])
    assert abs(diag.mean()) < 0.03 and abs(diag.var() - 0.25) < 0.03
    assert nn.init.orthogonal_(torch.empty(0, 3)).shape == (0, 3)
    for lib in (torch, pt):
        with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
            lib.nn.init.orthogonal_(lib.empty(3))


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_matches_pytorch(shape, pt):
    w = nn.Parameter(torch.randn(*shape))
    assert nn.init.eye_(w) is w and w.requires_grad
    np.testing.assert_array_equal(w.detach().numpy(), pt.nn.init.eye_(pt.empty(*shape)).numpy())
    for lib in (torch, pt):
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            lib.nn.init.eye_(lib.empty(2, 2, 2))


@pytest.mark.parametrize("shape,groups", [((4, 4, 3), 1), ((6, 3, 3, 3), 1), ((4, 2, 3, 5), 2),
                                          ((3, 5, 3, 3, 3), 1), ((6, 2, 1, 4), 3)])
def test_dirac_matches_pytorch(shape, groups, pt):
    w = torch.randn(*shape)
    assert nn.init.dirac_(w, groups) is w
    np.testing.assert_array_equal(w.numpy(), pt.nn.init.dirac_(pt.empty(*shape), groups).numpy())


def test_dirac_keeps_a_convolutions_input(pt):
    conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
    nn.init.dirac_(conv.weight)
    x = torch.randn(2, 3, 5, 5)
    np.testing.assert_allclose(conv(x).detach().numpy(), x.numpy(), atol=1e-6)
    for lib in (torch, pt):
        with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
            lib.nn.init.dirac_(lib.empty(2, 2))
        with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
            lib.nn.init.dirac_(lib.empty(3, 2, 3), groups=2)


def test_parameter_dict_union(pt):
    a = nn.ParameterDict({"x": torch.ones(1)})
    b = nn.ParameterDict({"y": torch.ones(2)})
    assert list(a | b) == ["x", "y"] and list(b | a) == ["y", "x"]
    a |= b
    assert list(a) == ["x", "y"] and a["y"] is b["y"]


def test_repr_with_extra_repr_and_children_matches_pytorch(pt):
    def make(lib):
        class Block(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = lib.nn.Linear(2, 3)
                self.plist = lib.nn.ParameterList([lib.zeros(2)])

            def extra_repr(self):
                return "scale=2"

        return lib.nn.Sequential(Block(), lib.nn.ReLU())

    assert repr(make(torch)) == repr(make(pt))
