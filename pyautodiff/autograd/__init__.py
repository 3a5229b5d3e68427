"""Reverse-mode automatic differentiation: grad mode, backward and gradcheck.  The graph
and the engine live in the C core."""
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck

__all__ = ["backward", "enable_grad", "gradcheck", "GradcheckError", "is_grad_enabled", "no_grad",
           "set_grad_enabled"]


def backward(tensors, grad_tensors=None, retain_graph=None):
    """Runs backward from each tensor in turn (as torch.autograd.backward)."""
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors]
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        keep = retain_graph if retain_graph is not None else False
        t.backward(g, retain_graph=keep or i < len(tensors) - 1)
