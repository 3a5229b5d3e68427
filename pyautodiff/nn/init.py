"""Parameter initialisation (in place, without recording gradients), as torch.nn.init."""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._tensor import Tensor
from ..autograd import no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
           "trunc_normal_", "orthogonal_", "eye_", "dirac_"]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity}")


def _fans(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError("fan in and fan out can not be computed for a tensor with fewer than 2 dimensions")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _add_weight_and_bias(module: Any, weight_shape: tuple[int, ...], out_features: int, bias: bool,
                         dtype: Any) -> None:
    """module.weight of weight_shape and module.bias (out_features,) or None, registered as
    Linear and the convolutions register them, then initialised by _reset_layer."""
    from ..nn.parameter import Parameter
    from .._creation import empty

    module.weight = Parameter(empty(*weight_shape, dtype=dtype))
    if bias:
        module.bias = Parameter(empty(out_features, dtype=dtype))
    else:
        module.register_parameter("bias", None)
    _reset_layer(module.weight, module.bias)


def _reset_layer(weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's default init of Linear and the convolutions: weight kaiming-uniform with
    a = sqrt(5) (bound 1/sqrt(fan_in)), then bias uniform in +-1/sqrt(fan_in), fan_in from
    weight.size(1) times its kernel (drawn in that order, as PyTorch draws them)."""
    kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = _fans(weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        uniform_(bias, -bound, bound)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    with no_grad():
        return tensor.uniform_(a, b)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    with no_grad():
        return tensor.normal_(mean, std)


def constant_(tensor: Tensor, val: float) -> Tensor:
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _no_generator(name: str, generator: Any) -> None:
    if generator is not None:
        raise NotImplementedError(f"{name}: generator= is not supported (seed with manual_seed)")


def _fill_from(tensor: Tensor, values: np.ndarray) -> Tensor:
    """Writes a NumPy array of tensor's shape into tensor, in place and unrecorded."""
    from .._creation import from_numpy

    with no_grad():
        tensor.copy_(from_numpy(np.ascontiguousarray(values.reshape(tuple(tensor.shape)))))
    return tensor


# The inverse of the standard normal CDF: Wichura's algorithm AS 241 (PPND16), accurate
# to about 1e-16 relative over the whole double range.  Coefficients in rising order.
_ND_A = (3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
         1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
         3.3430575583588128105e+4, 2.5090809287301226727e+3)
_ND_B = (1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
         2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
         5.2264952788528545610e+3)
_ND_C = (1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
         3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
         2.27238449892691845833e-2, 7.74545014278341407640e-4)
_ND_D = (1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
         1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
         1.05075007164441684324e-9)
_ND_E = (6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
         2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
         2.71155556874348757815e-5, 2.01033439929228813265e-7)
_ND_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
         7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
         2.04426310338993978564e-15)


def _poly(coeffs: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    out = np.full_like(x, coeffs[-1])
    for c in coeffs[-2::-1]:
        out = out * x + c
    return out


def _ndtri(p: np.ndarray) -> np.ndarray:
    """x with Phi(x) = p, elementwise, for float64 p in [0, 1] (+-inf at 0 and 1)."""
    q = p - 0.5
    out = np.empty_like(p)
    central = np.abs(q) <= 0.425
    qc = q[central]
    r = 0.180625 - qc * qc
    out[central] = qc * _poly(_ND_A, r) / _poly(_ND_B, r)
    tail = ~central
    qt, pt = q[tail], p[tail]
    with np.errstate(divide="ignore"):
        r = np.sqrt(-np.log(np.where(qt < 0, pt, 1.0 - pt)))
    near = r <= 5.0
    with np.errstate(invalid="ignore"):  # (the branch np.where drops may see inf)
        v = np.where(near, _poly(_ND_C, r - 1.6) / _poly(_ND_D, r - 1.6),
                     _poly(_ND_E, r - 5.0) / _poly(_ND_F, r - 5.0))
    v[np.isinf(r)] = np.inf
    out[tail] = np.where(qt < 0, -v, v)
    return out


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator: Any = None) -> Tensor:
    """Fills tensor with draws from N(mean, std^2) truncated to [a, b], by the inverse-CDF
    method: u ~ U(Phi(alpha), Phi(beta)) from pyautodiff's generator (in float64), then
    mean + std * Phi^-1(u), clamped to [a, b].  (PyTorch 2.13 draws by rejection instead;
    the distribution is the same, the stream is pyautodiff's.)  The far side of the
    interval is mirrored onto the lower tail, so narrow intervals deep in either tail keep
    full precision."""
    from .. import float64
    from .._creation import empty

    _no_generator("trunc_normal_", generator)
    mean, std, a, b = float(mean), float(std), float(a), float(b)
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be positive, got std={std}")
    if not a <= b:
        raise ValueError(f"trunc_normal_: expected a <= b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    if tensor.numel() == 0:
        return tensor
    alpha, beta = (a - mean) / std, (b - mean) / std
    flip = alpha + beta > 0  # draw from the mirrored interval, in the lower tail
    if flip:
        alpha, beta = -beta, -alpha
    lo, hi = (0.5 * math.erfc(-v / math.sqrt(2.0)) for v in (alpha, beta))
    u = empty(tuple(tensor.shape), dtype=float64).uniform_(lo, hi).numpy()
    z = _ndtri(np.clip(u, lo, hi))
    x = np.clip(mean + std * (-z if flip else z), a, b)
    return _fill_from(tensor, x)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Any = None) -> Tensor:
    """Fills tensor with a (semi-)orthogonal matrix, as torch.nn.init.orthogonal_: the Q of
    the QR factorisation of a normal draw (trailing dimensions flattened; the transposed
    problem when rows < cols), its columns' signs set by diag(R), times gain."""
    from .. import float64
    from .._creation import empty

    _no_generator("orthogonal_", generator)
    if tensor.ndim < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = empty(rows, cols, dtype=float64).normal_(0.0, 1.0).numpy()
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))  # (as PyTorch: a zero on diag(R) zeroes its column)
    if rows < cols:
        q = q.T
    return _fill_from(tensor, q * float(gain))


def eye_(tensor: Tensor) -> Tensor:
    """Fills a 2-d tensor with the identity matrix (ones on the main diagonal)."""
    if tensor.ndim != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _fill_from(tensor, np.eye(tensor.shape[0], tensor.shape[1]))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fills a 3-, 4- or 5-d tensor with the Dirac delta, so a convolution with it keeps
    as many input channels as it can (per group of output channels)."""
    if tensor.ndim not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    values = np.zeros(sizes)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min(out_per_group, sizes[1])):
            values[(g * out_per_group + d, d) + centre] = 1.0
    return _fill_from(tensor, values)
