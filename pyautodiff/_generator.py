"""torch.Generator: an independent random stream.  pyautodiff's kernels draw from one
process-wide generator (csrc/rng.c); a Generator keeps its own state and swaps it in for
the duration of a draw that names it (generator=), so its numbers do not depend on, nor
disturb, the global stream.  get_rng_state / set_rng_state save and restore the global
one (as 8 int64 words; PyTorch's are bytes, and the two are not interchangeable)."""
from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

import numpy as np

from ._ffi import ffi, lib

__all__ = ["Generator", "default_generator", "get_rng_state", "set_rng_state"]

_DEFAULT_SEED = 67280421310721  # a fresh torch.Generator's seed


def _read_state() -> np.ndarray:
    buf = ffi.new("uint64_t[8]")
    lib.pa_rng_get_state(buf)
    return np.frombuffer(ffi.buffer(buf), dtype=np.uint64).copy()


def _write_state(words: np.ndarray) -> None:
    words = np.ascontiguousarray(words, dtype=np.uint64)
    lib.pa_rng_set_state(ffi.cast("const uint64_t *", ffi.from_buffer(words)))


def _seeded_state(seed: int) -> np.ndarray:
    saved = _read_state()
    lib.pa_manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)
    state = _read_state()
    _write_state(saved)
    return state


def _state_tensor(words: np.ndarray) -> Any:
    from ._creation import from_numpy

    return from_numpy(words.view(np.int64).copy())


def _state_words(state: Any, op: str) -> np.ndarray:
    from ._tensor import Tensor

    arr = state.numpy() if isinstance(state, Tensor) else np.asarray(state)
    if arr.dtype != np.int64 or arr.shape != (8,):
        raise ValueError(f"{op}: expected the 8-word int64 tensor that get_state / get_rng_state returns, "
                         f"got dtype {arr.dtype} and shape {tuple(arr.shape)}")
    return arr.view(np.uint64)


class Generator:
    """An independent random stream (torch.Generator): manual_seed(seed) (returns self),
    seed(), initial_seed(), get_state(), set_state(); pass it as generator= to rand,
    randn, randint, randperm, normal, bernoulli, multinomial, the random samplers,
    random_split and DataLoader."""

    def __init__(self, device: Any = "cpu") -> None:
        from ._device import check_device

        check_device("Generator", device)
        self._state = _seeded_state(_DEFAULT_SEED)

    @property
    def device(self) -> Any:
        from ._device import device

        return device("cpu")

    def manual_seed(self, seed: int) -> Generator:
        self._state = _seeded_state(int(seed))
        return self

    def seed(self) -> int:
        s = int.from_bytes(os.urandom(8), "little") & 0x7FFFFFFFFFFFFFFF
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return int(self._state[4])

    def get_state(self) -> Any:
        return _state_tensor(self._state)

    def set_state(self, new_state: Any) -> Generator:
        self._state = _state_words(new_state, "Generator.set_state").copy()
        return self

    def __repr__(self) -> str:
        return f"<pyautodiff.Generator object, initial_seed={self.initial_seed()}>"


class _DefaultGenerator(Generator):
    """The process-wide stream as a Generator (torch.default_generator): its methods act
    on the global state itself."""

    def __init__(self) -> None:  # (no state of its own)
        pass

    def manual_seed(self, seed: int) -> Generator:
        lib.pa_manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)
        return self

    def initial_seed(self) -> int:
        return int(lib.pa_initial_seed())

    def get_state(self) -> Any:
        return get_rng_state()

    def set_state(self, new_state: Any) -> Generator:
        set_rng_state(new_state)
        return self


default_generator: Generator = _DefaultGenerator()


def get_rng_state() -> Any:
    """The global generator's state, as an 8-word int64 tensor for set_rng_state."""
    return _state_tensor(_read_state())


def set_rng_state(new_state: Any) -> None:
    _write_state(_state_words(new_state, "set_rng_state"))


@contextlib.contextmanager
def using(generator: Any) -> Iterator[None]:
    """Draws inside the block come from `generator` (None or the default generator: the
    global stream); its state advances, the global one is left as it was."""
    if generator is None or isinstance(generator, _DefaultGenerator):
        yield
        return
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a torch.Generator, not {type(generator).__name__}")
    saved = _read_state()
    _write_state(generator._state)
    try:
        yield
    finally:
        generator._state = _read_state()
        _write_state(saved)
