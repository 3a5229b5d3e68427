"""The legacy typed constructors torch.FloatTensor / DoubleTensor / LongTensor / BoolTensor,
compared with PyTorch where it is installed."""
import numpy as np
import pytest

import pyautodiff as torch

NAMES = ["FloatTensor", "DoubleTensor", "LongTensor", "BoolTensor"]
DTYPES = {"FloatTensor": torch.float32, "DoubleTensor": torch.float64, "LongTensor": torch.int64,
          "BoolTensor": torch.bool}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("data", [[1, 0, 2], [[1.5, -2.0], [0.0, 3.7]], (2, 3), [True, False], []])
def test_data_is_cast_like_pytorch(name, data, pt):
    ours = getattr(torch, name)(data)
    theirs = getattr(pt, name)(data)
    assert ours.dtype == DTYPES[name]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_sizes_give_uninitialised_tensors(name, pt):
    for args in [(2, 3), (4,), (0,), (torch.Size([2, 1, 3]),), (np.int64(2), 2), ()]:
        t = getattr(torch, name)(*args)
        pt_args = tuple(pt.Size(a) if isinstance(a, torch.Size) else a for a in args)
        assert tuple(t.shape) == tuple(getattr(pt, name)(*pt_args).shape)
        assert t.dtype == DTYPES[name] and not t.requires_grad
    assert getattr(torch, name)(2, device="cpu").shape == (2,)


def test_numpy_data_and_tensor_arguments():
    assert torch.FloatTensor(np.array([1, 2])).tolist() == [1.0, 2.0]
    assert torch.LongTensor(np.array([1.9, -1.9])).tolist() == [1, -1]
    x = torch.ones(2, requires_grad=True)
    y = torch.FloatTensor(x)  # an alias: same memory, still in the graph (as PyTorch)
    assert y.requires_grad and y.grad_fn is not None
    with torch.no_grad():
        y[0] = 5.0
    assert x.tolist() == [5.0, 1.0]
    with pytest.raises(TypeError, match="FloatTensor\\(\\): expected a tensor of dtype torch.float32"):
        torch.FloatTensor(torch.tensor([1, 2]))


@pytest.mark.parametrize("args", [(2.5,), (True,), ("ab",), (None,), (2, 3.0), (2, [3])])
def test_bad_arguments_raise_type_error_like_pytorch(args, pt):
    with pytest.raises(TypeError, match="FloatTensor"):
        torch.FloatTensor(*args)
    with pytest.raises(TypeError):
        pt.FloatTensor(*args)


def test_keyword_arguments_and_negative_sizes():
    with pytest.raises(TypeError, match="FloatTensor\\(\\) got an unexpected keyword argument 'dtype'"):
        torch.FloatTensor([1.0], dtype=torch.float64)
    with pytest.raises(RuntimeError, match="negative dimension"):
        torch.LongTensor(-1)
    with pytest.raises(ValueError, match="only the 'cpu' device"):
        torch.FloatTensor(2, device="cuda")


def test_isinstance_tests_the_dtype(pt):
    for lib in (torch, pt):
        f, d = lib.zeros(2), lib.zeros(2, dtype=lib.float64)
        i, b = lib.zeros(2, dtype=lib.int64), lib.zeros(2, dtype=lib.bool)
        assert isinstance(f, lib.FloatTensor) and not isinstance(f, lib.DoubleTensor)
        assert isinstance(d, lib.DoubleTensor) and not isinstance(d, lib.FloatTensor)
        assert isinstance(i, lib.LongTensor) and isinstance(b, lib.BoolTensor)
        assert isinstance(lib.nn.Parameter(lib.zeros(1)), lib.FloatTensor)
        assert not isinstance([1.0], lib.FloatTensor) and not isinstance(1.0, lib.FloatTensor)
        assert isinstance(f, (lib.LongTensor, lib.FloatTensor))
        assert not issubclass(lib.FloatTensor, lib.Tensor)
        assert lib.FloatTensor.dtype == lib.float32 and lib.LongTensor.dtype == lib.int64
    assert repr(torch.FloatTensor) == repr(pt.FloatTensor) == "<class 'torch.FloatTensor'>"


def test_exported():
    for name in NAMES:
        assert name in torch.__all__
