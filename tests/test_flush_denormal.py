"""set_flush_denormal: subnormal floats read and written as zero (x86 FTZ + DAZ) in the
calling thread and in every worker thread of its kernels, and IEEE arithmetic again after
set_flush_denormal(False)."""
import platform

import numpy as np
import pytest

import pyautodiff as torch

x86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@pytest.fixture
def flush():
    yield
    torch.set_flush_denormal(False)
    torch.set_num_threads(2)


@pytest.mark.skipif(not x86, reason="FTZ/DAZ are x86 modes")
@pytest.mark.parametrize("dtype, tiny", [(np.float32, 2.0 ** -140), (np.float64, 2.0 ** -1070)])
def test_subnormals_flush_in_every_thread_and_come_back(flush, dtype, tiny):
    # 300,000 elements: the multiply runs on 2 threads, each of which must flush.
    x = torch.from_numpy(np.full(300_000, tiny, dtype))
    torch.set_num_threads(2)
    assert (x * 1.0).numpy().min() == tiny                    # IEEE: subnormals kept
    assert torch.set_flush_denormal(True) is True
    out = (x * 1.0).numpy()
    assert not out.any(), "a subnormal survived: some thread does not flush"
    assert torch.sum(x).item() == 0                           # read as zero (DAZ)
    torch.set_flush_denormal(False)
    np.testing.assert_array_equal((x * 1.0).numpy(), np.full(300_000, tiny, dtype))


@pytest.mark.skipif(not x86, reason="FTZ/DAZ are x86 modes")
def test_threads_added_later_flush_too(flush):
    torch.set_num_threads(1)
    assert torch.set_flush_denormal(True)
    torch.set_num_threads(2)
    x = torch.from_numpy(np.full(300_000, np.float32(2.0 ** -140)))
    assert not (x * 1.0).numpy().any()


@pytest.mark.skipif(not x86, reason="FTZ/DAZ are x86 modes")
def test_sgd_with_flushed_subnormal_buffers_matches_the_flushed_float_arithmetic(flush):
    # With the mode on, the SGD kernel's subnormal path stands aside: a subnormal buffer
    # is zero to the arithmetic, so the update is p - lr * grad exactly.
    p0 = np.linspace(-1, 1, 1000).astype(np.float32)
    tiny = np.full(1000, np.float32(3 * 2.0 ** -149))
    g = np.linspace(-0.5, 0.5, 1000).astype(np.float32)
    p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    opt = torch.optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = torch.from_numpy(tiny.copy())
    opt.step()                                                # buffers := subnormals
    assert torch.set_flush_denormal(True)
    p.grad = torch.from_numpy(g.copy())
    opt.step()
    torch.set_flush_denormal(False)
    buf = opt.state[p]["momentum_buffer"].numpy()
    np.testing.assert_array_equal(buf, g)                     # 0.9 * (0) + g
    expected = (p0.astype(np.float64) - 0.5 * g.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(p.detach().numpy(), expected)  # p - lr*tiny flushed: p0
