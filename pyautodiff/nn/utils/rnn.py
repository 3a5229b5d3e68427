"""nn.utils.rnn: padding a list of variable-length sequences into one tensor."""
from __future__ import annotations

from typing import Sequence

from ..._tensor import Tensor

__all__ = ["pad_sequence"]


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
