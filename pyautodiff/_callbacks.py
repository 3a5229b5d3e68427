"""Python objects handed to the C core (NumPy arrays behind from_numpy, hooks, custom
Function records) and the callbacks through which the core uses and releases them."""
from __future__ import annotations

from typing import Any

from ._ffi import _pending_callback_error, ffi, lib

__all__ = ["keep", "release_handle", "hook_callback", "custom_backward_callback"]

# Objects the core holds a pointer to: handle address -> cffi handle.
_kept: dict[int, Any] = {}


def keep(obj: Any) -> Any:
    """A void* for `obj` that stays valid until the core calls pa_py_release_handle."""
    handle = ffi.new_handle(obj)
    _kept[int(ffi.cast("uintptr_t", handle))] = handle
    return handle


def forget(handle: Any) -> None:
    _kept.pop(int(ffi.cast("uintptr_t", handle)), None)


@ffi.def_extern()
def pa_py_release_handle(ctx):
    _kept.pop(int(ffi.cast("uintptr_t", ctx)), None)


def _fail(exc):
    _pending_callback_error.clear()
    _pending_callback_error.append(exc)
    return lib.PA_ERR_CALLBACK


@ffi.def_extern()
def pa_py_hook(ctx, grad, replacement):
    from ._tensor import Tensor, wrap

    try:
        fn = ffi.from_handle(ctx)
        lib.pa_tensor_retain(grad)
        result = fn(wrap(grad))
        if result is not None:
            if not isinstance(result, Tensor):
                raise TypeError(f"hook returned {type(result).__name__}; expected a Tensor or None")
            lib.pa_tensor_retain(result._h)
            replacement[0] = result._h
        return 0
    except BaseException as exc:  # noqa: BLE001 - re-raised by the caller of backward
        return _fail(exc)


@ffi.def_extern()
def pa_py_custom_backward(ctx, grad_output, n_inputs, grad_inputs):
    from ._tensor import wrap

    try:
        record = ffi.from_handle(ctx)
        lib.pa_tensor_retain(grad_output)
        grads = record.run_backward(wrap(grad_output))
        for i, g in enumerate(grads):
            if g is not None:
                lib.pa_tensor_retain(g._h)
                grad_inputs[i] = g._h
        return 0
    except BaseException as exc:  # noqa: BLE001
        return _fail(exc)


release_handle = lib.pa_py_release_handle
hook_callback = lib.pa_py_hook
custom_backward_callback = lib.pa_py_custom_backward
