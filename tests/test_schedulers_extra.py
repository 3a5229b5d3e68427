"""LinearLR, ConstantLR, MultiplicativeLR, OneCycleLR, SequentialLR, PolynomialLR,
CosineAnnealingWarmRestarts and CyclicLR: the learning rates
(and OneCycleLR's momenta) over 20 steps against hand-computed values and, when installed,
PyTorch's float for float; closed forms, state dicts, and the errors for bad arguments."""
import math

import pytest

import pyautodiff as torch
import pyautodiff.optim as optim
from pyautodiff.optim import lr_scheduler

STEPS = 20


def _optimizer(lib, name="SGD", **kwargs):
    """Two parameter groups (lr 0.1 and 0.05) of a fresh optimizer of library `lib`."""
    params = [lib.zeros(1, requires_grad=True), lib.zeros(1, requires_grad=True)]
    kwargs.setdefault("lr", 0.1)
    return getattr(lib.optim, name)([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], **kwargs)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]


def _run(lib, make, optimizer="SGD", steps=STEPS, **opt_kwargs):
    """(lrs, momenta) after construction and after each of `steps` steps."""
    opt = _optimizer(lib, optimizer, **opt_kwargs)
    sched = make(lib.optim.lr_scheduler, opt)
    lrs, momenta = [sched.get_last_lr()], [_momenta(opt)]
    for _ in range(steps):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr())
        momenta.append(_momenta(opt))
    return lrs, momenta


# (id, make(lr_scheduler module, optimizer), optimizer, optimizer kwargs)
CASES = [
    ("LinearLR", lambda S, o: S.LinearLR(o), "SGD", {}),
    ("LinearLR-args", lambda S, o: S.LinearLR(o, start_factor=0.1, end_factor=0.6, total_iters=7), "SGD", {}),
    ("LinearLR-decay", lambda S, o: S.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=10), "SGD", {}),
    ("ConstantLR", lambda S, o: S.ConstantLR(o), "SGD", {}),
    ("ConstantLR-args", lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=3), "SGD", {}),
    ("MultiplicativeLR", lambda S, o: S.MultiplicativeLR(o, lambda e: 0.95), "SGD", {}),
    ("MultiplicativeLR-per-group", lambda S, o: S.MultiplicativeLR(o, [lambda e: 0.9, lambda e: 1 + 0.01 * e]),
     "SGD", {}),
    ("OneCycleLR-sgd", lambda S, o: S.OneCycleLR(o, max_lr=1.0, total_steps=STEPS), "SGD", {"momentum": 0.9}),
    ("OneCycleLR-adam", lambda S, o: S.OneCycleLR(o, max_lr=[0.01, 0.02], epochs=4, steps_per_epoch=5), "Adam", {}),
    ("OneCycleLR-linear-3phase",
     lambda S, o: S.OneCycleLR(o, max_lr=0.5, total_steps=25, pct_start=0.25, anneal_strategy="linear",
                               three_phase=True, base_momentum=0.8, max_momentum=0.9, div_factor=10.0,
                               final_div_factor=100.0), "SGD", {"momentum": 0.9}),
    ("OneCycleLR-no-momentum", lambda S, o: S.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False),
     "Adagrad", {}),
    ("SequentialLR-warmup", lambda S, o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=4),
                                                            S.ExponentialLR(o, gamma=0.9)], milestones=[5]),
     "SGD", {}),
    ("SequentialLR-three",
     lambda S, o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.1, total_iters=2), S.CosineAnnealingLR(o, T_max=6),
                                     S.StepLR(o, step_size=3, gamma=0.5)], milestones=[3, 10]), "SGD", {}),
    ("PolynomialLR", lambda S, o: S.PolynomialLR(o, total_iters=8, power=2.0), "SGD", {}),
    ("PolynomialLR-linear", lambda S, o: S.PolynomialLR(o), "Adam", {}),
    ("CosineAnnealingWarmRestarts", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
     "SGD", {}),
    ("CosineAnnealingWarmRestarts-1", lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=4), "SGD", {}),
    ("CyclicLR-triangular", lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=5), "SGD",
     {"momentum": 0.9}),
    ("CyclicLR-triangular2", lambda S, o: S.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=2, mode="triangular2"),
     "SGD", {"momentum": 0.9}),
    ("CyclicLR-exp-adam", lambda S, o: S.CyclicLR(o, 0.001, 0.01, step_size_up=4, mode="exp_range", gamma=0.9),
     "Adam", {}),
    ("CyclicLR-no-momentum", lambda S, o: S.CyclicLR(o, 0.01, 0.1, step_size_up=3, cycle_momentum=False),
     "Adagrad", {}),
    ("SequentialLR-lambdas",
     lambda S, o: S.SequentialLR(o, [S.MultiplicativeLR(o, lambda e: 0.9), S.LambdaLR(o, lambda e: 1 / (e + 1))],
                                 milestones=[4]), "SGD", {}),
]


@pytest.mark.parametrize("make,optimizer,opt_kwargs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lr_sequence_matches_pytorch(pt, make, optimizer, opt_kwargs):
    ours = _run(torch, make, optimizer, **opt_kwargs)
    ref = _run(pt, make, optimizer, **opt_kwargs)
    assert ours[0] == ref[0]  # the same recursions: equal floats
    assert ours[1] == ref[1]  # momenta (OneCycleLR's cycling)


def _lrs(make, optimizer="SGD", **opt_kwargs):
    lrs, _ = _run(torch, make, optimizer, **opt_kwargs)
    return [lr[0] for lr in lrs]  # the first group's (initial lr 0.1)


def _close(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert math.isclose(g, w, rel_tol=1e-12, abs_tol=1e-15), (got, want)


def test_linear_lr_by_hand():
    factors = [1 / 3 + (1 - 1 / 3) * min(e, 5) / 5 for e in range(STEPS + 1)]
    _close(_lrs(lambda S, o: S.LinearLR(o)), [0.1 * f for f in factors])
    factors = [0.1 + 0.5 * min(e, 7) / 7 for e in range(STEPS + 1)]
    _close(_lrs(lambda S, o: S.LinearLR(o, start_factor=0.1, end_factor=0.6, total_iters=7)),
           [0.1 * f for f in factors])


def test_constant_lr_by_hand():
    _close(_lrs(lambda S, o: S.ConstantLR(o)), [0.1 / 3] * 5 + [0.1] * (STEPS - 4))
    _close(_lrs(lambda S, o: S.ConstantLR(o, factor=0.5, total_iters=3)), [0.05] * 3 + [0.1] * (STEPS - 2))


def test_multiplicative_lr_by_hand():
    _close(_lrs(lambda S, o: S.MultiplicativeLR(o, lambda e: 0.95)), [0.1 * 0.95 ** e for e in range(STEPS + 1)])
    # The factor is applied at steps 1, 2, ... with the epoch passed: 0.1 * prod(1 + 0.01 k).
    want, lr = [0.1], 0.1
    for e in range(1, STEPS + 1):
        lr *= 1 + 0.01 * e
        want.append(lr)
    _close(_lrs(lambda S, o: S.MultiplicativeLR(o, lambda e: 1 + 0.01 * e)), want)


def _one_cycle_by_hand(max_lr, total, pct=0.3, div=25.0, final_div=1e4, low=0.85, high=0.95):
    initial, minimum = max_lr / div, max_lr / div / final_div
    up = pct * total - 1
    lrs, momenta = [], []
    for step in range(total + 1):
        if step <= up:
            t, (a, b), (ma, mb) = step / up, (initial, max_lr), (high, low)
        else:
            t, (a, b), (ma, mb) = (step - up) / (total - 1 - up), (max_lr, minimum), (low, high)
        lrs.append(b + (a - b) / 2 * (1 + math.cos(math.pi * t)))
        momenta.append(mb + (ma - mb) / 2 * (1 + math.cos(math.pi * t)))
    return lrs, momenta


def test_one_cycle_by_hand():
    lrs, momenta = _run(torch, lambda S, o: S.OneCycleLR(o, max_lr=[1.0, 0.5], total_steps=STEPS), "SGD",
                        momentum=0.9)
    want_lrs, want_momenta = _one_cycle_by_hand(1.0, STEPS)
    _close([lr[0] for lr in lrs], want_lrs)
    _close([lr[1] for lr in lrs], [lr / 2 for lr in want_lrs])
    _close([m[0] for m in momenta], want_momenta)
    # The peak ends the warm-up (step 0.3 * 20 - 1); the minimum is reached at step total_steps - 1.
    assert lrs[5][0] == pytest.approx(1.0) and lrs[STEPS - 1][0] == pytest.approx(1.0 / 25 / 1e4)


def test_one_cycle_cycles_adam_beta1_and_trains():
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1, betas=(0.9, 0.99))
    sched = lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=10)
    _, want_momenta = _one_cycle_by_hand(0.05, 10)
    for step in range(10):
        assert opt.param_groups[0]["betas"] == pytest.approx((want_momenta[step], 0.99))
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
        sched.step()
    assert float((w * w).sum().item()) < 5.0
    with pytest.raises(ValueError, match="^OneCycleLR: Tried to step 11 times. The specified number of total "
                                         "steps is 10"):
        sched.step()


def test_sequential_lr_by_hand():
    lrs = _lrs(lambda S, o: S.SequentialLR(o, [S.ConstantLR(o, factor=0.5, total_iters=10),
                                               S.ExponentialLR(o, gamma=0.5)], milestones=[3]))
    _close(lrs, [0.05] * 3 + [0.1 * 0.5 ** k for k in range(STEPS - 2)])
    warm = _lrs(lambda S, o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=2),
                                                S.StepLR(o, step_size=2, gamma=0.1)], milestones=[2]))
    _close(warm[:6], [0.05, 0.075, 0.1, 0.1, 0.01, 0.01])


@pytest.mark.parametrize("make", [
    lambda S, o: S.LinearLR(o, start_factor=0.2, total_iters=6),
    lambda S, o: S.ConstantLR(o, factor=0.25, total_iters=4),
])
def test_closed_form_matches_recursion(make):
    recursion = _lrs(make)[1:]
    opt = _optimizer(torch)
    sched = make(lr_scheduler, opt)
    for epoch, lr in enumerate(recursion, start=1):
        sched.step(epoch)
        assert math.isclose(sched.get_last_lr()[0], lr, rel_tol=1e-12)


@pytest.mark.parametrize("make,optimizer,opt_kwargs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_state_dict_resumes(make, optimizer, opt_kwargs):
    """A scheduler loaded from another's state dict (with its optimizer's) carries on the same."""
    opt = _optimizer(torch, optimizer, **opt_kwargs)
    sched = make(lr_scheduler, opt)
    for _ in range(7):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 7
    opt2 = _optimizer(torch, optimizer, **opt_kwargs)
    sched2 = make(lr_scheduler, opt2)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(state)
    for _ in range(STEPS - 7):
        opt.step()
        sched.step()
        opt2.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()
        assert _momenta(opt2) == _momenta(opt)


def test_sequential_state_dict_holds_the_inner_schedulers():
    opt = _optimizer(torch)
    inner = [lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2), lr_scheduler.ExponentialLR(opt, gamma=0.9)]
    sched = lr_scheduler.SequentialLR(opt, inner, milestones=[3])
    state = sched.state_dict()
    assert [s["last_epoch"] for s in state["_schedulers"]] == [0, -1]
    assert state["_milestones"] == [3] and "optimizer" not in state


def test_multiplicative_state_dict_saves_callable_objects_only():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate

    opt = _optimizer(torch)
    sched = lr_scheduler.MultiplicativeLR(opt, [Decay(), lambda e: 0.9])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.5}, None]
    state["lr_lambdas"][0]["rate"] = 0.25
    sched.load_state_dict(state)
    assert sched.lr_lambdas[0].rate == 0.25


@pytest.mark.parametrize("make,error,message", [
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), ValueError,
     "^LinearLR: Starting multiplicative factor expected to be greater than 0"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), ValueError,
     "^LinearLR: Ending multiplicative factor expected to be between 0 and 1"),
    (lambda o: lr_scheduler.ConstantLR(o, factor=2.0), ValueError,
     "^ConstantLR: Constant multiplicative factor expected to be between 0 and 1"),
    (lambda o: lr_scheduler.MultiplicativeLR(o, 0.9), TypeError,
     "^MultiplicativeLR: lr_lambda should be a function, but got float"),
    (lambda o: lr_scheduler.MultiplicativeLR(o, [lambda e: 1.0]), ValueError, "^Expected 2 lr_lambdas, but got 1"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), ValueError,
     r"^OneCycleLR: You must define either total_steps OR \(epochs AND steps_per_epoch\)"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=0), ValueError,
     "^OneCycleLR: Expected positive integer total_steps, but got 0"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, epochs=2, steps_per_epoch=-1), ValueError,
     "^OneCycleLR: Expected positive integer steps_per_epoch, but got -1"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     "^OneCycleLR: Expected float between 0 and 1 pct_start, but got 1.5"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     "^OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.1, 0.2, 0.3], total_steps=10), ValueError,
     "^OneCycleLR: max_lr must have the same length as optimizer.param_groups. max_lr has 3 values"),
    (lambda o: lr_scheduler.SequentialLR(o, [], milestones=[]), ValueError,
     "^SequentialLR expects at least one scheduler"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(o)], milestones=[3]), ValueError,
     "^SequentialLR expects number of schedulers provided to be one more than the number of milestone points"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(o), lr_scheduler.ReduceLROnPlateau(o)],
                                         milestones=[3]), ValueError,
     "^SequentialLR does not support `ReduceLROnPlateau`"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ConstantLR(_optimizer(torch))], milestones=[]),
     ValueError, "^SequentialLR expects all schedulers to belong to the same optimizer"),
    (lambda o: lr_scheduler.SequentialLR(o, [object()], milestones=[]), TypeError,
     "^SequentialLR at index 0 should have `optimizer` as its attribute"),
])
def test_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make(_optimizer(torch))


def test_one_cycle_needs_momentum_to_cycle():
    with pytest.raises(ValueError, match="^OneCycleLR: optimizer must support momentum or beta1"):
        lr_scheduler.OneCycleLR(_optimizer(torch, "Adagrad"), max_lr=0.1, total_steps=10)
    with pytest.raises(TypeError, match="int is not an Optimizer"):
        lr_scheduler.OneCycleLR(3, max_lr=0.1, total_steps=10)


def test_new_schedulers_are_exported():
    for name in ("LinearLR", "ConstantLR", "MultiplicativeLR", "OneCycleLR", "SequentialLR"):
        assert name in lr_scheduler.__all__
        assert issubclass(getattr(lr_scheduler, name), lr_scheduler.LRScheduler)


def test_warm_restarts_with_fractional_epochs(pt):
    # stepping by fractions of an epoch (once per batch), and by whole epochs
    for epochs in ([0.5 * i for i in range(1, 30)], [1, 2, 3, 10, 11, 30]):
        got, want = [], []
        for lib, out in ((torch, got), (pt, want)):
            opt = _optimizer(lib)
            sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.001)
            for e in epochs:
                opt.step()
                sched.step(e)
                out.append(sched.get_last_lr())
        assert got == want


def test_new_schedulers_reject_bad_arguments():
    opt = _optimizer(torch)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="mode is invalid and scale_fn is None"):
        lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        lr_scheduler.CyclicLR(_optimizer(torch, "Adagrad"), 0.01, 0.1)


def test_chained_scheduler_against_pytorch_and_state_dict(pt):
    def make(T):
        w = T.zeros(2, requires_grad=True)
        opt = T.optim.SGD([w], lr=0.05)
        s1 = T.optim.lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=20)
        s2 = T.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)
        return opt, T.optim.lr_scheduler.ChainedScheduler([s1, s2], optimizer=opt)

    def run(T):
        opt, sched = make(T)
        lrs = []
        for _ in range(25):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        return lrs, sched

    ours, sched = run(torch)
    assert ours == run(pt)[0]
    saved = sched.state_dict()
    assert len(saved["_schedulers"]) == 2 and saved["_last_lr"] == [ours[-1]]
    _, fresh = make(torch)
    fresh.load_state_dict(saved)
    assert fresh.get_last_lr() == [ours[-1]] and fresh._schedulers[1].last_epoch == 25
    with pytest.raises(ValueError, match="expects at least one scheduler"):
        torch.optim.lr_scheduler.ChainedScheduler([])
