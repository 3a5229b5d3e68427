"""Datasets (as torch.utils.data)."""
from __future__ import annotations

from typing import Any, Generic, Sequence, TypeVar

from ..._tensor import Tensor

_T_co = TypeVar("_T_co", covariant=True)

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "ConcatDataset"]


class Dataset(Generic[_T_co]):
    """A map-style dataset: implement __getitem__ and __len__.  `a + b` is their
    ConcatDataset."""

    def __getitem__(self, index: int) -> _T_co:
        raise NotImplementedError

    def __add__(self, other: Dataset[_T_co]) -> ConcatDataset[_T_co]:
        return ConcatDataset([self, other])

    def __len__(self) -> int:
        raise NotImplementedError


class IterableDataset(Dataset[_T_co]):
    """A dataset read as a stream: implement __iter__.  A DataLoader batches what it yields,
    in order (no sampler, no shuffle); `a + b` is their ChainDataset."""

    def __iter__(self) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:  # (a stream has no length unless a subclass gives one)
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other: Any) -> Any:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset[_T_co]):
    """Iterable datasets one after another."""

    def __init__(self, datasets: Any) -> None:
        self.datasets = datasets

    def __iter__(self) -> Any:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


def get_worker_info() -> None:
    """None: pyautodiff's DataLoader reads every dataset in the main process."""
    return None


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Samples are rows of the given tensors (which share their first dimension).  A
    DataLoader gathers a whole batch of rows of every tensor in one C call."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        for t in tensors:
            if not isinstance(t, Tensor) or t.ndim == 0:
                raise TypeError("TensorDataset: every argument must be a Tensor with at least one dim")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError("Size mismatch between tensors: "
                             + ", ".join(str(tuple(t.shape)) for t in tensors))
        self.tensors = tuple(t.detach() for t in tensors)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset[_T_co]):
    def __init__(self, dataset: Dataset[_T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)

    def __getitem__(self, index: int) -> _T_co:
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset[_T_co], lengths: Sequence[int | float],
                 generator: Any = None) -> list[Subset[_T_co]]:
    """Splits into non-overlapping subsets of the given lengths (or fractions), in a random
    order from pyautodiff's generator or `generator` (a torch.Generator)."""
    import math

    from ..._creation import randperm

    n = len(dataset)
    if all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) != n:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = randperm(n, generator=generator).tolist()
    out: list[Subset[_T_co]] = []
    start = 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + length]))
        start += length  # type: ignore[assignment]  # (fractions were turned into ints above)
    return out


class ConcatDataset(Dataset[_T_co]):
    """The datasets one after another, as torch.utils.data.ConcatDataset."""

    def __init__(self, datasets: Sequence[Dataset[_T_co]]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        self.cumulative_sizes: list[int] = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> _T_co:
        import bisect

        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]
