"""Optimizers and learning-rate schedulers against PyTorch: the same model, starting
weights and batches give the same parameters step after step (float64, to ~1e-12)."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim
from pyautodiff.optim import lr_scheduler

OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, eps=1e-6)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
]


def _models(pt, dtype="float64"):
    ours = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    ref = pt.nn.Sequential(pt.nn.Linear(5, 8), pt.nn.Tanh(), pt.nn.Linear(8, 3))
    if dtype == "float64":
        ours.double()
        ref.double()
    ref.load_state_dict({k: pt.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    return ours, ref


def _train(pt, name, kwargs, steps=6, dtype="float64"):
    ours, ref = _models(pt, dtype)
    opt = getattr(optim, name)(ours.parameters(), **kwargs)
    ref_opt = getattr(pt.optim, name)(ref.parameters(), **kwargs)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x = rng.standard_normal((16, 5)).astype(dtype)
        y = rng.standard_normal((16, 3)).astype(dtype)
        for model, lib, o in ((ours, torch, opt), (ref, pt, ref_opt)):
            o.zero_grad()
            loss = ((model(lib.from_numpy(x)) - lib.from_numpy(y)) ** 2).mean()
            loss.backward()
            o.step()
    return ours, ref, opt, ref_opt


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_training_matches_pytorch_float64(pt, name, kwargs):
    ours, ref, opt, ref_opt = _train(pt, name, kwargs)
    ref_params = dict(ref.named_parameters())
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.detach().numpy(), ref_params[k].detach().numpy(), rtol=1e-12, atol=1e-13,
                                   err_msg=k)
    # The state: buffers per parameter, and the step count.
    for p, rp in zip(ours.parameters(), ref.parameters()):
        ours_state, ref_state = opt.state[p], ref_opt.state[rp]
        assert set(ours_state) == set(ref_state)
        for key, value in ref_state.items():
            if key == "step":
                assert int(ours_state[key]) == int(value) == 6
            else:
                np.testing.assert_allclose(ours_state[key].numpy(), value.numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name,kwargs", [("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
                                         ("RMSprop", dict(centered=True, momentum=0.9)),
                                         ("Adagrad", dict(lr=0.1))])
def test_training_matches_pytorch_float32(pt, name, kwargs):
    ours, ref, _, _ = _train(pt, name, kwargs, dtype="float32")
    ref_params = dict(ref.named_parameters())
    for k, p in ours.named_parameters():
        assert p.dtype == torch.float32
        np.testing.assert_allclose(p.detach().numpy(), ref_params[k].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_defaults_match_pytorch(pt):
    w = torch.zeros(2, requires_grad=True)
    for name in ("Adam", "AdamW", "RMSprop", "Adagrad"):
        ours = getattr(optim, name)([w]).defaults
        ref = getattr(pt.optim, name)([pt.zeros(2, requires_grad=True)]).defaults
        for k, v in ours.items():
            if k in ref:
                assert ref[k] == (list(v) if isinstance(ref[k], list) else v), (name, k)


def test_per_parameter_steps_and_state_dict_round_trip():
    a = torch.ones(3, dtype=torch.float64, requires_grad=True)
    b = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    for i in range(3):
        opt.zero_grad()
        loss = (a * a).sum() + ((b * b).sum() if i == 0 else 0)  # b only gets a gradient once
        loss.backward()
        opt.step()
    assert opt.state[a]["step"] == 3 and opt.state[b]["step"] == 1
    sd = opt.state_dict()
    a2 = torch.ones(3, dtype=torch.float64, requires_grad=True)
    b2 = torch.ones(2, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        a2.copy_(a)
        b2.copy_(b)
    opt2 = optim.Adam([a2, b2], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.state[b2]["step"] == 1
    for o, p in ((opt, a), (opt2, a2)):
        o.zero_grad()
        (p * p).sum().backward()
        o.step()
    np.testing.assert_array_equal(a.detach().numpy(), a2.detach().numpy())


def test_parameters_without_grad_are_skipped_and_errors():
    a = torch.ones(2, requires_grad=True)
    opt = optim.RMSprop([a])
    opt.step()
    assert a.tolist() == [1.0, 1.0] and a not in opt.state
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([a], lr=-1)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.AdamW([a], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="initial_accumulator_value"):
        optim.Adagrad([a], initial_accumulator_value=-1)


def test_fused_c_call_rejects_bad_state():
    from pyautodiff._ffi import ffi, lib

    p = torch.ones(3, requires_grad=True)
    (p * 2).sum().backward()
    bad = torch.zeros(4)
    hs = ffi.new("pa_tensor *[]", [p._h])
    status = lib.pa_adam_step(1, hs, ffi.new("pa_tensor *[]", [bad._h]), ffi.new("pa_tensor *[]", [bad._h]),
                              ffi.NULL, ffi.new("double[]", [1.0]), 0.1, 0.9, 0.999, 1e-8, 0, 0, 0, 0)
    assert status == lib.PA_ERR_VALUE
    assert "state buffer of parameter 0" in ffi.string(lib.pa_last_error_message()).decode()
    wrong_shape = torch.zeros(3)  # kept alive: the C call only borrows its handle
    status = lib.pa_adagrad_step(1, hs, ffi.new("pa_tensor *[]", [wrong_shape._h]),
                                 ffi.new("double[]", [0.0]), 0.1, 0, 0, 1e-10, 0)
    assert status == lib.PA_ERR_VALUE


# ---- schedulers ----------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (1 + e))),
]


def _lr_sequences(pt, name, kwargs, epochs=20):
    w = torch.zeros(1, requires_grad=True)
    rw = pt.zeros(1, requires_grad=True)
    ours_opt = optim.SGD([{"params": [w]}, {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.05}], lr=0.1)
    ref_opt = pt.optim.SGD([{"params": [rw]}, {"params": [pt.zeros(1, requires_grad=True)], "lr": 0.05}], lr=0.1)
    ours = getattr(lr_scheduler, name)(ours_opt, **kwargs)
    ref = getattr(pt.optim.lr_scheduler, name)(ref_opt, **kwargs)
    got, want = [ours.get_last_lr()], [ref.get_last_lr()]
    for _ in range(epochs):
        ours_opt.step()
        ref_opt.step()
        ours.step()
        ref.step()
        got.append(ours.get_last_lr())
        want.append(ref.get_last_lr())
    return got, want, ours


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_scheduler_lrs_match_pytorch(pt, name, kwargs):
    got, want, sched = _lr_sequences(pt, name, kwargs)
    assert got == want  # the same recursion: equal floats
    sd = sched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 20


@pytest.mark.parametrize("name,kwargs", SCHEDULERS[:4], ids=[s[0] for s in SCHEDULERS[:4]])
def test_scheduler_closed_form(name, kwargs):
    w = torch.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    sched = getattr(lr_scheduler, name)(opt, **kwargs)
    recursion = []
    for _ in range(12):
        opt.step()
        sched.step()
        recursion.append(sched.get_last_lr()[0])
    opt2 = optim.SGD([w], lr=0.1)
    sched2 = getattr(lr_scheduler, name)(opt2, **kwargs)
    for epoch, lr in enumerate(recursion, start=1):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched2.step(epoch)
        assert math.isclose(sched2.get_last_lr()[0], lr, rel_tol=1e-12, abs_tol=1e-15)


def test_reduce_lr_on_plateau_matches_pytorch(pt):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.96, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.49999, 0.5, 0.5, 0.5]
    for kwargs in (dict(patience=2, factor=0.5), dict(mode="max", patience=1, cooldown=2, threshold_mode="abs",
                                                     threshold=0.01, min_lr=0.02)):
        w = torch.zeros(1, requires_grad=True)
        ours_opt = optim.Adam([w], lr=0.1)
        ref_opt = pt.optim.Adam([pt.zeros(1, requires_grad=True)], lr=0.1)
        ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
        ref = pt.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, **kwargs)
        for m in metrics:
            ours.step(m)
            ref.step(m)
            assert ours.get_last_lr() == ref.get_last_lr()
            assert ours.num_bad_epochs == ref.num_bad_epochs and ours.best == ref.best
    state = ours.state_dict()
    fresh = lr_scheduler.ReduceLROnPlateau(optim.Adam([w], lr=0.1))
    fresh.load_state_dict(state)
    assert fresh.best == ours.best and fresh.cooldown_counter == ours.cooldown_counter


def test_scheduler_state_dict_resumes():
    w = torch.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        opt.step()
        sched.step()
    opt2 = optim.SGD([w], lr=1.0)
    opt2.load_state_dict(opt.state_dict())
    sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10, last_epoch=-1)
    sched2.load_state_dict(sched.state_dict())
    for _ in range(3):
        opt.step()
        sched.step()
        opt2.step()
        sched2.step()
    assert sched.get_last_lr() == sched2.get_last_lr()


def _cnn(lib):
    nn_ = lib.nn
    return nn_.Sequential(nn_.Conv2d(1, 4, 3, padding=1), nn_.BatchNorm2d(4), nn_.ReLU(), nn_.MaxPool2d(2),
                          nn_.Conv2d(4, 6, 3), nn_.ReLU(), nn_.Flatten(), nn_.Linear(6 * 2 * 2, 3))


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=1e-3)),
    ("AdamW", dict(lr=0.01, weight_decay=0.05)),
], ids=["sgd-nesterov", "sgd-dampening", "adam", "adamw"])
def test_cnn_loss_trajectory_matches_pytorch_float64(pt, name, kwargs):
    """Same CNN, same starting weights and batches: the loss trajectory equals PyTorch's
    to float64 round-off."""
    ours, ref = _cnn(torch).double(), _cnn(pt).double()
    ref.load_state_dict({k: pt.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()})
    opt, ref_opt = getattr(optim, name)(ours.parameters(), **kwargs), getattr(pt.optim, name)(ref.parameters(), **kwargs)
    rng = np.random.default_rng(2)
    losses = {"ours": [], "ref": []}
    for _ in range(8):
        x = rng.standard_normal((6, 1, 8, 8))
        y = rng.integers(0, 3, 6)
        for key, model, lib, o in (("ours", ours, torch, opt), ("ref", ref, pt, ref_opt)):
            o.zero_grad()
            loss = lib.nn.functional.cross_entropy(model(lib.from_numpy(x)), lib.from_numpy(y))
            loss.backward()
            o.step()
            losses[key].append(loss.item())
    np.testing.assert_allclose(losses["ours"], losses["ref"], rtol=1e-11, atol=1e-13)
    assert losses["ours"][-1] != losses["ours"][0]


@pytest.mark.parametrize("kwargs", [dict(lr=0.01), dict(lr=0.01, momentum=0.9),
                                    dict(lr=0.01, momentum=0.9, weight_decay=1e-2),
                                    dict(lr=0.01, momentum=0.9, nesterov=True),
                                    dict(lr=0.01, momentum=0.9, dampening=0.1, maximize=True)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sgd_is_bit_identical_to_pytorch(pt, kwargs, dtype):
    # SGD rounds where PyTorch's CPU kernels do (a.add(b, alpha=s) is one fused
    # multiply-add, a.mul_(s) a rounded product), so the parameters agree to the bit.
    results = []
    for lib in (torch, pt):
        rng = np.random.default_rng(0)
        p = lib.nn.Parameter(lib.from_numpy(rng.standard_normal(4099).astype(dtype)))
        opt = lib.optim.SGD([p], **kwargs)
        for _ in range(6):
            p.grad = lib.from_numpy(rng.standard_normal(4099).astype(dtype))
            opt.step()
        results.append(p.detach().numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])


# ---- SGD on subnormal momentum buffers --------------------------------------------------
# Momentum buffers of weights whose gradient is exactly zero (dead ReLU units) sink into
# the subnormals and stay there; the AVX-512 kernel computes such vectors in double to
# avoid the CPU's microcode assists.  The bits must still be those of float32 FMAs, so
# the reference below is exact rational arithmetic rounded once to float32.

def _round_f32(q):
    """The float32 nearest to the nonzero Fraction q (ties to even), inf past the range."""
    from fractions import Fraction
    a = abs(q)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    quantum = Fraction(2) ** (max(e, -126) - 23)
    v = round(a / quantum) * quantum  # round() of a Fraction rounds half to even
    v = float(v) if v < Fraction(2) ** 128 else math.inf
    return np.float32(v if q > 0 else -v)


def _fma32(a, b, c):
    from fractions import Fraction
    prod = Fraction(float(a)) * Fraction(float(b))
    exact = prod + Fraction(float(c))
    if exact != 0:
        return _round_f32(exact)
    both_neg_zero = prod == 0 and c == 0 and np.signbit(a) != np.signbit(b) and np.signbit(c)
    return np.float32(-0.0 if both_neg_zero else 0.0)


def _mul32(a, b):
    return _fma32(a, b, np.float32(-0.0))  # x + (-0) is x, signed zeros included


def _sgd_reference(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                   nesterov=False, maximize=False):
    """PyTorch's _single_tensor_sgd on float32, element by element, every rounding exact."""
    f = np.float32
    neg_lr, wd, m, keep = f(-lr), f(weight_decay), f(momentum), f(1 - dampening)
    p, buf = [f(v) for v in p], None
    for step, grad in enumerate(grads):
        new_buf = []
        for i, g in enumerate(grad):
            d = -f(g) if maximize else f(g)
            if weight_decay:
                d = _fma32(wd, p[i], d)
            if momentum:
                b = d if step == 0 else _fma32(keep, d, _mul32(m, buf[i]))
                new_buf.append(b)
                d = _fma32(m, b, d) if nesterov else b
            p[i] = _fma32(neg_lr, d, p[i])
        buf = new_buf
    return np.array(p, np.float32), np.array(buf, np.float32)


SUBNORMAL_SGD = [dict(lr=0.01, momentum=0.9), dict(lr=0.01, momentum=0.9, weight_decay=1e-2),
                 dict(lr=0.01, momentum=0.9, nesterov=True),
                 dict(lr=0.01, momentum=0.9, dampening=0.1, maximize=True)]


def _subnormal_grads(n=1000, dead=600, steps=4, seed=0):
    """Step 1 fills the first `dead` buffers with subnormals; later steps give them zero
    gradients (and a few subnormal ones) while the rest train normally."""
    rng = np.random.default_rng(seed)
    tiny = np.float32(2.0 ** -149)
    grads = []
    for step in range(steps):
        g = rng.standard_normal(n).astype(np.float32)
        if step == 0:
            k = rng.integers(1, 2 ** 23, dead)
            g[:dead] = (k * rng.choice([-1, 1], dead)).astype(np.float32) * tiny
        else:
            g[:dead] = 0
            g[:dead:37] = rng.integers(1, 2 ** 23, len(g[:dead:37])).astype(np.float32) * tiny
        grads.append(g)
    return rng.standard_normal(n).astype(np.float32), grads


def _run_sgd(lib, p0, grads, kwargs):
    p = lib.nn.Parameter(lib.from_numpy(p0.copy()))
    opt = lib.optim.SGD([p], **kwargs)
    for g in grads:
        p.grad = lib.from_numpy(g.copy())
        opt.step()
    return p.detach().numpy().copy(), opt.state[p]["momentum_buffer"].numpy().copy()


@pytest.mark.parametrize("kwargs", SUBNORMAL_SGD)
def test_sgd_on_subnormal_buffers_rounds_exactly(kwargs):
    p0, grads = _subnormal_grads()
    p, buf = _run_sgd(torch, p0, grads, kwargs)
    ref_p, ref_buf = _sgd_reference(p0, grads, **kwargs)
    if not kwargs.get("weight_decay"):  # (weight decay keeps the buffers normal after step 2)
        assert np.count_nonzero((buf != 0) & (np.abs(buf) < 2.0 ** -126)) > 500
    np.testing.assert_array_equal(buf.view(np.uint32), ref_buf.view(np.uint32))
    np.testing.assert_array_equal(p.view(np.uint32), ref_p.view(np.uint32))


def test_sgd_subnormal_update_halfway_in_double_is_rounded_as_in_float():
    # p - lr * buf is 2^-171 above the midpoint between p and the float below it, so the
    # FMA keeps p; computed in double it rounds onto the midpoint, where rounding to float
    # would pick the even neighbour below.  The kernel must see the tie and use float.
    lr = 2 + 2.0 ** -22                                   # a float32: lr * buf is exact
    buf = np.float32((2 ** 23 - 1) * 2.0 ** -149)         # the largest subnormal
    p0 = np.full(16, 1.5 * 2.0 ** -101 + 2.0 ** -124, np.float32)  # odd last bit
    grads = [np.full(16, buf, np.float32), np.zeros(16, np.float32)]
    p, b = _run_sgd(torch, p0, grads, dict(lr=lr, momentum=1.0))
    assert b[0] == buf
    ref_p, _ = _sgd_reference(p0, grads, lr=lr, momentum=1.0)
    np.testing.assert_array_equal(ref_p, p0)
    np.testing.assert_array_equal(p, p0)


def test_sgd_subnormal_update_at_the_overflow_threshold_stays_finite():
    # Lane 0: FLT_MAX + lr * |buf| is 2^70 below the halfway point to 2^128, so the FMA
    # gives FLT_MAX; computed in double it rounds onto that point, which rounds to inf.
    # Lane 1's subnormal buffer sends the vector through the double path.
    lr = 14329 * 2.0 ** -14                       # lr * 599479 * 2^84 = 2^103 - 2^70
    flt_max = float(np.finfo(np.float32).max)
    p0 = np.ones(16, np.float32)
    p0[0] = flt_max
    g1 = np.zeros(16, np.float32)
    g1[1] = np.float32(3 * 2.0 ** -149)           # lane 1's buffer: a subnormal
    g2 = np.zeros(16, np.float32)
    g2[0] = -599479 * 2.0 ** 84
    kwargs = dict(lr=lr, momentum=0.9)
    p, _ = _run_sgd(torch, p0, [g1, g2], kwargs)
    ref_p, _ = _sgd_reference(p0, [g1, g2], **kwargs)
    assert ref_p[0] == np.float32(flt_max)
    np.testing.assert_array_equal(p.view(np.uint32), ref_p.view(np.uint32))


@pytest.mark.parametrize("lr", [0.01, 3.0, 2.0 ** 30, 2.0 ** 31])
def test_sgd_subnormal_buffers_beside_tiny_or_infinite_weights(lr):
    # Plain momentum has a cheaper path for vectors with subnormal buffers: a lane whose
    # new buffer is subnormal keeps its weight when |p| >= 2^-60 (and lr <= 2^30); a
    # smaller weight (here 0, -0, 2^-140, 2^-110 and the float below 2^-60) sends the vector
    # through the double path.  Every lane must round as float32 FMAs do.
    tiny = 2.0 ** -149
    below = np.nextafter(np.float32(2.0 ** -60), np.float32(0))
    p0 = np.array([2.0 ** -60, below, 1.0, -3.0, 0.0, -0.0, 2.0 ** -140, 5.0] * 2, np.float32)
    p0[15] = 2.0 ** -110                             # where lr * buf moves the weight
    g1 = np.full(16, 7 * tiny, np.float32)
    g1[8:] = np.float32(12345 * tiny)
    g2 = np.zeros(16, np.float32)
    g2[3] = 1.0
    g3 = g2.copy()
    g3[8] = -5 * tiny                                # a subnormal gradient on a subnormal buffer
    kwargs = dict(lr=lr, momentum=0.9)
    p, b = _run_sgd(torch, p0, [g1, g2, g3], kwargs)
    ref_p, ref_b = _sgd_reference(p0, [g1, g2, g3], **kwargs)
    assert np.count_nonzero((b != 0) & (np.abs(b) < 2.0 ** -126)) >= 14
    np.testing.assert_array_equal(b.view(np.uint32), ref_b.view(np.uint32))
    np.testing.assert_array_equal(p.view(np.uint32), ref_p.view(np.uint32))
    # Infinite and NaN weights stay as they are beside subnormal buffers.
    p0[[2, 10]], p0[7] = np.inf, np.nan
    p, _ = _run_sgd(torch, p0, [g1, g2, g3], kwargs)
    assert np.isposinf(p[[2, 10]]).all() and np.isnan(p[7])
    finite = np.isfinite(p0)
    ref_p, _ = _sgd_reference(p0[finite], [g[finite] for g in (g1, g2, g3)], **kwargs)
    np.testing.assert_array_equal(p[finite].view(np.uint32), ref_p.view(np.uint32))


@pytest.mark.parametrize("kwargs", SUBNORMAL_SGD)
def test_sgd_on_subnormal_buffers_is_bit_identical_to_pytorch(pt, kwargs):
    p0, grads = _subnormal_grads(n=4099, dead=2500, steps=6)
    ours, ref = _run_sgd(torch, p0, grads, kwargs), _run_sgd(pt, p0, grads, kwargs)
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))
