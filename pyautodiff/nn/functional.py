"""nn.functional: stateless layers and losses (as torch.nn.functional)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Union

from .._ffi import ffi, lib
from .._tensor import Size, Tensor, call, unary
from ..autograd.grad_mode import is_grad_enabled

if TYPE_CHECKING:  # annotation-only alias
    from .._dtype import dtype as _dtype_cls

    _DType = Union[_dtype_cls, str, type]

__all__: list[str] = ["linear", "relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "cross_entropy",
           "mse_loss", "l1_loss"]

_REDUCTIONS = {"none": lib.PA_REDUCTION_NONE, "mean": lib.PA_REDUCTION_MEAN, "sum": lib.PA_REDUCTION_SUM}


def _reduction(reduction: str, op: str) -> int:
    try:
        return _REDUCTIONS[reduction]
    except KeyError:
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction "
                         "(expected 'none', 'mean' or 'sum')") from None


def _check_tensor(x: object, op: str, name: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument '{name}' must be a Tensor, not {type(x).__name__}")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias, one fused C call."""
    _check_tensor(input, "linear")
    return call(lib.pa_linear, input._h, weight._h, bias._h if bias is not None else ffi.NULL)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return unary("relu", input)


def sigmoid(input: Tensor) -> Tensor:
    return unary("sigmoid", input)


def tanh(input: Tensor) -> Tensor:
    return unary("tanh", input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return unary("gelu" if approximate == "none" else "gelu_tanh", input)


def softmax(input: Tensor, dim: int | None = None, dtype: _DType | None = None) -> Tensor:
    if dim is None:
        raise TypeError("softmax: dim must be given (implicit dim is deprecated in PyTorch)")
    x = input if dtype is None else input.to(dtype)
    return call(lib.pa_softmax, x._h, int(dim))


def log_softmax(input: Tensor, dim: int | None = None, dtype: _DType | None = None) -> Tensor:
    if dim is None:
        raise TypeError("log_softmax: dim must be given (implicit dim is deprecated in PyTorch)")
    x = input if dtype is None else input.to(dtype)
    return call(lib.pa_log_softmax, x._h, int(dim))


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax + negative log-likelihood in one fused C op, with int64 class targets."""
    _check_tensor(input, "cross_entropy")
    _check_tensor(target, "cross_entropy", "target")
    _check_weight_not_differentiated(weight, "cross_entropy")
    if target.dtype.is_floating_point and tuple(target.shape) == tuple(input.shape):
        return _cross_entropy_probabilities(input, target, weight, reduction, float(label_smoothing))
    return call(lib.pa_cross_entropy, input._h, target._h,
                weight._h if weight is not None else ffi.NULL,
                _reduction(reduction, "cross_entropy"), int(ignore_index), float(label_smoothing))


def _cross_entropy_probabilities(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                                 label_smoothing: float) -> Tensor:
    """cross_entropy with class probabilities as target (same shape as input): per sample
    -sum_c w_c t_c log_softmax(input)_c, t smoothed toward 1/C; 'mean' divides by the
    number of samples, as PyTorch does for such targets."""
    _reduction(reduction, "cross_entropy")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"cross_entropy: class-probability target of shape {tuple(target.shape)} must "
                         f"match the input's shape {tuple(input.shape)}")
    if not input.dtype.is_floating_point or target.dtype != input.dtype:
        raise TypeError(f"cross_entropy: expected input and probability target of the same floating "
                        f"dtype, got {input.dtype} and {target.dtype}")
    cdim = 0 if input.ndim == 1 else 1
    classes = input.shape[cdim]
    t = target if label_smoothing == 0 else target * (1 - label_smoothing) + label_smoothing / classes
    terms = t * log_softmax(input, cdim)
    if weight is not None:
        shape = [1] * input.ndim
        shape[cdim] = classes
        terms = terms * weight.to(input.dtype).reshape(tuple(shape))
    loss = -terms.sum(cdim)
    if reduction == "none":
        return loss
    total = loss.sum()
    return total / loss.numel() if reduction == "mean" else total


def _check_weight_not_differentiated(weight: Tensor | None, op: str, name: str = "weight") -> None:
    """As PyTorch: a loss's weight is not differentiated, so one that requires grad (with
    grad mode on) is refused rather than left without a gradient."""
    if weight is not None and isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{op}: not differentiable with respect to argument '{name}'. This input "
                           "cannot have requires_grad True.")


def _reduce(loss: Tensor, reduction: str, op: str) -> Tensor:
    code = _reduction(reduction, op)
    if code == lib.PA_REDUCTION_MEAN:
        return loss.mean()
    if code == lib.PA_REDUCTION_SUM:
        return loss.sum()
    return loss


def _check_same_shape(input: Tensor, target: Tensor, op: str) -> None:
    _check_tensor(input, op)
    _check_tensor(target, op, "target")
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target size {tuple(target.shape)} is different from the input size "
                         f"{tuple(input.shape)}")


def _check_target_broadcasts(input: Tensor, target: Tensor, op: str) -> None:
    """As PyTorch's pointwise regression losses: a target of another size is broadcast
    against the input, with PyTorch's warning (sizes that do not broadcast then fail)."""
    _check_tensor(input, op)
    _check_tensor(target, op, "target")
    if tuple(input.shape) != tuple(target.shape):
        import warnings

        warnings.warn(f"Using a target size ({Size(target.shape)}) that is different to the input size "
                      f"({Size(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)


def _pointwise_loss(input: Tensor, target: Tensor, kind: int, reduction: str, op: str,
                    beta: float = 0.0) -> Tensor | None:
    """One fused C op (pa_pointwise_loss) when input and target agree in shape and float
    dtype, else None: broadcast targets and mixed dtypes are composed of core ops.  beta:
    smooth_l1's beta or huber's delta (> 0; unused by mse and l1)."""
    # NOTE: composed, mse_loss forward + backward on (512, 1024) float32 took 434 us
    # (sub, mul, mean and their backward; PyTorch 216).
    if not (input.dtype.name in ("float32", "float64") and target.dtype == input.dtype
            and tuple(input.shape) == tuple(target.shape)):
        return None
    return call(lib.pa_pointwise_loss, input._h, target._h, kind, _reduction(reduction, op), float(beta))


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _check_target_broadcasts(input, target, "mse_loss")
    fused = _pointwise_loss(input, target, lib.PA_LOSS_MSE, reduction, "mse_loss")
    if fused is not None:
        return fused
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    _check_target_broadcasts(input, target, "l1_loss")
    fused = _pointwise_loss(input, target, lib.PA_LOSS_L1, reduction, "l1_loss")
    if fused is not None:
        return fused
    return _reduce((input - target).abs(), reduction, "l1_loss")


from ._layers import *  # noqa: E402,F401,F403
from ._layers import __all__ as _layers_all  # noqa: E402
from ._losses import *  # noqa: E402,F401,F403
from ._losses import __all__ as _losses_all  # noqa: E402
from ._attention import *  # noqa: E402,F401,F403
from ._attention import __all__ as _attention_all  # noqa: E402
from ._layers_more import *  # noqa: E402,F401,F403
from ._layers_more import __all__ as _layers_more_all  # noqa: E402
from ._losses_more import *  # noqa: E402,F401,F403
from ._losses_more import __all__ as _losses_more_all  # noqa: E402
from ._layers_misc import *  # noqa: E402,F401,F403
from ._layers_misc import __all__ as _layers_misc_all  # noqa: E402
from ._layers_3d import *  # noqa: E402,F401,F403
from ._layers_3d import __all__ as _layers_3d_all  # noqa: E402
from ._ctc import *  # noqa: E402,F401,F403
from ._ctc import __all__ as _ctc_all  # noqa: E402

__all__ += (list(_layers_all) + list(_losses_all) + list(_attention_all) + list(_layers_more_all)
            + list(_losses_more_all) + list(_layers_misc_all) + list(_layers_3d_all) + list(_ctc_all))
