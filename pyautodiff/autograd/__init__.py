"""Reverse-mode automatic differentiation: grad mode, backward, grad, Function and
gradcheck.  The graph and the engine live in the C core."""
from __future__ import annotations

from typing import Any, Sequence, Union

from .._ffi import ffi, lib, raise_error
from .._tensor import Tensor, wrap
from . import functional
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck

__all__ = ["backward", "grad", "Function", "FunctionCtx", "enable_grad", "functional", "gradcheck",
           "GradcheckError", "is_grad_enabled", "no_grad", "set_grad_enabled"]


_TensorOrTensors = Union[Tensor, Sequence[Tensor]]


def _seq(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


def backward(tensors: _TensorOrTensors, grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
             retain_graph: bool | None = None) -> None:
    """Runs backward from each tensor in turn (as torch.autograd.backward)."""
    tensors = _seq(tensors)
    grad_tensors = [None] * len(tensors) if grad_tensors is None else _seq(grad_tensors)
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        t.backward(g, retain_graph=bool(retain_graph) or i < len(tensors) - 1)


def grad(outputs: _TensorOrTensors, inputs: _TensorOrTensors,
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of `outputs` with respect to `inputs`, returned as a tuple; no .grad
    is touched.  Higher-order gradients (create_graph=True) are not supported."""
    if create_graph:
        raise NotImplementedError("grad: create_graph=True (higher-order gradients) is not supported")
    outs, ins = _seq(outputs), _seq(inputs)
    for t in outs + ins:
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: expected Tensors, got {type(t).__name__}")
    gouts = [None] * len(outs) if grad_outputs is None else _seq(grad_outputs)
    if len(gouts) != len(outs):
        raise ValueError(f"grad: {len(gouts)} grad_outputs for {len(outs)} outputs")
    handles = ffi.new("pa_tensor *[]", [t._h for t in outs])
    ghandles = ffi.new("pa_tensor *[]", [g._h if g is not None else ffi.NULL for g in gouts])
    ihandles = ffi.new("pa_tensor *[]", [t._h for t in ins])
    results = ffi.new("pa_tensor *[]", len(ins))
    status = lib.pa_grad(len(outs), handles, ghandles, len(ins), ihandles, bool(retain_graph),
                         bool(allow_unused), results)
    if status:
        raise_error(status)
    return tuple(wrap(results[i]) if results[i] != ffi.NULL else None for i in range(len(ins)))
