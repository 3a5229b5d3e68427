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


# Hypothesis profiles for tests/test_fuzz.py: "ci" (the default there, a fixed budget)
# and "long" (pytest --hypothesis-profile=long).  Registered here because the option is
# read before test modules are imported.
try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the fuzz tests skip without hypothesis
    pass
else:
    _hypothesis_settings.register_profile("long", max_examples=5000, deadline=None)
