"""The one place that imports the compiled extension: re-exports `ffi` and `lib`, and
turns the core's status codes into Python exceptions."""
from __future__ import annotations

from typing import NoReturn

from ._C import ffi, lib

__all__ = ["ffi", "lib", "check", "raise_error"]

_EXCEPTIONS = {
    lib.PA_ERR_VALUE: ValueError,
    lib.PA_ERR_TYPE: TypeError,
    lib.PA_ERR_INDEX: IndexError,
    lib.PA_ERR_MEMORY: MemoryError,
    lib.PA_ERR_RUNTIME: RuntimeError,
}

_pending_callback_error: list[BaseException] = []


def raise_error(status: int) -> NoReturn:
    """Raises the exception for a non-zero status, with the core's message."""
    if status == lib.PA_ERR_CALLBACK and _pending_callback_error:
        raise _pending_callback_error.pop()
    message = ffi.string(lib.pa_last_error_message()).decode("utf-8", "replace")
    raise _EXCEPTIONS.get(status, RuntimeError)(message)


def check(status: int) -> None:
    """Raises if a core call failed (status != 0)."""
    if status:
        raise_error(status)
