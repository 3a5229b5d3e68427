"""DataLoader: batches, shuffling (seeded by manual_seed), drop_last and collate_fn."""
from __future__ import annotations

import numbers
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np

from ..._ffi import ffi, lib, raise_error
from ..._tensor import Tensor, wrap
from .dataset import TensorDataset

__all__ = ["DataLoader", "default_collate"]


class _Sampler(Protocol):  # what DataLoader needs of a sampler: the indices, and their count
    def __iter__(self) -> Iterator[int]: ...
    def __len__(self) -> int: ...


def default_collate(batch: Sequence[Any]) -> Any:
    """Stacks a list of samples: tensors into a batch tensor, numbers into a 1-d tensor,
    tuples/dicts element-wise."""
    from ..._creation import tensor
    from ..._functions import stack

    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, (bool, np.bool_)):
        return tensor(batch)
    if isinstance(first, numbers.Integral):
        return tensor(batch)
    if isinstance(first, numbers.Real):
        return tensor(batch, dtype="float64")
    if isinstance(first, np.ndarray):
        return tensor(np.stack(batch))
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(s)) for s in zip(*batch)) if isinstance(first, tuple) \
            else [default_collate(list(s)) for s in zip(*batch)]
    return batch


class DataLoader:
    """Iterates over a dataset in batches.

    With a TensorDataset and no collate_fn, each batch of every tensor is gathered in one
    C call (no per-sample Python).  Shuffling draws a permutation from the generator that
    `manual_seed` seeds.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 sampler: _Sampler | None = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, **kwargs: Any) -> None:
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> Tensor:
        from ..._creation import arange, randperm, tensor

        if self.sampler is not None:
            return tensor(list(iter(self.sampler)), dtype="int64")
        n = len(self.dataset)
        return randperm(n) if self.shuffle else arange(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        n = order.shape[0]
        bs = self.batch_size
        stop = n - n % bs if self.drop_last else n
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        if fast:
            tensors = self.dataset.tensors
            hs = ffi.new("pa_tensor *[]", [t._h for t in tensors])
            outs = ffi.new("pa_tensor *[]", len(tensors))
        order_list = None
        for start in range(0, stop, bs):
            idx = order[start:min(start + bs, n)]
            if fast:
                status = lib.pa_gather_rows(len(tensors), hs, idx._h, outs)
                if status:
                    raise_error(status)
                yield [wrap(outs[i]) for i in range(len(tensors))]
            else:
                if order_list is None:
                    order_list = order.tolist()
                samples = [self.dataset[i] for i in order_list[start:min(start + bs, n)]]
                yield (self.collate_fn or default_collate)(samples)
