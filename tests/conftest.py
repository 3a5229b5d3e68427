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
