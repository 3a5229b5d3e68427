"""gradcheck: analytical gradients (our backward) against central finite differences,
with PyTorch's meaning of eps/atol/rtol."""
from __future__ import annotations

from typing import Any, Callable, Sequence, Union

import numpy as np

from .._tensor import Tensor

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn: Callable[..., Any], inputs: tuple[Any, ...]) -> list[np.ndarray]:
    from .. import no_grad

    with no_grad():
        return [o.detach().numpy().astype(np.float64).copy() for o in _as_tuple(fn(*inputs))]


def gradcheck(fn: Callable[..., Union[Tensor, Sequence[Tensor]]], inputs: Union[Tensor, Sequence[Any]],
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Checks the gradients of `fn` w.r.t. every input that requires grad.

    For each output o and input x, column j of the numerical Jacobian is
    (o(x + eps e_j) - o(x - eps e_j)) / (2 eps); each row i of the analytical Jacobian is
    the backward of a one-hot gradient on o_i.  They must agree to
    |a - n| <= atol + rtol * |n| elementwise.  Inputs should be float64.
    """
    from .._creation import tensor

    inputs = _as_tuple(inputs)
    diff = [x for x in inputs if getattr(x, "requires_grad", False)]
    if not diff:
        raise ValueError("gradcheck: no input requires grad")
    for x in diff:
        if x.dtype.name != "float64":
            import warnings

            warnings.warn("gradcheck: input is not float64; the check may fail from round-off")
    outs = _as_tuple(fn(*inputs))
    base = [o.detach().numpy().astype(np.float64).copy() for o in outs]

    for xi, x in enumerate(diff):
        data = x.detach().numpy()  # shares memory (any strides): perturbed in place
        n_in = data.size
        for oi, out in enumerate(outs):
            n_out = base[oi].size
            numerical = np.zeros((n_out, n_in))
            for j, idx in enumerate(np.ndindex(*data.shape)):
                orig = data[idx]
                data[idx] = orig + eps
                plus = _outputs(fn, inputs)[oi].reshape(-1)
                data[idx] = orig - eps
                minus = _outputs(fn, inputs)[oi].reshape(-1)
                data[idx] = orig
                numerical[:, j] = (plus - minus) / (2 * eps)
            analytical = np.zeros((n_out, n_in))
            for i in range(n_out):
                onehot = np.zeros(n_out)
                onehot[i] = 1.0
                for y in diff:
                    y.grad = None
                outs_i = _as_tuple(fn(*inputs))
                if not outs_i[oi].requires_grad:
                    continue
                outs_i[oi].backward(tensor(onehot.reshape(base[oi].shape), dtype=outs_i[oi].dtype))
                g = x.grad
                if g is not None:
                    analytical[i] = np.ascontiguousarray(g.numpy(), dtype=np.float64).reshape(-1)
            for y in diff:
                y.grad = None
            bad = np.abs(analytical - numerical) > atol + rtol * np.abs(numerical)
            if bad.any():
                i, j = np.argwhere(bad)[0]
                msg = (f"gradcheck: Jacobian mismatch for output {oi} with respect to input {xi}: "
                       f"at (output {i}, input {j}) analytical {analytical[i, j]:.8g} vs numerical "
                       f"{numerical[i, j]:.8g}\nnumerical:\n{numerical}\nanalytical:\n{analytical}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True
