"""nn.utils.rnn: padding and packing variable-length sequences, as torch.nn.utils.rnn.

A PackedSequence holds a batch of sequences of different lengths time step by time step:
`data` stacks, for t = 0, 1, ..., the step-t elements of the sequences still running at
t (longest first), and `batch_sizes[t]` says how many there are.  The recurrent layers
(nn.RNN, nn.LSTM, nn.GRU) take one and return their output as one, so that no step of
a finished sequence is computed or reaches its final hidden state.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

from ..._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A packed batch of variable-length sequences (a named tuple of data, batch_sizes,
    sorted_indices, unsorted_indices), as torch.nn.utils.rnn.PackedSequence.  Build one
    with pack_padded_sequence or pack_sequence; sorted_indices is the order the batch was
    sorted into (None when it came sorted), unsorted_indices its inverse."""

    def __new__(cls, data: Any, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), sorted_indices=...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data: Tensor) -> PackedSequence:
        if data is self.data:
            return self
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same packing with data converted by Tensor.to (batch_sizes stay int64)."""
        return self._with_data(self.data.to(*args, **kwargs))

    def cpu(self) -> PackedSequence:
        return self

    def double(self) -> PackedSequence:
        return self._with_data(self.data.double())

    def float(self) -> PackedSequence:
        return self._with_data(self.data.float())

    def long(self) -> PackedSequence:
        return self._with_data(self.data.long())

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of 0..n-1 (None for None)."""
    if permutation is None:
        return None
    from ..._creation import tensor

    perm = permutation.numpy()
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(perm.size, dtype=perm.dtype)
    return tensor(inverse)


def _lengths_array(lengths: Any) -> np.ndarray:
    """lengths (a list or a tensor) as a 1-D int64 array, with PyTorch's check."""
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D cpu {lengths.dtype} tensor")
        return lengths.numpy().astype(np.int64)
    arr = np.asarray(lengths)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise RuntimeError(f"'lengths' argument should be a 1D list or tensor of ints, got {lengths!r}")
    return arr.astype(np.int64)


def pack_padded_sequence(input: Tensor, lengths: Any, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Packs a padded batch (T, B, *) (or (B, T, *) with batch_first) of sequences whose
    lengths are `lengths` into a PackedSequence.  With enforce_sorted the lengths must
    be in decreasing order; otherwise the batch is sorted first (stably, longest first)
    and the order kept in sorted_indices.  Differentiable with respect to input."""
    from ..._creation import tensor
    from ..._functions import cat

    lens = _lengths_array(lengths)
    if input.dim() < 2:
        raise RuntimeError(f"pack_padded_sequence: input must have at least 2 dims (time and batch), "
                           f"got shape {tuple(input.shape)}")
    batch_dim = 0 if batch_first else 1
    steps, batch = input.shape[1 - batch_dim], input.shape[batch_dim]
    sorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                               "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                               "pack_sequence to sidestep this requirement if you do not need ONNX "
                               "exportability.")
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = tensor(order.astype(np.int64))
        input = input.index_select(batch_dim, sorted_indices)
    if lens.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} "
                           f"(batch_size={batch})")
    if batch and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in "
                           "'lengths' that is <= 0")
    if batch and lens[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: the longest length, {int(lens[0])}, exceeds the input's "
                           f"{steps} time steps (shape {tuple(input.shape)}, batch_first={batch_first})")
    # batch_sizes[t]: how many sequences are longer than t
    batch_sizes = (lens[None, :] > np.arange(int(lens[0]) if batch else 0)[:, None]).sum(1)
    if batch_first:
        input = input.transpose(0, 1)
    data = cat([input[t, :int(n)] for t, n in enumerate(batch_sizes)], 0)
    return PackedSequence(data, tensor(batch_sizes.astype(np.int64)), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of pack_padded_sequence: (padded, lengths), the batch back in its
    original order, time padded with padding_value to the longest length (or to
    total_length).  Differentiable with respect to the packed data."""
    from ..._creation import full, tensor
    from ..._functions import cat, stack

    data, batch_sizes = sequence.data, sequence.batch_sizes.numpy().astype(np.int64)
    steps = int(batch_sizes.size)
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in "
                             f"input, but got total_length={total_length} and max sequence length being {steps}")
        steps = total_length
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    trailing = tuple(data.shape[1:])
    rows, offset = [], 0
    for n in batch_sizes:
        step = data[offset:offset + int(n)]
        offset += int(n)
        if n < batch:
            step = cat([step, full((batch - int(n),) + trailing, padding_value, dtype=data.dtype)], 0)
        rows.append(step)
    rows += [full((batch,) + trailing, padding_value, dtype=data.dtype)] * (steps - len(rows))
    padded = stack(rows, 1 if batch_first else 0) if rows else full(
        ((batch, 0) if batch_first else (0, batch)) + trailing, padding_value, dtype=data.dtype)
    lengths = (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(1).astype(np.int64)
    if sequence.unsorted_indices is not None:
        order = sequence.unsorted_indices
        return padded.index_select(0 if batch_first else 1, order), tensor(lengths[order.numpy()])
    return padded, tensor(lengths)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stacks tensors of shape (L_i, *) into (max L, B, *) (or (B, max L, *) with
    batch_first), padding each with padding_value on the right (or left); differentiable
    (each sequence is concatenated with a constant block), as torch.nn.utils.rnn.pad_sequence."""
    from ..._creation import full
    from ..._functions import cat, stack

    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    trailing = tuple(seqs[0].shape[1:])
    for s in seqs:
        if s.ndim == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence must have shape (L, {', '.join(map(str, trailing))}"
                               f"{',' if len(trailing) == 1 else ''}), got {tuple(s.shape)}")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        missing = longest - s.shape[0]
        if missing:
            block = full((missing,) + trailing, padding_value, dtype=s.dtype)
            s = cat([s, block] if padding_side == "right" else [block, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Any, batch_first: bool = False) -> list[Tensor]:
    """The sequences of a padded batch, each cut to its length (the inverse of pad_sequence)."""
    lens = _lengths_array(lengths)
    batch = padded_sequences.shape[0 if batch_first else 1]
    if lens.size != batch:
        raise ValueError(f"unpad_sequence: {lens.size} lengths for a batch of {batch}")
    if batch_first:
        return [padded_sequences[b, :int(n)] for b, n in enumerate(lens)]
    return [padded_sequences[:int(n), b] for b, n in enumerate(lens)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of sequences of shape (L_i, *) (longest first with enforce_sorted)."""
    seqs = list(sequences)
    return pack_padded_sequence(pad_sequence(seqs), [s.shape[0] for s in seqs], enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
