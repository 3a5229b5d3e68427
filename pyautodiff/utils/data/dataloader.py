"""DataLoader: batches, shuffling (seeded by manual_seed), samplers, batch samplers,
drop_last and collate_fn."""
from __future__ import annotations

import collections.abc
import numbers
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ..._ffi import ffi, lib, raise_error
from ..._tensor import Tensor, wrap
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate", "default_convert"]


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


def default_convert(data: Any) -> Any:
    """What a DataLoader without batching (batch_size=None) does to each sample, as
    PyTorch's: NumPy arrays and scalars become tensors, containers are converted element
    by element (a tuple becomes a list, as in PyTorch); anything else is kept."""
    from ..._creation import as_tensor

    if isinstance(data, (np.ndarray, np.number, np.bool_)) and data.dtype.kind not in "SUOV":
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        converted = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(converted)  # type: ignore[call-arg]  # (a Mapping subclass taking a dict)
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # a namedtuple
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([default_convert(d) for d in data])  # type: ignore[call-arg]
        except TypeError:
            return [default_convert(d) for d in data]
    return data


class DataLoader:
    """Iterates over a dataset in batches, as torch.utils.data.DataLoader.

    The indices come from `sampler` (by default a SequentialSampler, or a RandomSampler
    with shuffle=True) grouped into batches of batch_size, or from a `batch_sampler` that
    yields whole batches; batch_size=None turns batching off (each sample, converted by
    default_convert, or by collate_fn).  With a TensorDataset and the default collate_fn,
    each batch of every tensor is gathered in one C call (no per-sample Python).  Random
    orders come from the generator that `manual_seed` seeds, or from `generator`.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler[Any] | Iterable[Any] | None = None,
                 batch_sampler: Sampler[list[int]] | Iterable[list[int]] | None = None, num_workers: int = 0,
                 collate_fn: Callable[[Any], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, generator: Any = None, **kwargs: Any) -> None:
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:  # a stream: no sampler, no shuffling, as PyTorch
            for option, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {option} option, "
                                     f"but got {option}={value!r}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive "
                             "with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        # The batch sampler made here is not iterated: __iter__ cuts the sampler's order
        # into batches itself (one index tensor, sliced), which is what it would yield.
        self._own_batch_sampler = batch_size is not None and batch_sampler is None
        if self._own_batch_sampler:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # type: ignore[arg-type]
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # (TypeError for a stream without __len__, as PyTorch)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is None:
            return len(self.sampler)  # type: ignore[arg-type]  # (a sampler without __len__: TypeError)
        return len(self.batch_sampler)  # type: ignore[arg-type]

    def _iter_stream(self) -> Iterator[Any]:
        """An IterableDataset's items, batch_size at a time, in order."""
        if self.batch_size is None:
            for item in self.dataset:
                yield self.collate_fn(item)
            return
        batch: list[Any] = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def _order(self) -> Tensor:
        """The sampler's indices, as one int64 tensor (drawn directly for the default
        samplers: the same stream as iterating them)."""
        from ..._creation import arange, randperm, tensor

        s = self.sampler
        if type(s) is SequentialSampler:
            return arange(len(s.data_source))
        if type(s) is RandomSampler and not s.replacement and s._num_samples is None:
            return randperm(len(s.data_source), generator=s.generator)
        return tensor(list(iter(s)), dtype="int64")

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:  # no batching: one sample at a time
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])
            return
        if not (isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate):
            for batch in self.batch_sampler:
                yield self.collate_fn([self.dataset[i] for i in batch])
            return
        # A TensorDataset with the default collate_fn: each batch of rows of every tensor
        # is gathered in one C call.
        from ..._creation import tensor

        tensors = self.dataset.tensors
        hs = ffi.new("pa_tensor *[]", [t._h for t in tensors])
        outs = ffi.new("pa_tensor *[]", len(tensors))

        def gather(idx: Tensor) -> list[Tensor]:
            status = lib.pa_gather_rows(len(tensors), hs, idx._h, outs)
            if status:
                raise_error(status)
            return [wrap(outs[i]) for i in range(len(tensors))]

        if not self._own_batch_sampler:  # a user's batch sampler: its lists of indices
            for batch in self.batch_sampler:
                yield gather(tensor(list(batch), dtype="int64"))
            return
        # The batch sampler made in __init__: slices of the sampler's order, as one tensor.
        order = self._order()
        n = order.shape[0]
        assert isinstance(self.batch_sampler, BatchSampler)
        bs, drop_last = self.batch_sampler.batch_size, self.batch_sampler.drop_last
        stop = n - n % bs if drop_last else n
        for start in range(0, stop, bs):
            yield gather(order[start:min(start + bs, n)])
