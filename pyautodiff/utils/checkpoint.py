"""torch.utils.checkpoint: run part of a model without keeping its intermediate values for
backward, and recompute them when the gradient arrives (memory for time).  The forward
runs under no_grad inside one autograd.Function; its backward re-runs `function` with
grad on detached copies of the inputs (the random state restored, so dropout draws the
same mask) and backpropagates through that, which fills the parameters' .grad as well.
A function returning several tensors is run directly instead (same values and gradients,
no memory saved): pyautodiff's Functions have one output."""
from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

from .._tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


def _warn_reentrant(use_reentrant: bool | None) -> None:
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Starting "
                      "in PyTorch 2.9, calling checkpoint without use_reentrant will raise an exception. "
                      "use_reentrant=False is recommended, but if you need to preserve the current default "
                      "behavior, you can pass use_reentrant=True. Refer to docs for more details on the differences "
                      "between the two variants.", UserWarning, stacklevel=3)


def checkpoint(function: Callable[..., Any], *args: Any, use_reentrant: bool | None = None,
               preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """function(*args, **kwargs), its activations recomputed during backward instead of
    kept."""
    from .._creation import zeros
    from .._generator import get_rng_state, set_rng_state
    from ..autograd import Function, enable_grad, no_grad
    from ..autograd import backward as autograd_backward

    _warn_reentrant(use_reentrant)
    from ..autograd import is_grad_enabled

    if not is_grad_enabled():
        return function(*args, **kwargs)
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    wants_grad = [args[i].requires_grad for i in positions]
    rng = get_rng_state() if preserve_rng_state else None
    with no_grad():
        probe = function(*args, **kwargs)
    if not isinstance(probe, Tensor):  # several outputs: run it with its graph
        if rng is not None:
            set_rng_state(rng)
        return function(*args, **kwargs)

    class _Checkpoint(Function):
        @staticmethod
        def forward(ctx: Any, anchor: Tensor, *tensors: Tensor) -> Tensor:
            ctx.save_for_backward(*tensors)
            return probe

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> Any:
            saved = ctx.saved_tensors
            inputs = list(args)
            detached = []
            for i, t, wants in zip(positions, saved, wants_grad):
                d = t.detach()
                if wants:
                    d.requires_grad_()
                inputs[i] = d
                detached.append(d)
            current = get_rng_state() if rng is not None else None
            if rng is not None:
                set_rng_state(rng)
            try:
                with enable_grad():
                    out = function(*inputs, **kwargs)
            finally:
                if current is not None:
                    set_rng_state(current)
            if out.requires_grad:
                autograd_backward(out, grad)
            return (None, *[d.grad if d.requires_grad else None for d in detached])

    # (the anchor requires grad so that the node exists even when no input does: the
    # parameters inside `function` still get their gradients, as use_reentrant=False)
    anchor = zeros(0, requires_grad=True)
    return _Checkpoint.apply(anchor, *[args[i] for i in positions])


def checkpoint_sequential(functions: Any, segments: int, input: Tensor, use_reentrant: bool | None = None,
                          **kwargs: Any) -> Tensor:
    """A Sequential (or list of modules) run in `segments` chunks, each but the last
    checkpointed."""
    _warn_reentrant(use_reentrant)
    fns: Sequence[Callable[[Any], Any]] = list(functions.children()) if hasattr(functions, "children") \
        else list(functions)

    def run(start: int, end: int) -> Callable[[Any], Any]:
        def forward(x: Any) -> Any:
            for j in range(start, end + 1):
                x = fns[j](x)
            return x
        return forward

    size = len(fns) // segments
    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=False if use_reentrant is None else use_reentrant,
                           **kwargs)
    return run(end + 1, len(fns) - 1)(input)
