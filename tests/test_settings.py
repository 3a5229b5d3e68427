"""finfo/iinfo, type promotion queries, process-wide flags, the CUDA calls of a CPU-only
library, autocast and GradScaler: against PyTorch (skipped without it) and their rules."""
import math

import numpy as np
import pytest

import pyautodiff as torch


def test_type_queries_against_pytorch(pt):
    for name in ("float32", "float64"):
        a, b = torch.finfo(getattr(torch, name)), pt.finfo(getattr(pt, name))
        assert (a.bits, a.eps, a.max, a.min, a.tiny, a.resolution) == (b.bits, b.eps, b.max, b.min, b.tiny,
                                                                        b.resolution)
    a, b = torch.iinfo(torch.int64), pt.iinfo(pt.int64)
    assert (a.bits, a.max, a.min) == (b.bits, b.max, b.min)
    cases = [(lambda T: T.tensor([1, 2]), 1.0), (lambda T: T.tensor([True]), 1),
             (lambda T: T.tensor(1.0, dtype=T.float64), lambda T: T.tensor([1.0])), (2, 3.0),
             (lambda T: T.tensor([1.0]), lambda T: T.tensor([2.0], dtype=T.float64)), (True, False)]
    for x, y in cases:
        xa, xb = (x(torch), x(pt)) if callable(x) else (x, x)
        ya, yb = (y(torch), y(pt)) if callable(y) else (y, y)
        assert str(torch.result_type(xa, ya)) == str(pt.result_type(xb, yb)), (x, y)
    for a_ in ("bool", "int64", "float32", "float64"):
        for b_ in ("bool", "int64", "float32", "float64"):
            assert str(torch.promote_types(getattr(torch, a_), getattr(torch, b_))) == \
                str(pt.promote_types(getattr(pt, a_), getattr(pt, b_)))
            assert torch.can_cast(getattr(torch, a_), getattr(torch, b_)) == \
                pt.can_cast(getattr(pt, a_), getattr(pt, b_))
    assert torch.typename(torch.zeros(2, dtype=torch.float64)) == pt.typename(pt.zeros(2, dtype=pt.float64))
    with pytest.raises(TypeError, match="requires a floating point"):
        torch.finfo(torch.int64)
    with pytest.raises(RuntimeError, match="ambiguous"):
        torch.is_nonzero(torch.tensor([1, 2]))


def test_flags_and_cpu_only_cuda_calls():
    torch.set_float32_matmul_precision("medium")
    assert torch.get_float32_matmul_precision() == "medium"
    torch.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="Invalid precision"):
        torch.set_float32_matmul_precision("low")
    torch.use_deterministic_algorithms(True, warn_only=True)
    assert torch.are_deterministic_algorithms_enabled() and torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(False)
    torch.cuda.empty_cache()
    with pytest.raises(RuntimeError, match="not compiled with CUDA"):
        torch.cuda.current_device()
    with torch.autocast(device_type="cpu", enabled=False):
        assert (torch.ones(2) * 2).dtype == torch.float32
    with pytest.raises(NotImplementedError, match="float16/bfloat16"):
        with torch.autocast(device_type="cpu"):
            pass


def _scaled_run(T, enabled):
    rng = np.random.default_rng(0)
    w = T.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
    opt = T.optim.SGD([w], lr=0.1)
    scaler = T.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2, enabled=enabled)
    scales = []
    for step in range(6):
        opt.zero_grad()
        loss = (w * w).sum() * (math.inf if step == 2 else 1.0)  # an overflow at step 2
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    return w.detach().numpy(), scales


@pytest.mark.parametrize("enabled", [True, False])
def test_grad_scaler_against_pytorch(pt, enabled):
    wa, sa = _scaled_run(torch, enabled)
    wb, sb = _scaled_run(pt, enabled)
    assert sa == sb
    if enabled:
        np.testing.assert_allclose(wa, wb, rtol=1e-6)
    else:
        assert np.isnan(wa).all() == np.isnan(wb).all()


NAMED_ONLY = ["uint8", "int8", "int16", "int32", "float16", "bfloat16"]


def test_named_only_dtypes_compare_and_describe_like_pytorch(pt):
    for name in NAMED_ONLY:
        ours, theirs = getattr(torch, name), getattr(pt, name)
        assert repr(ours) == repr(theirs) and ours != torch.int64 and ours == getattr(torch, name)
        assert ours.is_floating_point == theirs.is_floating_point and ours.itemsize == theirs.itemsize
        assert ours.is_signed == theirs.is_signed
        if ours.is_floating_point:
            a, b = torch.finfo(ours), pt.finfo(theirs)
            assert (a.bits, a.eps, a.max, a.min, a.tiny, a.resolution) == (b.bits, b.eps, b.max, b.min, b.tiny,
                                                                           b.resolution)
        else:
            a, b = torch.iinfo(ours), pt.iinfo(theirs)
            assert (a.bits, a.max, a.min) == (b.bits, b.max, b.min)
    assert (torch.int, torch.short, torch.half) == (torch.int32, torch.int16, torch.float16)
    import pickle

    assert pickle.loads(pickle.dumps(torch.uint8)) is torch.uint8


@pytest.mark.parametrize("name", NAMED_ONLY)
def test_named_only_dtypes_never_make_a_tensor(name):
    dt = getattr(torch, name)
    msg = f"pyautodiff has no {name} tensors"
    with pytest.raises(TypeError, match=msg):
        torch.zeros(2, dtype=dt)
    with pytest.raises(TypeError, match=msg):
        torch.tensor([1, 2], dtype=dt)
    with pytest.raises(TypeError, match=msg):
        torch.ones(2).to(dt)
    with pytest.raises(TypeError, match=msg):
        torch.arange(3, dtype=f"torch.{name}")
    with pytest.raises(TypeError, match=msg):
        torch.promote_types(dt, torch.float32)


def test_builtins_still_work_beside_the_int_dtype_name():
    assert torch.int is torch.int32
    torch.set_num_threads(2)
    assert torch.get_num_threads() == 2 and isinstance(torch.get_num_threads(), int)
