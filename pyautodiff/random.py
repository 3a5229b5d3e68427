"""torch.random: seeding and saving the global generator's state, and fork_rng."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from ._creation import initial_seed, manual_seed, seed
from ._generator import get_rng_state, set_rng_state

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "fork_rng"]


@contextlib.contextmanager
def fork_rng(devices: Any = None, enabled: bool = True, **kwargs: Any) -> Iterator[None]:
    """Draws inside the block leave the global generator as it was before it."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
