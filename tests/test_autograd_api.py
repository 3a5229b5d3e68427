"""autograd.grad, hooks, retain_grad, custom Functions, functional.jacobian."""
import gc

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff._ffi import lib
from pyautodiff.autograd import Function, gradcheck


def test_autograd_grad_leaves_dot_grad_untouched():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.tensor([3.0], requires_grad=True)
    out = (x * x).sum() * y.sum()
    gx, gy = torch.autograd.grad(out, [x, y])
    assert gx.tolist() == [6.0, 12.0] and gy.tolist() == [5.0]
    assert x.grad is None and y.grad is None


def test_autograd_grad_of_intermediate_and_unused():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    z = (h * h).sum()
    unused = torch.ones(1, requires_grad=True)
    gh, gu = torch.autograd.grad(z, [h, unused], retain_graph=True, allow_unused=True)
    assert gh.tolist() == [6.0, 12.0] and gu is None
    with pytest.raises(RuntimeError, match="not have been used in the graph"):
        torch.autograd.grad(z, [unused])


def test_hooks_modify_and_remove():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h1 = x.register_hook(lambda g: seen.append(g.tolist()))
    h2 = x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [6.0, 6.0]
    h1.remove()
    h2.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and len(seen) == 1


def test_hook_on_intermediate_and_errors_propagate():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g + 1)
    y.sum().backward()
    assert x.grad.tolist() == [4.0, 4.0]

    def bad(g):
        raise KeyError("boom")

    z = torch.tensor([1.0], requires_grad=True)
    z.register_hook(bad)
    with pytest.raises(KeyError, match="boom"):
        (z * 2).sum().backward()
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        torch.ones(2).register_hook(lambda g: g)


def test_retain_grad():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0] and y.retains_grad


class Cube(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return 3 * x * x * ctx.k * grad, None


def test_custom_function_gradcheck_and_graph():
    x = torch.tensor(np.random.randn(4), dtype=torch.float64, requires_grad=True)
    assert gradcheck(lambda t: Cube.apply(t, 2.0).exp(), [x])
    y = Cube.apply(x, 1.0)
    assert y.grad_fn.name() == "CustomFunctionBackward"


def test_custom_function_errors_and_no_leak():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("bad backward")

    x = torch.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="bad backward"):
        Bad.apply(x).sum().backward()
    gc.collect()
    before = lib.pa_live_nodes()
    for _ in range(50):
        Cube.apply(x, 1.0).sum().backward()
    gc.collect()
    assert lib.pa_live_nodes() == before
    from pyautodiff import _callbacks

    assert len(_callbacks._kept) < 5


def test_custom_function_in_place_check():
    x = torch.ones(2, requires_grad=True)
    w = torch.ones(2)

    class MulW(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(w)
            return a * w

        @staticmethod
        def backward(ctx, g):
            (saved,) = ctx.saved_tensors
            return g * saved

    y = MulW.apply(x).sum()
    w.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_jacobian_and_vjp():
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    j = torch.autograd.functional.jacobian(lambda t: t * t, x)
    np.testing.assert_allclose(j.numpy(), np.diag([2.0, 4.0, 6.0]))
    out, v = torch.autograd.functional.vjp(lambda t: (t * t).sum(), x)
    assert out.item() == 14.0 and v.tolist() == [2.0, 4.0, 6.0]


def test_grad_mode_is_thread_local():
    import threading

    result = {}
    with torch.no_grad():
        t = threading.Thread(target=lambda: result.setdefault("enabled", torch.is_grad_enabled()))
        t.start()
        t.join()
    assert result["enabled"] is True


def test_set_grad_enabled():
    with torch.set_grad_enabled(False):
        assert not torch.is_grad_enabled()
    assert torch.is_grad_enabled()
    x = torch.ones(1, requires_grad=True)
    with torch.no_grad():
        with torch.enable_grad():
            assert (x * 2).requires_grad
