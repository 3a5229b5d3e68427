"""autograd.Function: user-defined differentiable ops written in Python.  The op becomes a
node of the C graph whose backward calls back into Python.

>>> class Square(Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...     @staticmethod
...     def backward(ctx, grad):
...         (x,) = ctx.saved_tensors
...         return 2 * x * grad
"""
from __future__ import annotations

from typing import Any

from .._callbacks import custom_backward_callback, keep, release_handle
from .._ffi import ffi, lib, raise_error
from .._tensor import Tensor
from .grad_mode import no_grad

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The `ctx` of forward/backward: save_for_backward, saved_tensors, needs_input_grad."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._saved: tuple[Any, ...] = ()
        self._versions: tuple[int | None, ...] = ()

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        # Detached aliases: a saved output must not keep its own node alive (no cycles).
        self._saved = tuple(t.detach() if isinstance(t, Tensor) else t for t in tensors)
        self._versions = tuple(lib.pa_tensor_version(t._h) if isinstance(t, Tensor) else None
                               for t in self._saved)

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        for t, v in zip(self._saved, self._versions):
            if v is not None and lib.pa_tensor_version(t._h) != v:
                raise RuntimeError("one of the variables needed for gradient computation has been "
                                   "modified by an inplace operation (saved by a custom Function)")
        return self._saved

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        pass

    def set_materialize_grads(self, value: bool) -> None:
        pass


class _Record:
    """What the C node holds: the Function class, its ctx and the input layout."""

    __slots__ = ("fn", "ctx", "tensor_positions", "n_args", "__weakref__")

    def __init__(self, fn: type[Function], ctx: FunctionCtx, tensor_positions: list[int], n_args: int) -> None:
        self.fn, self.ctx, self.tensor_positions, self.n_args = fn, ctx, tensor_positions, n_args

    def run_backward(self, grad_output: Tensor) -> list[Tensor | None]:
        grads = self.fn.backward(self.ctx, grad_output)
        if not isinstance(grads, tuple):
            grads = (grads,)
        if len(grads) != self.n_args:
            raise RuntimeError(f"function {self.fn.__name__}.backward returned an incorrect number of "
                               f"gradients (expected {self.n_args}, got {len(grads)})")
        out = []
        for pos in self.tensor_positions:
            g = grads[pos]
            if g is not None and not isinstance(g, Tensor):
                raise TypeError(f"{self.fn.__name__}.backward must return Tensors or None, got "
                                f"{type(g).__name__} for input {pos}")
            out.append(g)
        return out


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`, then
    call `MyFunction.apply(*args)`.  Forward runs without recording; one output tensor."""

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("You must implement the backward function for custom autograd.Function.")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            out = cls.forward(ctx, *args)
        if isinstance(out, tuple):
            raise NotImplementedError(f"{cls.__name__}.forward returned {len(out)} outputs; custom "
                                      "Functions with several outputs are not supported yet")
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor, got {type(out).__name__}")
        if not any(ctx.needs_input_grad) or not lib.pa_is_grad_enabled():
            return out
        out = out.detach()  # a new header: the node's output even if forward returned an input
        inputs = ffi.new("pa_tensor *[]", [args[i]._h for i in positions])
        handle = keep(_Record(cls, ctx, positions, len(args)))
        status = lib.pa_custom_function(len(positions), inputs, out._h, custom_backward_callback,
                                        release_handle, handle)
        if status:
            raise_error(status)
        return out
