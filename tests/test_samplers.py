"""Samplers (pyautodiff.utils.data) and the DataLoader's sampler / batch_sampler paths,
compared with torch.utils.data where PyTorch is installed.  The random streams are
pyautodiff's own: the tests compare semantics and distributions, not values."""
import collections

import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.utils.data import (BatchSampler, DataLoader, Dataset, RandomSampler, Sampler, SequentialSampler,
                                   SubsetRandomSampler, TensorDataset, WeightedRandomSampler, default_convert)


def _data(lib):
    return lib.utils.data


def _raises_like_pytorch(pt, make, exc):
    """make(data_module) raises exc with the same message in both libraries."""
    with pytest.raises(exc) as ours:
        make(torch.utils.data)
    with pytest.raises(exc) as theirs:
        make(pt.utils.data)
    assert str(ours.value) == str(theirs.value)


# ---- the samplers ------------------------------------------------------------------------
def test_sequential_sampler_matches_pytorch(pt):
    data = list(range(7))
    assert list(SequentialSampler(data)) == list(pt.utils.data.SequentialSampler(data)) == data
    assert len(SequentialSampler(data)) == 7
    assert list(SequentialSampler([])) == []


def test_random_sampler_without_replacement_is_a_permutation():
    s = RandomSampler(range(10))
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == list(range(10)) and len(s) == 10
    assert first != second  # a fresh permutation each time


@pytest.mark.parametrize("num_samples", [3, 10, 25])
def test_random_sampler_num_samples_without_replacement(num_samples, pt):
    for lib in (torch, pt):
        out = list(lib.utils.data.RandomSampler(range(10), num_samples=num_samples))
        assert len(out) == num_samples
        # whole permutations first, then the start of another one: no repeats inside each
        for start in range(0, num_samples, 10):
            chunk = out[start:start + 10]
            assert len(set(chunk)) == len(chunk) and set(chunk) <= set(range(10))


def test_random_sampler_with_replacement_draws_uniformly():
    s = RandomSampler(range(5), replacement=True, num_samples=20000)
    out = list(s)
    assert len(out) == len(s) == 20000 and set(out) == set(range(5))
    counts = np.bincount(out, minlength=5)
    assert np.all(np.abs(counts - 4000) < 5 * np.sqrt(4000))
    assert len(list(RandomSampler(range(100), replacement=True, num_samples=3))) == 3


def test_random_sampler_is_seeded_by_manual_seed():
    torch.manual_seed(11)
    a = list(RandomSampler(range(20))) + list(RandomSampler(range(20), replacement=True, num_samples=9))
    torch.manual_seed(11)
    b = list(RandomSampler(range(20))) + list(RandomSampler(range(20), replacement=True, num_samples=9))
    assert a == b


def test_random_sampler_num_samples_follows_the_dataset():
    data = list(range(3))
    s = RandomSampler(data)
    data.append(3)
    assert len(s) == 4 and sorted(s) == [0, 1, 2, 3]


@pytest.mark.parametrize("kwargs,exc", [({"replacement": 1}, TypeError), ({"num_samples": 0}, ValueError),
                                        ({"num_samples": 2.0}, ValueError), ({"num_samples": -1}, ValueError)])
def test_random_sampler_errors_match_pytorch(kwargs, exc, pt):
    _raises_like_pytorch(pt, lambda d: d.RandomSampler(range(3), **kwargs), exc)


def test_random_sampler_of_an_empty_dataset_raises_like_pytorch(pt):
    _raises_like_pytorch(pt, lambda d: d.RandomSampler([]), ValueError)


def test_samplers_reject_what_is_not_a_generator():
    with pytest.raises(TypeError, match="RandomSampler: generator must be a torch.Generator, not object"):
        RandomSampler(range(3), generator=object())


def test_subset_random_sampler():
    idx = [10, 4, 7, 7, 2]
    s = SubsetRandomSampler(idx)
    out = list(s)
    assert len(s) == 5 and sorted(out) == sorted(idx)
    orders = {tuple(s) for _ in range(30)}
    assert len(orders) > 1
    torch.manual_seed(5)
    a = list(s)
    torch.manual_seed(5)
    assert list(s) == a


def test_weighted_random_sampler_distribution():
    w = [0.1, 0.0, 2.0, 0.9, 1.0]
    s = WeightedRandomSampler(w, 40000)
    out = list(s)
    assert len(out) == len(s) == 40000
    counts = np.bincount(out, minlength=5)
    assert counts[1] == 0  # a zero weight is never drawn
    p = np.array(w) / sum(w)
    expected = p * 40000
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected * (1 - p)) + 1)
    assert isinstance(s.weights, torch.Tensor) and s.weights.dtype == torch.float64


def test_weighted_random_sampler_without_replacement(pt):
    w = [1.0, 3.0, 0.0, 6.0]
    for lib in (torch, pt):
        out = list(lib.utils.data.WeightedRandomSampler(w, 3, replacement=False))
        assert len(set(out)) == 3 and 2 not in out
    # all of them: the zero-weight one last, as PyTorch's multinomial
    assert list(WeightedRandomSampler(w, 4, replacement=False))[-1] == 2
    # the first draw is proportional to the weights
    firsts = collections.Counter(next(iter(WeightedRandomSampler(w, 2, replacement=False))) for _ in range(6000))
    for i, wi in enumerate(w):
        expected = 6000 * wi / 10
        assert abs(firsts[i] - expected) <= 5 * np.sqrt(expected + 1)
    # the second draw, given the first: proportional to the weights left
    seconds = collections.Counter(tuple(WeightedRandomSampler(w, 2, replacement=False)) for _ in range(6000))
    n_after_3 = sum(v for k, v in seconds.items() if k[0] == 3)
    n_3_then_1 = seconds[(3, 1)]
    assert abs(n_3_then_1 / n_after_3 - 0.75) < 0.05


def test_weighted_random_sampler_accepts_a_tensor_and_is_seeded():
    w = torch.tensor([1.0, 2.0, 3.0])
    torch.manual_seed(2)
    a = list(WeightedRandomSampler(w, 50))
    torch.manual_seed(2)
    assert list(WeightedRandomSampler(w, 50)) == a


@pytest.mark.parametrize("args,exc", [
    (([1.0, 2.0], 0), ValueError), (([1.0, 2.0], True), ValueError), (([1.0, 2.0], 2.5), ValueError),
    (([1.0, 2.0], 2, 1), ValueError), (([[1.0, 2.0]], 1), ValueError)])
def test_weighted_random_sampler_construction_errors_match_pytorch(args, exc, pt):
    _raises_like_pytorch(pt, lambda d: d.WeightedRandomSampler(*args), exc)


@pytest.mark.parametrize("weights,n,replacement", [
    ([1.0, -1.0], 1, True), ([0.0, 0.0], 1, True), ([1.0, float("nan")], 1, True), ([1.0, float("inf")], 1, True),
    ([1.0, 2.0], 3, False)])
def test_weighted_random_sampler_bad_weights_raise_like_pytorch_when_iterated(weights, n, replacement, pt):
    _raises_like_pytorch(pt, lambda d: list(d.WeightedRandomSampler(weights, n, replacement)), RuntimeError)


@pytest.mark.parametrize("n,batch_size", [(10, 3), (9, 3), (2, 5), (0, 2), (7, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batch_sampler_matches_pytorch(n, batch_size, drop_last, pt):
    ours = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last)
    theirs = pt.utils.data.BatchSampler(pt.utils.data.SequentialSampler(range(n)), batch_size, drop_last)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs) == len(list(ours))
    assert all(isinstance(b, list) for b in ours)


def test_batch_sampler_of_any_iterable_and_random_sampler():
    assert list(BatchSampler([5, 3, 9, 1, 0], 2, False)) == [[5, 3], [9, 1], [0]]
    batches = list(BatchSampler(RandomSampler(range(10)), 4, False))
    assert [len(b) for b in batches] == [4, 4, 2] and sorted(sum(batches, [])) == list(range(10))


@pytest.mark.parametrize("args", [(0, False), (True, False), (2.0, False), (-1, False), (2, 1), (2, None)])
def test_batch_sampler_errors_match_pytorch(args, pt):
    _raises_like_pytorch(pt, lambda d: d.BatchSampler(range(3), *args), ValueError)


def test_sampler_base_class_and_a_custom_sampler():
    with pytest.raises(NotImplementedError):
        iter(Sampler())

    class Reverse(Sampler[int]):
        def __init__(self, data):
            self.data = data

        def __iter__(self):
            return iter(range(len(self.data) - 1, -1, -1))

        def __len__(self):
            return len(self.data)

    ds = TensorDataset(torch.arange(5))
    assert [b[0].tolist() for b in DataLoader(ds, batch_size=2, sampler=Reverse(ds))] == [[4, 3], [2, 1], [0]]


# ---- the DataLoader with samplers --------------------------------------------------------
class _Squares(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.float32(i * i), i


def _loader_values(lib, ds_kind, **kwargs):
    d = lib.utils.data
    ds = d.TensorDataset(lib.arange(10), lib.arange(10) * 10) if ds_kind == "tensor" else _Squares()
    if "batch_sampler" in kwargs:
        kwargs["batch_sampler"] = d.BatchSampler(d.SequentialSampler(ds), *kwargs["batch_sampler"])
    if "sampler" in kwargs:
        kwargs["sampler"] = d.SequentialSampler(ds) if kwargs["sampler"] == "seq" else kwargs["sampler"]
    loader = d.DataLoader(ds, **kwargs)
    out = [[np.asarray(t).tolist() for t in batch] for batch in loader]
    return len(loader), out


@pytest.mark.parametrize("ds_kind", ["tensor", "custom"])
@pytest.mark.parametrize("kwargs", [
    {"batch_sampler": (4, False)}, {"batch_sampler": (4, True)}, {"batch_sampler": (1, False)},
    {"batch_size": 3, "sampler": "seq"}, {"batch_size": 4, "sampler": [9, 0, 3, 3, 5], "drop_last": True},
    {"batch_size": 2, "sampler": [7, 1, 2]}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True}])
def test_loader_batches_match_pytorch(ds_kind, kwargs, pt):
    ours = _loader_values(torch, ds_kind, **dict(kwargs))
    theirs = _loader_values(pt, ds_kind, **dict(kwargs))
    assert ours == theirs


def test_loader_without_batching_matches_pytorch(pt):
    for ds_kind in ("tensor", "custom"):
        ours = [[np.asarray(v).tolist() for v in s] for s in DataLoader(
            TensorDataset(torch.arange(4)) if ds_kind == "tensor" else _Squares(), batch_size=None)]
        theirs = [[np.asarray(v).tolist() for v in s] for s in pt.utils.data.DataLoader(
            pt.utils.data.TensorDataset(pt.arange(4)) if ds_kind == "tensor" else _Squares(), batch_size=None)]
        assert ours == theirs
    sample = next(iter(DataLoader(_Squares(), batch_size=None)))
    assert isinstance(sample, list) and isinstance(sample[0], torch.Tensor) and sample[1] == 0  # (as PyTorch)
    assert len(DataLoader(_Squares(), batch_size=None, sampler=[1, 2])) == 2


def test_loader_defaults_and_attributes(pt):
    ds = TensorDataset(torch.arange(10))
    for lib, data in ((torch, ds), (pt, pt.utils.data.TensorDataset(pt.arange(10)))):
        d = lib.utils.data
        plain = d.DataLoader(data, batch_size=3)
        assert isinstance(plain.sampler, d.SequentialSampler) and isinstance(plain.batch_sampler, d.BatchSampler)
        assert plain.batch_sampler.batch_size == 3 and len(plain) == 4
        assert isinstance(d.DataLoader(data, shuffle=True).sampler, d.RandomSampler)
        custom = d.DataLoader(data, batch_sampler=d.BatchSampler(range(10), 4, True))
        assert custom.batch_size is None and custom.drop_last is False and len(custom) == 2
        assert d.DataLoader(data, batch_size=None).batch_sampler is None


def test_loader_shuffle_is_the_random_sampler_stream():
    ds = TensorDataset(torch.arange(12))
    torch.manual_seed(4)
    shuffled = [b[0].tolist() for b in DataLoader(ds, batch_size=5, shuffle=True)]
    torch.manual_seed(4)
    sampled = [b[0].tolist() for b in DataLoader(ds, batch_size=5, sampler=RandomSampler(ds))]
    torch.manual_seed(4)
    by_batch_sampler = [b[0].tolist() for b in DataLoader(ds, batch_sampler=BatchSampler(RandomSampler(ds), 5, False))]
    assert shuffled == sampled == by_batch_sampler
    assert sorted(sum(shuffled, [])) == list(range(12))


def test_loader_with_weighted_and_subset_samplers():
    x = torch.arange(6).float()
    ds = TensorDataset(x, x * 2)
    loader = DataLoader(ds, batch_size=4, sampler=WeightedRandomSampler([0, 0, 1, 0, 0, 1], 12))
    seen = torch.cat([b[0] for b in loader]).tolist()
    assert len(loader) == 3 and len(seen) == 12 and set(seen) <= {2.0, 5.0}
    loader = DataLoader(ds, batch_size=2, sampler=SubsetRandomSampler([1, 3, 4]))
    batches = list(loader)
    assert len(loader) == 2 and sorted(torch.cat([b[0] for b in batches]).tolist()) == [1.0, 3.0, 4.0]
    assert all(np.array_equal(b[1].numpy(), b[0].numpy() * 2) for b in batches)


def test_loader_with_batch_sampler_and_collate_fn():
    loader = DataLoader(_Squares(), batch_sampler=[[0, 1], [5]], collate_fn=lambda b: [s[1] for s in b])
    assert list(loader) == [[0, 1], [5]]


@pytest.mark.parametrize("kwargs", [
    {"sampler": [1, 2], "shuffle": True}, {"batch_sampler": [[1]], "batch_size": 2},
    {"batch_sampler": [[1]], "drop_last": True}, {"batch_sampler": [[1]], "shuffle": True},
    {"batch_sampler": [[1]], "sampler": [1]}, {"batch_size": None, "drop_last": True}, {"batch_size": 0}])
def test_loader_option_errors_match_pytorch(kwargs, pt):
    _raises_like_pytorch(pt, lambda d: d.DataLoader(d.TensorDataset(torch.arange(3) if d is torch.utils.data
                                                                    else pt.arange(3)), **kwargs), ValueError)


def test_default_convert():
    out = default_convert({"a": np.arange(3), "b": (np.float64(1.5), "s"), "c": [1, 2]})
    assert isinstance(out["a"], torch.Tensor) and out["a"].tolist() == [0, 1, 2]
    assert isinstance(out["b"], list) and isinstance(out["b"][0], torch.Tensor) and out["b"][1] == "s"
    assert out["c"] == [1, 2]
