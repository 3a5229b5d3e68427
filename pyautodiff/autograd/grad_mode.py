"""Grad mode: a thread-local flag in the core.  `no_grad`, `enable_grad` and
`set_grad_enabled` work as context managers and as decorators."""
from __future__ import annotations

import functools
from typing import Any, Callable, Literal, TypeVar

from .._ffi import lib

_F = TypeVar("_F", bound=Callable[..., Any])

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode"]


def is_grad_enabled() -> bool:
    return bool(lib.pa_is_grad_enabled())


class _GradModeContext:
    _enabled: int | None = None
    _prev: int

    def __enter__(self) -> _GradModeContext:
        self._prev = lib.pa_is_grad_enabled()
        lib.pa_set_grad_enabled(self._enabled)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        lib.pa_set_grad_enabled(self._prev)
        return False

    def __call__(self, fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps fn's signature


class no_grad(_GradModeContext):
    """Disables gradient recording in this thread: `with torch.no_grad(): ...`."""

    _enabled = 0


class enable_grad(_GradModeContext):
    """Enables gradient recording in this thread (inside a no_grad block)."""

    _enabled = 1


class set_grad_enabled(_GradModeContext):
    """Sets grad mode on or off; takes effect at once, and restores on exit when used
    with `with`."""

    _enabled: int

    def __init__(self, mode: bool) -> None:
        self._prev = lib.pa_is_grad_enabled()
        self._enabled = int(bool(mode))
        lib.pa_set_grad_enabled(self._enabled)

    def __enter__(self) -> set_grad_enabled:
        return self

    def __call__(self, fn: _F) -> _F:
        lib.pa_set_grad_enabled(self._prev)
        mode = self._enabled

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(bool(mode)):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps fn's signature


class inference_mode(_GradModeContext):
    """As no_grad (pyautodiff has no separate inference tensors): `with
    torch.inference_mode():` or `@torch.inference_mode()`; `inference_mode(False)` leaves
    grad mode as it is."""

    def __init__(self, mode: bool = True) -> None:
        self._mode = bool(mode)

    def __enter__(self) -> inference_mode:
        self._prev = lib.pa_is_grad_enabled()
        if self._mode:
            lib.pa_set_grad_enabled(0)
        return self

    def __call__(self, fn: _F) -> _F:
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # functools.wraps keeps fn's signature
