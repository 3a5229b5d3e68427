"""Samplers: the order in which a DataLoader visits a dataset (as torch.utils.data.sampler).

Random samplers draw from pyautodiff's one generator, so `manual_seed` makes them
reproducible, or from their own torch.Generator (generator=); the streams are
pyautodiff's, not PyTorch's.
"""
from __future__ import annotations

import itertools
from typing import Any, Generic, Iterable, Iterator, Sequence, Sized, TypeVar

import numpy as np

from ..._tensor import Tensor

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]

_T_co = TypeVar("_T_co", covariant=True)


def _check_generator(name: str, generator: Any) -> None:
    from ..._generator import Generator

    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{name}: generator must be a torch.Generator, not {type(generator).__name__}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Sampler(Generic[_T_co]):
    """Base class: a subclass implements __iter__ (the indices, or batches of indices)
    and, where it can, __len__."""

    def __iter__(self) -> Iterator[_T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1, always in that order."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices of data_source: a fresh permutation (repeated, then cut, to give
    num_samples indices) without replacement; num_samples independent uniform draws with
    replacement.  num_samples defaults to len(data_source), read at each iteration."""

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        _check_generator("RandomSampler", generator)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        # (the dataset's size may change between iterations)
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        from ..._creation import randint, randperm

        from ..._generator import using

        n = len(self.data_source)
        k = self.num_samples
        with using(self.generator):  # (the whole order drawn now: nothing else draws in between)
            if self.replacement:
                order = randint(0, n, (k,)).tolist()
            else:
                order = [i for _ in range(k // n) for i in randperm(n).tolist()]
                if k % n:
                    order += randperm(n).tolist()[:k % n]
        yield from order

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices, in a fresh random order at each iteration (no replacement)."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        _check_generator("SubsetRandomSampler", generator)
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        from ..._creation import randperm

        for i in randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


def _multinomial(weights: np.ndarray, num_samples: int, replacement: bool) -> list[int]:
    """num_samples category indices drawn with probabilities proportional to weights (as
    torch.multinomial, with its checks and errors), from pyautodiff's generator."""
    from ... import float64
    from ..._creation import rand

    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    total = weights.sum()
    if not total > 0:
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > weights.shape[0]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    u = rand(num_samples if replacement else weights.shape[0], dtype=float64).numpy()
    if replacement:
        # Inverse CDF: the first category whose cumulative weight exceeds u * total (never
        # a zero-weight one; rounding at the very top goes to the last positive weight).
        cdf = np.cumsum(weights)
        idx = np.searchsorted(cdf, u * cdf[-1], side="right")
        return np.minimum(idx, np.flatnonzero(weights)[-1]).tolist()
    # Without replacement: the categories with the largest w / E, E ~ Exp(1) (an
    # exponential race, as PyTorch's CPU kernel); zero weights come last, lowest first.
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = weights / -np.log1p(-u)
    return np.argsort(-np.nan_to_num(keys, nan=0.0), kind="stable")[:num_samples].tolist()


class WeightedRandomSampler(Sampler[int]):
    """num_samples indices of range(len(weights)), drawn with probability proportional to
    the weights (which need not sum to 1); without replacement an index appears at most
    once."""

    def __init__(self, weights: Sequence[float] | Tensor, num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        from ... import float64
        from ..._creation import as_tensor

        _check_generator("WeightedRandomSampler", generator)
        if not _is_int(num_samples) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights_tensor = as_tensor(weights, dtype=float64)
        if weights_tensor.ndim != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights_tensor.shape)}")
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        from ..._generator import using

        with using(self.generator):
            order = _multinomial(self.weights.numpy(), self.num_samples, self.replacement)
        yield from order

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of another sampler (or any iterable) into lists of batch_size;
    the last, shorter one is dropped when drop_last is True."""

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not _is_int(batch_size) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        if self.drop_last:
            for full in zip(*[it] * self.batch_size):
                yield list(full)
            return
        batch = list(itertools.islice(it, self.batch_size))
        while batch:
            yield batch
            batch = list(itertools.islice(it, self.batch_size))

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]  # (a sampler without __len__ raises TypeError, as in PyTorch)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
