"""IterableDataset, ChainDataset and get_worker_info with the DataLoader: batches in stream
order, drop_last, len, collate, the options a stream refuses; against PyTorch when it is
installed."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.utils.data import ChainDataset, DataLoader, IterableDataset, get_worker_info


class Squares(IterableDataset):
    def __init__(self, n, lib=torch):
        self.n, self.lib = n, lib

    def __iter__(self):
        for i in range(self.n):
            yield self.lib.tensor([float(i), float(i * i)]), i % 3

    def __len__(self):
        return self.n


class Stream(IterableDataset):
    def __iter__(self):
        yield from range(5)


def _batches(lib, **kw):
    import importlib

    data = importlib.import_module(lib.__name__ + ".utils.data")

    class S(data.IterableDataset):
        def __iter__(self):
            for i in range(7):
                yield lib.tensor([float(i), float(i * i)]), i % 3

        def __len__(self):
            return 7

    loader = data.DataLoader(S(), **kw)
    return [(x.numpy().tolist(), y.numpy().tolist()) for x, y in loader], len(loader)


@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=7)])
def test_batches_against_pytorch(pt, kw):
    assert _batches(torch, **kw) == _batches(pt, **kw)


def test_streams_chains_and_refusals():
    loader = DataLoader(Squares(5), batch_size=2)
    batches = list(loader)
    assert len(loader) == 3 and [b[1].tolist() for b in batches] == [[0, 1], [2, 0], [1]]
    np.testing.assert_array_equal(batches[1][0].numpy(), [[2.0, 4.0], [3.0, 9.0]])
    chained = Squares(2) + Squares(3)
    assert isinstance(chained, ChainDataset) and len(chained) == 5
    assert [int(y) for _, y in chained] == [0, 1, 0, 1, 2]
    assert list(DataLoader(Stream(), batch_size=None)) == [0, 1, 2, 3, 4]
    with pytest.raises(TypeError):
        len(DataLoader(Stream(), batch_size=2))
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(), sampler=[0, 1])
    assert get_worker_info() is None
