import numpy as np
import pytest

import pyautodiff as torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
    yield


def _torch_or_skip():
    return pytest.importorskip("torch")


@pytest.fixture
def pt():
    """Real PyTorch, or the test is skipped."""
    return _torch_or_skip()


@pytest.fixture
def against_pytorch(pt):
    """check(run, inputs, rtol, atol, grad_rtol, grad_atol): run(lib, *leaves) with
    pyautodiff and with PyTorch, each float array of `inputs` a leaf that requires grad;
    asserts the same shape and dtype, the values within rtol/atol, and the gradient of
    every leaf of sum(out * g), g a fixed random array, within grad_rtol/grad_atol."""

    def check(run, inputs, rtol, atol, grad_rtol, grad_atol):
        ours = [torch.tensor(x, requires_grad=True) for x in inputs]
        theirs = [pt.tensor(x, requires_grad=True) for x in inputs]
        a, b = run(torch, *ours), run(pt, *theirs)
        assert tuple(a.shape) == tuple(b.shape)
        assert a.dtype.name == str(b.dtype).replace("torch.", "")
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
        g = np.random.default_rng(1).standard_normal(tuple(a.shape)).astype(inputs[0].dtype)
        (a * torch.tensor(g)).sum().backward()
        (b * pt.tensor(g)).sum().backward()
        for u, v in zip(ours, theirs):
            np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), rtol=grad_rtol, atol=grad_atol)

    return check


@pytest.fixture
def modules_against_pytorch(pt):
    """check(ours, theirs, x): runs both modules on the array x, asserts the outputs within
    rtol 1e-5 / atol 1e-6 and, after backward of the outputs' sums, every parameter's
    gradient within 1e-4 / 1e-5 (parameters in the same order); returns the outputs."""

    def check(ours, theirs, x):
        a, b = ours(torch.tensor(x)), theirs(pt.tensor(x))
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
        a.sum().backward()
        b.sum().backward()
        for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)
        return a, b

    return check


@pytest.fixture
def sync_to_pytorch(pt):
    """sync(ours, theirs): copies every parameter and buffer of our module into the PyTorch
    module's of the same name."""

    def sync(ours, theirs):
        theirs_all = dict(list(theirs.named_parameters()) + list(theirs.named_buffers()))
        with pt.no_grad():
            for name, t in list(ours.named_parameters()) + list(ours.named_buffers()):
                theirs_all[name].copy_(pt.from_numpy(t.detach().numpy().copy()))

    return sync


# Hypothesis profiles for tests/test_fuzz.py: "ci" (the default there, a fixed budget)
# and "long" (pytest --hypothesis-profile=long).  Registered here because the option is
# read before test modules are imported.
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the fuzz tests skip without hypothesis
    pass
else:
    _hypothesis_settings.register_profile("long", max_examples=5000, deadline=None)
