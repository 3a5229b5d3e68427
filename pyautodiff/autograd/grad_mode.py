"""Grad mode: a thread-local flag in the core.  `no_grad`, `enable_grad` and
`set_grad_enabled` work as context managers and as decorators."""
import functools

from .._ffi import lib

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


def is_grad_enabled():
    return bool(lib.pa_is_grad_enabled())


class _GradModeContext:
    _enabled = None

    def __enter__(self):
        self._prev = lib.pa_is_grad_enabled()
        lib.pa_set_grad_enabled(self._enabled)
        return self

    def __exit__(self, *exc):
        lib.pa_set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Disables gradient recording in this thread: `with torch.no_grad(): ...`."""

    _enabled = 0


class enable_grad(_GradModeContext):
    """Enables gradient recording in this thread (inside a no_grad block)."""

    _enabled = 1


class set_grad_enabled(_GradModeContext):
    """Sets grad mode on or off; takes effect at once, and restores on exit when used
    with `with`."""

    def __init__(self, mode):
        self._prev = lib.pa_is_grad_enabled()
        self._enabled = int(bool(mode))
        lib.pa_set_grad_enabled(self._enabled)

    def __enter__(self):
        return self

    def __call__(self, fn):
        lib.pa_set_grad_enabled(self._prev)
        mode = self._enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
