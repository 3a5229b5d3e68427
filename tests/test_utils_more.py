"""Module.get_submodule/get_parameter/get_buffer, nn.utils.parameters_to_vector /
vector_to_parameters and utils.data.ConcatDataset, against PyTorch's behaviour."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
from pyautodiff.utils.data import ConcatDataset, DataLoader, TensorDataset


def test_get_submodule_parameter_buffer():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 1)))
    assert net.get_submodule("") is net
    assert net.get_submodule("1.1") is net[1][1]
    assert net.get_parameter("1.1.weight") is net[1][1].weight
    assert net.get_buffer("1.0.running_mean") is net[1][0].running_mean
    with pytest.raises(AttributeError, match="Sequential has no attribute `5`"):
        net.get_submodule("1.5")
    with pytest.raises(AttributeError, match="`running_mean` is not an nn.Parameter"):
        net.get_parameter("1.0.running_mean")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("0.weight")


def test_parameters_to_vector_and_back():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert tuple(vec.shape) == (2 * 3 + 3 + 3 + 1,)
    np.testing.assert_array_equal(vec.detach().numpy()[:6], net[0].weight.detach().numpy().ravel())
    (vec * vec).sum().backward()           # differentiable: d/dp sum(p^2) = 2p
    np.testing.assert_allclose(net[1].bias.grad.numpy(), 2 * net[1].bias.detach().numpy())
    nn.utils.vector_to_parameters(torch.arange(13.0), net.parameters())
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(net[1].bias.detach().numpy(), [12.0])
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        nn.utils.vector_to_parameters([1.0], net.parameters())


def test_concat_dataset_indexing_and_loading():
    a = TensorDataset(torch.arange(3.0), torch.tensor([0, 1, 2]))
    b = TensorDataset(torch.arange(10.0, 15.0), torch.tensor([5, 6, 7, 8, 9]))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 8 and both.cumulative_sizes == [3, 8]
    assert both[3][0].item() == 10.0 and both[-1][1].item() == 9 and both[2][0].item() == 2.0
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        both[-9]
    xs = np.concatenate([x.numpy() for x, _ in DataLoader(both, batch_size=3)])
    np.testing.assert_array_equal(xs, [0, 1, 2, 10, 11, 12, 13, 14])


def test_against_pytorch(pt):
    a, b = pt.utils.data.TensorDataset(pt.arange(3.0)), pt.utils.data.TensorDataset(pt.arange(4.0))
    ours = ConcatDataset([TensorDataset(torch.arange(3.0)), TensorDataset(torch.arange(4.0))])
    theirs = pt.utils.data.ConcatDataset([a, b])
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i][0].item() for i in range(-7, 7)] == [theirs[i][0].item() for i in range(-7, 7)]
