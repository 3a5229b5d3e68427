"""The activations, one_hot, normalize, pad, kl_div and Unflatten composed from core ops:
values against NumPy formulas, float64 gradients against finite differences, values,
gradients, edge points and reprs against PyTorch when it is installed, and the errors for
bad arguments."""
import warnings

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck


def _t(a, dtype=np.float64, requires_grad=False):
    return torch.tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)


def _softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(np.minimum(x * beta, threshold))) / beta)


# name -> (kwargs, NumPy formula of x); kwargs go to both the function and PyTorch's.
ACTIVATIONS = {
    "silu": ({}, lambda x: x / (1 + np.exp(-x))),
    "softplus": ({}, _softplus_ref),
    "softplus_beta": ({"beta": 2.0, "threshold": 5.0}, lambda x: _softplus_ref(x, 2.0, 5.0)),
    "elu": ({}, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    "elu_alpha": ({"alpha": 0.7}, lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0)))),
    "hardtanh": ({}, lambda x: np.clip(x, -1, 1)),
    "hardtanh_range": ({"min_val": -0.5, "max_val": 2.0}, lambda x: np.clip(x, -0.5, 2.0)),
    "relu6": ({}, lambda x: np.clip(x, 0, 6)),
    "mish": ({}, lambda x: x * np.tanh(_softplus_ref(x))),
    "hardswish": ({}, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "hardsigmoid": ({}, lambda x: np.clip(x + 3, 0, 6) / 6),
    "softsign": ({}, lambda x: x / (1 + np.abs(x))),
}
KINKS = {"hardtanh": [-1, 1], "hardtanh_range": [-0.5, 2.0], "relu6": [0, 6], "hardswish": [-3, 3],
         "hardsigmoid": [-3, 3], "elu": [0], "elu_alpha": [0], "softsign": [0],
         "softplus": [20], "softplus_beta": [2.5]}


def _function(name):
    return getattr(F, name.split("_")[0])  # "elu_alpha" -> F.elu


def _inputs(name, n=41, spread=8.0):
    """float64 points spread over the interesting range, each at least 1e-3 from a kink."""
    x = np.linspace(-spread, spread, n) + 0.0123
    for k in KINKS.get(name, []):
        x = np.where(np.abs(x - k) < 1e-3, x + 5e-3, x)
    return x


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_match_numpy(name, dtype):
    kwargs, ref = ACTIVATIONS[name]
    x = np.concatenate([_inputs(name), [-30.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 19.9, 20.0, 20.1, 30.0, 100.0]])
    got = _function(name)(_t(x, dtype), **kwargs)
    assert got.dtype == _t(x, dtype).dtype
    want = ref(x.astype(dtype).astype(np.float64))
    tol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(got.numpy().astype(np.float64), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_gradcheck(name):
    kwargs, _ = ACTIVATIONS[name]
    x = _t(_inputs(name, n=23), requires_grad=True)
    assert gradcheck(lambda a: _function(name)(a, **kwargs), [x])


@pytest.mark.parametrize("name", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_values_and_gradients_match_pytorch(pt, name, dtype):
    """Including the kinks and switch points themselves, where the gradient is what PyTorch
    defines (e.g. 0 at hardtanh's bounds, alpha at elu's 0)."""
    kwargs, _ = ACTIVATIONS[name]
    x = np.concatenate([_inputs(name), KINKS.get(name, []), [-3.0, -1.0, 0.0, 1.0, 3.0, 6.0, 20.0, 40.0, -40.0]])
    ours_x = _t(x, getattr(np, dtype), requires_grad=True)
    ref_x = pt.tensor(x, dtype=getattr(pt, dtype), requires_grad=True)
    ours = _function(name)(ours_x, **kwargs)
    ref = getattr(pt.nn.functional, _function(name).__name__)(ref_x, **kwargs)
    weights = np.linspace(0.5, 1.5, x.size)
    (ours * _t(weights, getattr(np, dtype))).sum().backward()
    (ref * pt.tensor(weights, dtype=getattr(pt, dtype))).sum().backward()
    tol = 1e-12 if dtype == "float64" else 2e-6
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    # hardsigmoid's backward multiplies by the float32 constant 1/6 even in float64.
    gtol = 1e-7 if name == "hardsigmoid" else tol
    np.testing.assert_allclose(ours_x.grad.numpy(), ref_x.grad.numpy(), rtol=gtol, atol=gtol)


def _grad_at(name, points, **kwargs):
    x = _t(points, requires_grad=True)
    _function(name)(x, **kwargs).sum().backward()
    return x.grad.numpy()


def test_gradients_at_the_edges():
    assert list(_grad_at("hardtanh", [-1.0, 1.0, 0.0])) == [0.0, 0.0, 1.0]
    assert list(_grad_at("relu6", [0.0, 6.0, 3.0])) == [0.0, 0.0, 1.0]
    assert list(_grad_at("hardsigmoid", [-3.0, 3.0])) == [0.0, 0.0]
    assert list(_grad_at("hardswish", [-3.0, 3.0, 0.0])) == [0.0, 1.0, 0.5]
    assert list(_grad_at("elu", [0.0], alpha=2.0)) == [2.0]
    assert list(_grad_at("softsign", [0.0])) == [1.0]
    # softplus: log1p(exp(beta x)) / beta up to beta x == threshold, x beyond it.
    below, at, above = _grad_at("softplus", [9.99, 10.0, 10.01], beta=2.0)
    assert below == pytest.approx(1 / (1 + np.exp(-19.98)), rel=1e-12)
    assert at == pytest.approx(1 / (1 + np.exp(-20.0)), rel=1e-12) and at < 1.0
    assert above == 1.0


@pytest.mark.parametrize("name", ["softplus", "elu", "mish", "silu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_inputs_give_finite_gradients(name, dtype):
    """exp overflows for these inputs; the branch not taken must not turn it into NaN."""
    x = _t([-1000.0, -100.0, 100.0, 1000.0], dtype, requires_grad=True)
    y = _function(name)(x)
    y.sum().backward()
    assert np.isfinite(y.detach().numpy()).all()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_allclose(x.grad.numpy()[2:], [1.0, 1.0])


def test_integer_inputs():
    ints = torch.tensor([-7, -1, 0, 2, 9])
    assert F.hardtanh(ints).tolist() == [-1, -1, 0, 1, 1] and F.hardtanh(ints).dtype == torch.int64
    assert F.relu6(ints).tolist() == [0, 0, 0, 2, 6]
    assert F.softsign(torch.tensor([1, 3])).tolist() == [0.5, 0.75]
    for name in ("silu", "softplus", "elu", "mish", "hardswish", "hardsigmoid"):
        with pytest.raises(NotImplementedError, match=f"^{name}: not implemented for int64"):
            getattr(F, name)(ints)


def test_bad_arguments_name_the_function():
    x = torch.randn(3)
    with pytest.raises(ValueError, match="^hardtanh: min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    assert F.hardtanh(x, 0.5, 0.5).tolist() == [0.5] * 3  # allowed by F, as in PyTorch
    with pytest.raises(AssertionError, match=r"^Hardtanh: max_val \(1\) must be greater than min_val \(1\)"):
        nn.Hardtanh(1, 1)
    with pytest.raises(TypeError, match="^silu: argument 'input' must be a Tensor, not list"):
        F.silu([1.0])
    with pytest.raises(TypeError, match="^relu6: argument 'input' must be a Tensor"):
        F.relu6(1.0)
    with pytest.raises(ValueError, match="^elu: alpha must be finite, got inf"):
        F.elu(x, float("inf"))
    with pytest.raises(ValueError, match="^softplus: beta must be finite and non-zero, got 0"):
        F.softplus(x, beta=0.0)
    with pytest.raises(ValueError, match="^softplus: threshold must not be NaN"):
        F.softplus(x, threshold=float("nan"))


@pytest.mark.parametrize("name, key, node", [("elu", "elu_alpha", "EluBackward"),
                                             ("softplus", "softplus_beta", "SoftplusBackward"),
                                             ("hardsigmoid", "hardsigmoid", "HardsigmoidBackward"),
                                             ("hardswish", "hardswish", "HardswishBackward"),
                                             ("hardtanh", "hardtanh_range", "HardtanhBackward"),
                                             ("relu6", "relu6", "HardtanhBackward")])
def test_one_op_each_way_on_strided_and_broadcast_gradients(name, key, node):
    # these are one C op each way: a transposed input, and an expanded incoming gradient,
    # against the contiguous results and the NumPy formula; NaN stays NaN.
    kwargs = ACTIVATIONS[key][0]
    rng = np.random.default_rng(1)
    base = rng.normal(0, 4, (5, 7))
    x = _t(base, requires_grad=True)
    y = getattr(F, name)(x.t(), **kwargs)
    assert y.grad_fn.name() == node
    assert np.isnan(getattr(F, name)(_t([np.nan]), **kwargs).numpy()).all()
    ref = ACTIVATIONS[key][1]
    np.testing.assert_allclose(y.detach().numpy(), ref(base.T), rtol=1e-12, atol=1e-12)
    y.sum().backward()  # an expanded gradient of ones
    x2 = _t(base.T.copy(), requires_grad=True)
    getattr(F, name)(x2, **kwargs).backward(torch.ones(7, 5))
    np.testing.assert_array_equal(x.grad.numpy(), x2.grad.numpy().T)


MODULES = [
    (lambda L: L.nn.SiLU(), "SiLU()"),
    (lambda L: L.nn.SiLU(inplace=True), "SiLU(inplace=True)"),
    (lambda L: L.nn.Softplus(), "Softplus(beta=1.0, threshold=20.0)"),
    (lambda L: L.nn.Softplus(beta=2, threshold=5), "Softplus(beta=2, threshold=5)"),
    (lambda L: L.nn.ELU(), "ELU(alpha=1.0)"),
    (lambda L: L.nn.ELU(alpha=0.5, inplace=True), "ELU(alpha=0.5, inplace=True)"),
    (lambda L: L.nn.Hardtanh(), "Hardtanh(min_val=-1.0, max_val=1.0)"),
    (lambda L: L.nn.Hardtanh(-2, 3, inplace=True), "Hardtanh(min_val=-2, max_val=3, inplace=True)"),
    (lambda L: L.nn.ReLU6(), "ReLU6()"),
    (lambda L: L.nn.ReLU6(inplace=True), "ReLU6(inplace=True)"),
    (lambda L: L.nn.Mish(), "Mish()"),
    (lambda L: L.nn.Hardswish(), "Hardswish()"),
    (lambda L: L.nn.Hardsigmoid(inplace=True), "Hardsigmoid()"),
    (lambda L: L.nn.Softsign(), "Softsign()"),
    (lambda L: L.nn.Unflatten(1, (2, 3)), "Unflatten(dim=1, unflattened_size=(2, 3))"),
    (lambda L: L.nn.Unflatten(-1, [2, -1]), "Unflatten(dim=-1, unflattened_size=[2, -1])"),
    (lambda L: L.nn.KLDivLoss(reduction="batchmean"), "KLDivLoss()"),
]


@pytest.mark.parametrize("make,expected", MODULES, ids=[m[1] for m in MODULES])
def test_module_repr(make, expected):
    assert repr(make(torch)) == expected


@pytest.mark.parametrize("make,expected", MODULES, ids=[m[1] for m in MODULES])
def test_module_repr_matches_pytorch(pt, make, expected):
    assert repr(make(pt)) == expected


@pytest.mark.parametrize("module,function,kwargs", [
    (nn.SiLU, F.silu, {}), (nn.Softplus, F.softplus, {"beta": 1.5, "threshold": 4.0}),
    (nn.ELU, F.elu, {"alpha": 0.3}), (nn.Hardtanh, F.hardtanh, {"min_val": -2.0, "max_val": 0.5}),
    (nn.ReLU6, F.relu6, {}), (nn.Mish, F.mish, {}), (nn.Hardswish, F.hardswish, {}),
    (nn.Hardsigmoid, F.hardsigmoid, {}), (nn.Softsign, F.softsign, {}),
])
def test_modules_apply_their_function(module, function, kwargs):
    x = torch.randn(4, 5) * 4
    np.testing.assert_array_equal(module(**kwargs)(x).numpy(), function(x, **kwargs).numpy())
    if "inplace" in module.__init__.__code__.co_varnames:
        out = module(inplace=True, **kwargs)(x)  # accepted; computed out of place
        np.testing.assert_array_equal(out.numpy(), function(x, **kwargs).numpy())


def test_hardtanh_deprecated_keywords():
    with pytest.warns(FutureWarning, match="min_value"):
        m = nn.Hardtanh(min_value=-0.5)
    assert (m.min_val, m.max_val) == (-0.5, 1.0)


# ---- one_hot ----------------------------------------------------------------------------

def test_one_hot_values():
    labels = np.array([[0, 3], [2, 2], [1, 0]])
    got = F.one_hot(torch.tensor(labels))
    assert got.dtype == torch.int64 and tuple(got.shape) == (3, 2, 4)
    np.testing.assert_array_equal(got.numpy(), np.eye(4, dtype=np.int64)[labels])
    np.testing.assert_array_equal(F.one_hot(torch.tensor(labels), num_classes=6).numpy(),
                                  np.eye(6, dtype=np.int64)[labels])
    assert F.one_hot(torch.tensor(2), 3).tolist() == [0, 0, 1]
    assert tuple(F.one_hot(torch.tensor([], dtype=torch.int64), 5).shape) == (0, 5)


def test_one_hot_matches_pytorch(pt):
    labels = np.random.default_rng(1).integers(0, 7, (5, 3))
    for n in (-1, 7, 9):
        want = pt.nn.functional.one_hot(pt.tensor(labels), n)
        got = F.one_hot(torch.tensor(labels), n)
        assert got.numpy().dtype == want.numpy().dtype
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("labels,num_classes,error,message", [
    ([0, -1], -1, RuntimeError, "^one_hot: Class values must be non-negative"),
    ([0, 3], 3, RuntimeError, "^one_hot: Class values must be smaller than num_classes"),
    ([], -1, RuntimeError, "^one_hot: Can not infer total number of classes from empty tensor"),
    ([0.0, 1.0], -1, RuntimeError, "^one_hot is only applicable to index tensor of type LongTensor"),
])
def test_one_hot_errors(labels, num_classes, error, message):
    t = torch.tensor(labels, dtype=torch.int64) if labels == [] else torch.tensor(labels)
    with pytest.raises(error, match=message):
        F.one_hot(t, num_classes)


# ---- normalize ----------------------------------------------------------------------------

NORMS = [(2.0, 1), (1.0, 1), (3.0, 0), (np.inf, 1), (-np.inf, 1), (0.5, -1), (2.0, (0, 1))]


def _norm_ref(x, p, dim):
    axis = dim if isinstance(dim, int) else tuple(dim)
    a = np.abs(x)
    if p == np.inf:
        return a.max(axis=axis, keepdims=True)
    if p == -np.inf:
        return a.min(axis=axis, keepdims=True)
    return (a ** p).sum(axis=axis, keepdims=True) ** (1 / p)


@pytest.mark.parametrize("p,dim", NORMS)
def test_normalize_values_and_gradients(p, dim):
    x = np.random.default_rng(2).uniform(0.2, 2.0, (3, 4)) * np.sign(np.random.default_rng(3).standard_normal((3, 4)))
    got = F.normalize(_t(x), p=p, dim=dim)
    np.testing.assert_allclose(got.numpy(), x / np.maximum(_norm_ref(x, p, dim), 1e-12), rtol=1e-12)
    if np.isfinite(p):
        assert gradcheck(lambda a: F.normalize(a, p=p, dim=dim), [_t(x, requires_grad=True)])


def test_normalize_zero_rows():
    """A zero slice stays zero, and its gradient is 1 / eps as PyTorch's (no NaN)."""
    x = _t([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0]], requires_grad=True)
    y = F.normalize(x)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [[0, 0, 0], [0.6, 0, 0.8]])
    np.testing.assert_allclose(x.grad.numpy()[0], [1e12] * 3)
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("p,dim", NORMS + [(0, 1)])
def test_normalize_matches_pytorch(pt, p, dim):
    x = np.random.default_rng(4).standard_normal((3, 5))
    x[0] = 0.0
    x[1, 2] = 0.0
    ours_x, ref_x = _t(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    ours, ref = F.normalize(ours_x, p=p, dim=dim), pt.nn.functional.normalize(ref_x, p=p, dim=dim)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-15)
    w = np.linspace(-1, 2, x.size).reshape(x.shape)
    (ours * _t(w)).sum().backward()
    (ref * pt.tensor(w)).sum().backward()
    if 0 < p < 1:  # |x|^p has an infinite slope at 0 in both; compare the other entries
        mask = x != 0
        np.testing.assert_allclose(ours_x.grad.numpy()[mask], ref_x.grad.numpy()[mask], rtol=1e-10)
    else:
        np.testing.assert_allclose(ours_x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_normalize_float32_and_errors():
    x = torch.randn(4, 3)
    np.testing.assert_allclose(np.linalg.norm(F.normalize(x, dim=1).numpy(), axis=1), np.ones(4), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="^normalize: not implemented for int64"):
        F.normalize(torch.tensor([[1, 2]]))
    with pytest.raises(NotImplementedError, match="^normalize: out= is not supported"):
        F.normalize(x, out=torch.zeros(4, 3))


# ---- kl_div ----------------------------------------------------------------------------

def _kl_data():
    rng = np.random.default_rng(5)
    log_q = np.log(rng.dirichlet(np.ones(5), size=4))
    p = rng.dirichlet(np.ones(5), size=4)
    p[0, 1] = 0.0  # a zero target contributes 0
    return log_q, p


def _kl_ref(log_q, p, reduction, log_target=False):
    if log_target:
        pointwise = np.exp(p) * (p - log_q)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            pointwise = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1.0)) - log_q), 0.0)
    return {"none": pointwise, "sum": pointwise.sum(), "mean": pointwise.mean(),
            "batchmean": pointwise.sum() / log_q.shape[0]}[reduction]


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_values_and_gradients(reduction, log_target):
    log_q, p = _kl_data()
    target = np.log(p + 0.01) if log_target else p
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = F.kl_div(_t(log_q), _t(target), reduction=reduction, log_target=log_target)
        np.testing.assert_allclose(got.numpy(), _kl_ref(log_q, target, reduction, log_target), rtol=1e-12)
        assert gradcheck(lambda a: F.kl_div(a, _t(target), reduction=reduction, log_target=log_target),
                         [_t(log_q, requires_grad=True)])
        positive = np.where(target > 0, target, 0.3) if not log_target else target
        assert gradcheck(lambda b: F.kl_div(_t(log_q), b, reduction=reduction, log_target=log_target),
                         [_t(positive, requires_grad=True)])


def test_kl_div_mean_warns_as_pytorch_and_module():
    log_q, p = _kl_data()
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(_t(log_q), _t(p))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nn.KLDivLoss(reduction="batchmean")(_t(log_q), _t(p))
    assert loss.item() == pytest.approx(_kl_ref(log_q, p, "batchmean"), rel=1e-12)
    with pytest.raises(ValueError, match="^kl_div: 'avg' is not a valid value for reduction"):
        F.kl_div(_t(log_q), _t(p), reduction="avg")
    with pytest.raises(ValueError, match="^KLDivLoss: 'avg' is not a valid value for reduction"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(TypeError, match="^kl_div: argument 'target' must be a Tensor"):
        F.kl_div(_t(log_q), p)
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        legacy = F.kl_div(_t(log_q), _t(p), size_average=False)
    assert legacy.item() == pytest.approx(_kl_ref(log_q, p, "sum"), rel=1e-12)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean", "batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_pytorch(pt, reduction, log_target):
    log_q, p = _kl_data()
    target = np.log(p + 0.01) if log_target else p
    ours_x, ref_x = _t(log_q, requires_grad=True), pt.tensor(log_q, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = F.kl_div(ours_x, _t(target), reduction=reduction, log_target=log_target)
        ref = pt.nn.functional.kl_div(ref_x, pt.tensor(target), reduction=reduction, log_target=log_target)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-15)
    ours.sum().backward()
    ref.sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---- pad ----------------------------------------------------------------------------------

PADS = [((1, 2), 0.0), ((0, 0, 2, 1), 1.5), ((1, 1, 1, 1, 1, 1), -2.0), ((-1, 2), 0.0), ((2, -3, -1, 1), 7.0), ((), 0.0)]


def _pad_ref(x, pad, value):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    crop = tuple(slice(max(-a, 0), x.shape[d] - max(-b, 0)) for d, (a, b) in enumerate(widths))
    return np.pad(x[crop], [(max(a, 0), max(b, 0)) for a, b in widths], constant_values=value)


@pytest.mark.parametrize("pad,value", PADS)
def test_pad_values_and_gradients(pad, value):
    x = np.random.default_rng(6).standard_normal((2, 3, 4))
    got = F.pad(_t(x), pad, value=value)
    np.testing.assert_array_equal(got.numpy(), _pad_ref(x, pad, value))
    assert gradcheck(lambda a: F.pad(a, pad, value=value), [_t(x, requires_grad=True)])


@pytest.mark.parametrize("pad,value", PADS)
def test_pad_matches_pytorch(pt, pad, value):
    x = np.random.default_rng(7).standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(F.pad(torch.tensor(x), pad, value=value).numpy(),
                                  pt.nn.functional.pad(pt.tensor(x), pad, value=value).numpy())


def test_pad_defaults_and_dtypes():
    x = torch.tensor([[1, 2], [3, 4]])
    assert F.pad(x, [1, 0]).tolist() == [[0, 1, 2], [0, 3, 4]] and F.pad(x, [1, 0]).dtype == torch.int64
    assert F.pad(x, (0, 1), mode="constant", value=9).tolist() == [[1, 2, 9], [3, 4, 9]]
    assert F.pad(x, (0, 0)).tolist() == x.tolist()


@pytest.mark.parametrize("pad,kwargs,error,message", [
    ((1, 2, 3), {}, RuntimeError, "^pad: Padding length must be divisible by 2"),
    ((1,) * 6, {}, RuntimeError, "^pad: Padding length should be less than or equal to two times"),
    ((-2, -2), {}, RuntimeError, "^pad: The input size 3, plus negative padding -2 and -2 resulted in a negative"),
    ((1.5, 1), {}, TypeError, "^pad: argument 'pad' must be a tuple of ints, but found element of type float"),
    ((1, 1), {"mode": "reflect", "value": 1.0}, ValueError, "^Padding mode \"reflect\" doesn't take in value argument"),
    ((1, 1, 1, 1, 1, 1), {"mode": "reflect"}, NotImplementedError, "^Only 4D or 5D input is supported for 3D reflect"),
    ((1, 1), {"mode": "foo"}, NotImplementedError, "^pad: unrecognised padding mode 'foo'"),
])
def test_pad_errors(pad, kwargs, error, message):
    with pytest.raises(error, match=message):
        F.pad(torch.ones(2, 3), pad, **kwargs)


# ---- Unflatten --------------------------------------------------------------------------

def test_unflatten():
    x = _t(np.arange(24.0).reshape(4, 6), requires_grad=True)
    for dim, sizes, shape in [(1, (2, 3), (4, 2, 3)), (-1, [3, -1], (4, 3, 2)), (0, (2, 2), (2, 2, 6)),
                              (1, (-1,), (4, 6))]:
        y = nn.Unflatten(dim, sizes)(x)
        assert tuple(y.shape) == shape
        np.testing.assert_array_equal(y.detach().numpy(), np.arange(24.0).reshape(shape))
    assert gradcheck(lambda a: nn.Unflatten(1, (3, 2))(a) * 2, [x])
    model = nn.Sequential(nn.Linear(4, 6), nn.Unflatten(1, (2, 3)))
    assert tuple(model(torch.randn(5, 4)).shape) == (5, 2, 3)


def test_unflatten_matches_pytorch(pt):
    x = np.random.default_rng(8).standard_normal((2, 12, 3))
    for dim, sizes in [(1, (3, 4)), (1, (2, -1, 2)), (-2, [6, 2])]:
        np.testing.assert_array_equal(nn.Unflatten(dim, sizes)(_t(x)).numpy(),
                                      pt.nn.Unflatten(dim, sizes)(pt.tensor(x)).numpy())


@pytest.mark.parametrize("dim,sizes,error,message", [
    (1, 6, TypeError, "^Unflatten: unflattened_size must be a tuple of ints, but found type int"),
    (1, (2.0, 3), TypeError, "^Unflatten: unflattened_size must be tuple of ints, but found element of type float"),
    (1, (2, 4), RuntimeError, r"^Unflatten: provided sizes \[2, 4\] don't multiply up to the size of dim 1 \(6\)"),
    (1, (-1, -1), RuntimeError, "^Unflatten: only one dimension can be inferred"),
    (1, (), RuntimeError, "^Unflatten: unflattened_size must be non-empty"),
    (2, (3, 2), IndexError, r"^Unflatten: dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"),
])
def test_unflatten_errors(dim, sizes, error, message):
    with pytest.raises(error, match=message):
        nn.Unflatten(dim, sizes)(torch.ones(4, 6))


def test_new_names_are_exported():
    for name in ("silu", "softplus", "elu", "hardtanh", "relu6", "mish", "hardswish", "hardsigmoid", "softsign",
                 "one_hot", "normalize", "pad", "kl_div"):
        assert name in F.__all__ and callable(getattr(F, name))
    for name in ("SiLU", "Softplus", "ELU", "Hardtanh", "ReLU6", "Mish", "Hardswish", "Hardsigmoid", "Softsign",
                 "Unflatten", "KLDivLoss"):
        assert name in nn.__all__ and issubclass(getattr(nn, name), nn.Module)


def test_silu_is_one_op_rounding_as_x_times_sigmoid_with_pytorchs_gradient(pt):
    rng = np.random.default_rng(17)
    x = np.concatenate([rng.standard_normal(100_000) * 30, [-100.0, -88.5, 87.5, 95.0, 0.0, -0.0,
                                                            np.inf, -np.inf, np.nan]]).astype(np.float32)
    t = torch.from_numpy(x)
    got = F.silu(t).numpy()
    np.testing.assert_array_equal(got, (t * t.sigmoid()).numpy())
    assert F.silu(t).grad_fn is None
    g = rng.standard_normal(x.size).astype(np.float32)
    grads = []
    for lib_ in (torch, pt):
        s = lib_.tensor(x[:100_000], requires_grad=True)
        (lib_.nn.functional.silu(s) * lib_.tensor(g[:100_000])).sum().backward()
        grads.append(s.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=2e-6, atol=1e-7)  # (it crosses 0 at x = -1.28)
    x64 = torch.tensor(rng.standard_normal((3, 4)) * 3, requires_grad=True)
    assert torch.autograd.gradcheck(F.silu, (x64,))
