"""Still more of PyTorch's tensor functions, the way _ops_extra.py builds them: compositions
of differentiable ops where PyTorch's gradient is that of the composition, else values
computed with NumPy (in float64, rounded once to the result dtype) and given their
gradient by a node of the graph (`_recorded`).

  elementwise  asin acos atan sinh cosh asinh acosh atanh log2 log10 exp2 erfinv lgamma
               digamma atan2 hypot xlogy heaviside sgn deg2rad rad2deg
               logical_xor bitwise_and/or/xor/not/left_shift/right_shift float_power
               true_divide multiply subtract negative positive absolute
  reductions   nansum nanmean aminmax kthvalue mode nanmedian quantile nanquantile msort
               cumprod cummax cummin renorm (and amax/amin over several dims)
  shapes       diff fliplr flipud rot90 tensor_split dstack atleast_1d/2d/3d ravel
               diag_embed block_diag cartesian_prod combinations triu_indices tril_indices
               unfold (Tensor.unfold)
  indexing     take put index_copy index_fill masked_scatter masked_select argwhere isin
               bucketize searchsorted histc unique_consecutive
  products     baddbmm addbmm addmv addr tensordot kron
  random       multinomial randint_like
Tensor methods of the same names delegate here (pyautodiff/_tensor.py).
"""
from __future__ import annotations

import builtins
import itertools
import math
from typing import Any, NamedTuple, Sequence, Union

import numpy as np

from ._ffi import lib
from ._functions import cat, stack, where
from ._ops_extra import _as_tensor, _dim, _from_numpy, _recorded, _values
from ._tensor import MinMax, Tensor, binary, call, matmul, unary

_TensorOrNumber = Union[Tensor, int, float, bool]

__all__ = ["asin", "arcsin", "acos", "arccos", "atan", "arctan", "sinh", "cosh", "asinh", "arcsinh", "acosh",
           "arccosh", "atanh", "arctanh", "log2", "log10", "exp2", "erfinv", "lgamma", "digamma",
           "atan2", "arctan2", "hypot", "xlogy", "heaviside", "sgn", "deg2rad", "rad2deg", "logical_xor",
           "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift",
           "bitwise_right_shift", "float_power", "true_divide", "multiply", "subtract", "negative", "positive",
           "absolute", "nansum", "nanmean", "aminmax", "kthvalue", "mode", "nanmedian", "quantile",
           "nanquantile", "msort", "cumprod", "cummax", "cummin", "renorm", "diff", "fliplr", "flipud", "rot90",
           "tensor_split", "dstack", "atleast_1d", "atleast_2d", "atleast_3d", "ravel", "diag_embed",
           "block_diag", "cartesian_prod", "combinations", "triu_indices", "tril_indices", "take", "put",
           "index_copy", "index_fill", "masked_scatter", "masked_select", "argwhere", "isin", "bucketize",
           "searchsorted", "histc", "unique_consecutive", "baddbmm", "addbmm", "addmv", "addr", "tensordot",
           "kron", "multinomial", "randint_like", "unfold", "logcumsumexp", "signbit", "logspace", "as_strided", "empty_strided"]


# ---- helpers ------------------------------------------------------------------------
def _float_input(op: str, input: Any) -> Tensor:
    """input as a floating tensor: integers and bools promote to float32, as PyTorch's
    float functions do."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input if input.dtype.is_floating_point else input.float()


def _unary_numpy(op: str, input: Tensor, fn: Any, grad: Any) -> Tensor:
    """fn(x) computed in float64 and rounded to x's float dtype; its gradient is
    g * grad(x64, y64) with the factor computed in float64 at forward time."""
    x = _float_input(op, input)
    x64 = _values(x).astype(np.float64)
    with np.errstate(all="ignore"):
        y64 = np.asarray(fn(x64), dtype=np.float64)
    values = y64.astype(x.dtype.numpy)
    if not x.requires_grad:
        return _from_numpy(values)
    with np.errstate(all="ignore"):
        factor = _from_numpy(np.asarray(grad(x64, y64), dtype=np.float64).astype(x.dtype.numpy))
    return _recorded(values, [x], lambda g: (g * factor,))


_vec_erf = np.vectorize(math.erf, otypes=[np.float64])
_vec_lgamma = np.vectorize(lambda v: v if math.isnan(v) else math.inf if math.isinf(v) or (
    v <= 0 and v == math.floor(v)) else math.lgamma(v), otypes=[np.float64])


def _digamma64(x: np.ndarray) -> np.ndarray:
    """psi(x) in float64: reflection for x < 0.5, recurrence up to x >= 10, then the
    asymptotic series (error about 1e-16); at the poles, as PyTorch: psi(0) = -inf,
    psi(-n) = nan."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    pole = (x <= 0) & (x == np.floor(x))
    refl = (x < 0.5) & ~pole
    z = np.where(refl, 1.0 - x, x)
    z = np.where(pole, 1.0, z)
    acc = np.zeros_like(z)
    while True:
        small = z < 10.0
        if not small.any():
            break
        acc = acc - np.where(small, 1.0 / np.where(small, z, 1.0), 0.0)
        z = np.where(small, z + 1.0, z)
    inv2 = 1.0 / (z * z)
    series = np.log(z) - 0.5 / z - inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
        1 / 240 - inv2 * (1 / 132 - inv2 * (691 / 32760 - inv2 / 12))))))
    out = series + acc
    with np.errstate(all="ignore"):
        out = np.where(refl, out - math.pi / np.tan(math.pi * x), out)
    out = np.where(pole, np.where(x == 0, -np.inf, np.nan), out)
    return out


def _trigamma64(x: np.ndarray) -> np.ndarray:
    """psi'(x) in float64 (for digamma's gradient): recurrence and asymptotic series,
    reflection for x < 0.5."""
    x = np.asarray(x, dtype=np.float64)
    refl = x < 0.5
    z = np.where(refl, 1.0 - x, x)
    acc = np.zeros_like(z)
    while True:
        small = z < 10.0
        if not small.any():
            break
        acc = acc + np.where(small, 1.0 / np.where(small, z * z, 1.0), 0.0)
        z = np.where(small, z + 1.0, z)
    inv = 1.0 / z
    inv2 = inv * inv
    series = inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (1 / 42 - inv2 * (
        1 / 30 - inv2 * (5 / 66)))))
    out = series + acc
    with np.errstate(all="ignore"):
        s = np.sin(math.pi * x)
        out = np.where(refl, -out + (math.pi * math.pi) / (s * s), out)
    return out


def _erfinv64(y: np.ndarray) -> np.ndarray:
    """erf^-1 in float64: Giles's single-precision approximation refined by two Newton
    steps on math.erf; +-1 give +-inf, |y| > 1 nan."""
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        w = -np.log((1.0 - y) * (1.0 + y))
        small = w < 5.0
        ws = w - 2.5
        p_small: Any = 2.81022636e-08
        for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941):
            p_small = c + p_small * ws
        wl = np.sqrt(w) - 3.0
        p_large: Any = -0.000200214257
        for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682):
            p_large = c + p_large * wl
        x = np.where(small, p_small, p_large) * y
        for _ in range(2):
            err = _vec_erf(x) - y
            x = x - err / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
    x = np.where(np.abs(y) == 1.0, np.sign(y) * np.inf, x)
    return np.where(np.abs(y) > 1.0, np.nan, x)


# ---- elementwise --------------------------------------------------------------------
def asin(input: Tensor) -> Tensor:
    return _unary_numpy("asin", input, np.arcsin, lambda x, y: 1.0 / np.sqrt(1.0 - x * x))


def acos(input: Tensor) -> Tensor:
    return _unary_numpy("acos", input, np.arccos, lambda x, y: -1.0 / np.sqrt(1.0 - x * x))


def atan(input: Tensor) -> Tensor:
    return _unary_numpy("atan", input, np.arctan, lambda x, y: 1.0 / (1.0 + x * x))


arcsin, arccos, arctan = asin, acos, atan


def sinh(input: Tensor) -> Tensor:
    return _unary_numpy("sinh", input, np.sinh, lambda x, y: np.cosh(x))


def cosh(input: Tensor) -> Tensor:
    return _unary_numpy("cosh", input, np.cosh, lambda x, y: np.sinh(x))


def asinh(input: Tensor) -> Tensor:
    return _unary_numpy("asinh", input, np.arcsinh, lambda x, y: 1.0 / np.sqrt(x * x + 1.0))


def acosh(input: Tensor) -> Tensor:
    return _unary_numpy("acosh", input, np.arccosh, lambda x, y: 1.0 / np.sqrt(x * x - 1.0))


def atanh(input: Tensor) -> Tensor:
    return _unary_numpy("atanh", input, np.arctanh, lambda x, y: 1.0 / (1.0 - x * x))


arcsinh, arccosh, arctanh = asinh, acosh, atanh


def log2(input: Tensor) -> Tensor:
    return unary("log2", input)


def log10(input: Tensor) -> Tensor:
    return unary("log10", input)


def exp2(input: Tensor) -> Tensor:
    return _unary_numpy("exp2", input, np.exp2, lambda x, y: y * math.log(2.0))


def erfinv(input: Tensor) -> Tensor:
    return _unary_numpy("erfinv", input, _erfinv64, lambda x, y: math.sqrt(math.pi) / 2.0 * np.exp(y * y))


def lgamma(input: Tensor) -> Tensor:
    return _unary_numpy("lgamma", input, _vec_lgamma, lambda x, y: _digamma64(x))


def digamma(input: Tensor) -> Tensor:
    return _unary_numpy("digamma", input, _digamma64, lambda x, y: _trigamma64(x))


def _binary_numpy(op: str, input: Any, other: Any, fn: Any, grads: Any) -> Tensor:
    """fn(a, b) of two broadcast float operands computed in float64 and rounded to their
    promoted dtype; grads(a64, b64, y64) gives the two derivative factors."""
    a = _float_input(op, input if isinstance(input, Tensor) else _as_tensor(input, other))
    b = _float_input(op, _as_tensor(other, a))
    if a.dtype == b.dtype or b.dim() == 0 < a.dim():  # (a 0-dim operand does not widen the other)
        dt = a.dtype
    elif a.dim() == 0 < b.dim():
        dt = b.dtype
    else:
        dt = a.double().dtype
    a64, b64 = _values(a).astype(np.float64), _values(b).astype(np.float64)
    with np.errstate(all="ignore"):
        y64 = np.asarray(fn(a64, b64), dtype=np.float64)
    values = y64.astype(dt.numpy)
    if not (a.requires_grad or b.requires_grad):
        return _from_numpy(values)
    with np.errstate(all="ignore"):
        fa, fb = (_from_numpy(np.asarray(np.broadcast_to(f, y64.shape), dtype=np.float64).astype(dt.numpy))
                  for f in grads(a64, b64, y64))
    shapes = (tuple(a.shape), tuple(b.shape))
    return _recorded(values, [a, b], lambda g: (_sum_to(g * fa, shapes[0]), _sum_to(g * fb, shapes[1])))


def atan2(input: Tensor, other: _TensorOrNumber) -> Tensor:
    """The angle of the point (other, input), in [-pi, pi] (C: PA_BIN_ATAN2; integers give
    float32); gradients x / r^2, -y / r^2, zero at the origin."""
    return binary("atan2", input, other)


arctan2 = atan2


def hypot(input: Tensor, other: _TensorOrNumber) -> Tensor:
    """sqrt(input^2 + other^2) without overflow (NumPy's hypot); gradients x / r, y / r."""
    return _binary_numpy("hypot", input, other, np.hypot,
                         lambda a, b, r: (np.where(r == 0, 0.0, a / r), np.where(r == 0, 0.0, b / r)))


def _sum_to(g: Tensor, shape: tuple[int, ...]) -> Tensor:
    """g summed over the dims that broadcasting added or expanded to reach g's shape."""
    lead = g.dim() - len(shape)
    if lead:
        g = g.sum(tuple(range(lead)))
    dims = tuple(d for d, n in enumerate(shape) if n == 1 and g.shape[d] != 1)
    return g.sum(dims, keepdim=True) if dims else g


def xlogy(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    """input * log(other), 0 where input is 0 (unless other is nan), as torch.xlogy."""
    x = input if isinstance(input, Tensor) else _as_tensor(input, other)  # type: ignore[arg-type]
    y = _as_tensor(other, x)
    x, y = _float_input("xlogy", x), _float_input("xlogy", y)
    from .autograd import no_grad

    with no_grad():
        out = where((x == 0) & ~y.isnan(), 0.0, x * y.log())
    if not (x.requires_grad or y.requires_grad):
        return out
    # PyTorch's derivatives: d/dx = xlogy(g, y), zero where x == 0 and y <= 0; d/dy = g x / y
    xd, yd = x.detach(), y.detach()
    shapes = (tuple(x.shape), tuple(y.shape))

    def backward(g: Tensor) -> tuple[Tensor, Tensor]:
        gx = where(((xd == 0) & (yd <= 0)) | (g == 0), 0.0, g * yd.log())
        return _sum_to(gx, shapes[0]), _sum_to(g * xd / yd, shapes[1])

    return _recorded(_values(out), [x, y], backward)


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """0 where input < 0, values where input == 0, 1 where input > 0 (not differentiable,
    as in PyTorch)."""
    if input.requires_grad:
        raise RuntimeError("heaviside: the derivative for 'heaviside' is not implemented (call it on "
                           "input.detach())")
    values = _as_tensor(values, input)
    return where(input == 0, values, (input > 0).to(values.dtype))


def sgn(input: Tensor) -> Tensor:
    """sign(input) (for real tensors, as torch.sgn)."""
    return input.sign()


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (negative numbers and -0.0)."""
    return _from_numpy(np.signbit(_values(input)))


def deg2rad(input: Tensor) -> Tensor:
    return _float_input("deg2rad", input) * (math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    return _float_input("rad2deg", input) * (180.0 / math.pi)


def logical_xor(input: Tensor, other: _TensorOrNumber) -> Tensor:
    """True where exactly one of input and other is non-zero."""
    return (input != 0) != (_as_tensor(other, input) != 0)


# ---- bitwise (integer and bool tensors) ---------------------------------------------
_BITWISE = {"bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
            "bitwise_left_shift": np.left_shift, "bitwise_right_shift": np.right_shift}


def _bitwise(op: str, input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    """An integer or bool op of two tensors (or a tensor and a Python int/bool): bools
    stay bool for and/or/xor (the core's logical ops), other pairs promote to int64."""
    from ._creation import tensor

    a = input if isinstance(input, Tensor) else None
    b = other if isinstance(other, Tensor) else None
    ref = a if a is not None else b
    if ref is None:
        raise TypeError(f"{op}(): expected a Tensor, got {type(input).__name__} and {type(other).__name__}")
    for v in (input, other):
        kind = v.dtype.name if isinstance(v, Tensor) else type(v).__name__
        if isinstance(v, Tensor) and v.dtype.is_floating_point or isinstance(v, builtins.float):
            raise TypeError(f"{op}: not implemented for {kind} operands (only integer and bool tensors)")
    both_bool = all((v.dtype.name == "bool") if isinstance(v, Tensor) else isinstance(v, builtins.bool)
                    for v in (input, other))
    if both_bool and op in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        x = a if a is not None else tensor(input)
        y = b if b is not None else tensor(other)
        if op == "bitwise_and":
            return binary("logical_and", x, y)
        if op == "bitwise_or":
            return binary("logical_or", x, y)
        return x != y
    xv = _values(a).astype(np.int64) if a is not None else np.int64(input)
    yv = _values(b).astype(np.int64) if b is not None else np.int64(other)
    try:
        out = np.broadcast_arrays(xv, yv)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {tuple(np.shape(xv))} and {tuple(np.shape(yv))} cannot be "
                           f"broadcast") from None
    with np.errstate(all="ignore"):
        return _from_numpy(np.asarray(_BITWISE[op](out[0], out[1]), dtype=np.int64))


def bitwise_and(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    return _bitwise("bitwise_and", input, other)


def bitwise_or(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    return _bitwise("bitwise_or", input, other)


def bitwise_xor(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    return _bitwise("bitwise_xor", input, other)


def bitwise_left_shift(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    return _bitwise("bitwise_left_shift", input, other)


def bitwise_right_shift(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    return _bitwise("bitwise_right_shift", input, other)


def bitwise_not(input: Tensor) -> Tensor:
    """~x: logical not for bool tensors, two's-complement not for integers."""
    if input.dtype.name == "bool":
        return input.logical_not()
    if input.dtype.is_floating_point:
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return _from_numpy(np.invert(_values(input)))


# ---- aliases ------------------------------------------------------------------------
def float_power(input: _TensorOrNumber, exponent: _TensorOrNumber) -> Tensor:
    """input ** exponent computed in float64 (as torch.float_power)."""
    base = input.double() if isinstance(input, Tensor) else _as_tensor(builtins.float(input), exponent.double())  # type: ignore[union-attr]
    return base ** (exponent.double() if isinstance(exponent, Tensor) else builtins.float(exponent))


def true_divide(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    return input / other  # type: ignore[return-value]


def multiply(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
    return input * other  # type: ignore[return-value]


def subtract(input: _TensorOrNumber, other: _TensorOrNumber, *, alpha: float = 1) -> Tensor:
    return input - (other * alpha if alpha != 1 else other)  # type: ignore[return-value]


def negative(input: Tensor) -> Tensor:
    return -input


def positive(input: Tensor) -> Tensor:
    return input


def absolute(input: Tensor) -> Tensor:
    return input.abs()


# ---- reductions ---------------------------------------------------------------------
def nansum(input: Tensor, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
    """The sum with NaNs counted as zero."""
    x = where(input.isnan(), 0.0, input) if input.dtype.is_floating_point else input
    s = x.sum() if dim is None else x.sum(dim, keepdim=keepdim)
    return s.to(dtype) if dtype is not None else s


def nanmean(input: Tensor, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
    """The mean of the non-NaN elements (NaN where there are none)."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got {input.dtype}")
    count = (~input.isnan()).sum() if dim is None else (~input.isnan()).sum(dim, keepdim=keepdim)
    return nansum(input, dim, keepdim, dtype=dtype) / count


def _moved_last(input: Tensor, dims: Sequence[int]) -> Tensor:
    """input with `dims` moved to the end and merged into one."""
    keep = [d for d in range(input.dim()) if d not in dims]
    x = input.permute(*keep, *dims) if input.dim() else input
    merged = 1
    for d in dims:
        merged *= input.shape[d]
    return x.reshape(*[input.shape[d] for d in keep], merged)


def _extreme_dims(op: str, input: Tensor, dim: Any, keepdim: builtins.bool, fn: Any) -> Tensor:
    """amax/amin over one dim, several (merged into one, so ties share the gradient as
    in PyTorch) or all (dim None or ())."""
    n = input.dim()
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        dims = list(range(n))
    elif isinstance(dim, (tuple, list)):
        dims = [_dim(op, int(d), n) for d in dim]
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"{op}: dim {list(dim)} appears multiple times in the list of dims")
    else:
        return fn(input, int(dim), keepdim)
    if any(input.shape[d] == 0 for d in dims) if n else False:
        raise IndexError(f"{op}(): Expected reduction dim {dims[0]} to have non-zero size.")
    if n == 0:
        return input.clone()
    out = fn(_moved_last(input, dims), -1, False)
    if keepdim:
        for d in sorted(dims):
            out = out.unsqueeze(d)
    return out


def amax(input: Tensor, dim: Any = (), keepdim: builtins.bool = False) -> Tensor:
    """The maximum over dim (an int, several dims, or all); the gradient is shared evenly
    among ties, as PyTorch."""
    return _extreme_dims("amax", input, dim, keepdim, lambda x, d, k: x.amax(d, k))


def amin(input: Tensor, dim: Any = (), keepdim: builtins.bool = False) -> Tensor:
    return _extreme_dims("amin", input, dim, keepdim, lambda x, d, k: x.amin(d, k))


class _AMinMax(NamedTuple):
    """(min, max), as torch.return_types.aminmax."""

    min: Tensor
    max: Tensor


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
    """(min, max) over dim or all elements, as torch.aminmax."""
    lo, hi = (amin(input, () if dim is None else dim, keepdim), amax(input, () if dim is None else dim, keepdim))
    return _AMinMax(lo, hi)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: builtins.bool = False) -> MinMax:
    """The k-th smallest element along dim and its index (values differentiable)."""
    d = _dim("kthvalue", dim, input.dim())
    size = input.shape[d] if input.dim() else 1
    if not 1 <= k <= size:
        raise IndexError(f"kthvalue(): selected number k out of range for dimension {dim} (k={k}, size {size})")
    from ._ops_extra import _first_k

    if input.dim() == 0:
        values, indices = input.sort(dim=d, stable=True)
        return MinMax(values, indices)
    idx = np.take(_first_k(_values(input), d, k, False), [k - 1], axis=d)  # the stable sort's k-th
    return _select_along(input, d, idx, keepdim)


def _select_along(input: Tensor, d: int, idx: np.ndarray, keepdim: builtins.bool) -> MinMax:
    """(input's elements at idx (one per line along d, keepdim layout), idx) as values,
    indices; the values via gather, so differentiable."""
    index = _from_numpy(idx.astype(np.int64))
    v = input.gather(d, index)
    if not keepdim:
        v, index = v.squeeze(d), index.squeeze(d)
    return MinMax(v, index)


def mode(input: Tensor, dim: int = -1, keepdim: builtins.bool = False) -> MinMax:
    """The most frequent value along dim (the smallest among equally frequent ones) and
    the index of its last occurrence, as PyTorch's CPU kernel."""
    if input.dim() == 0:
        return MinMax(input.clone(), _from_numpy(np.array(0, np.int64)))
    d = _dim("mode", dim, input.dim())
    x = np.moveaxis(_values(input), d, -1)
    flat = x.reshape(-1, x.shape[-1])
    idx = np.empty(flat.shape[0], np.int64)
    for r, row in enumerate(flat):
        # NaNs never equal each other: each counts once and sorts last (PyTorch's sort-and-count)
        vals, counts = np.unique(row[~np.isnan(row)], return_counts=True)
        best = vals[np.argmax(counts)] if vals.size else np.nan  # (the smallest of the most frequent)
        idx[r] = np.nonzero(np.isnan(row) if np.isnan(best) else row == best)[0][-1]
    where_found = np.moveaxis(np.asarray(idx).reshape(x.shape[:-1] + (1,)), -1, d)
    return _select_along(input, d, where_found, keepdim)


def nanmedian(input: Tensor, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
    """The lower median of the non-NaN elements (NaN where all are NaN); with dim, also
    its index, as torch.nanmedian (median's code: _ops_extra._median)."""
    from ._ops_extra import _median

    return _median("nanmedian", input, dim, keepdim, True)


def _quantile(op: str, input: Tensor, q: Any, dim: int | None, keepdim: builtins.bool,
              interpolation: str, ignore_nan: builtins.bool) -> Tensor:
    from ._creation import tensor

    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{op}() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                         f"Got {interpolation}")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
    if isinstance(q, Tensor) and q.dtype != input.dtype:
        raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
    qs = np.atleast_1d(_values(q) if isinstance(q, Tensor) else np.asarray(q, dtype=np.float64)).astype(np.float64)
    scalar_q = not isinstance(q, Tensor) and np.ndim(q) == 0 or isinstance(q, Tensor) and q.dim() == 0
    if np.any((qs < 0) | (qs > 1)):
        raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _dim(op, dim, input.dim())
    if x.dim() == 0:
        x, d = x.reshape(1), 0
    values, _ = x.sort(dim=d, stable=True)  # NaNs sort last
    nan = values.isnan()
    n = (~nan).sum(d, keepdim=True) if ignore_nan else None
    size = x.shape[d]
    outs = []
    for qv in qs:
        if ignore_nan:
            count = _values(n).astype(np.float64)  # type: ignore[arg-type]
            rank = qv * np.maximum(count - 1, 0)
        else:
            rank = np.full([1] * x.dim(), qv * (size - 1))
        lo = np.floor(rank)
        hi = np.ceil(rank)
        if interpolation == "lower":
            hi = lo
        elif interpolation == "higher":
            lo = hi
        elif interpolation == "nearest":
            lo = hi = np.round(rank)  # half to even, as PyTorch
        shape = list(x.shape)
        shape[d] = 1
        lo_i = _from_numpy(np.broadcast_to(lo, shape).astype(np.int64))
        hi_i = _from_numpy(np.broadcast_to(hi, shape).astype(np.int64))
        below, above = values.gather(d, lo_i), values.gather(d, hi_i)
        if interpolation == "midpoint":
            out = below + (above - below) * 0.5
        elif interpolation == "linear":
            weight = tensor(np.broadcast_to(rank - lo, shape).astype(input.dtype.numpy))
            out = below.lerp(above, weight)
        else:
            out = below
        if n is not None:
            out = where(n == 0, math.nan, out)
        elif size:
            out = where(nan.any(d, keepdim=True), math.nan, out)
        outs.append(out if keepdim and dim is not None and input.dim() else out.squeeze(d))
    result = stack(outs, 0)
    if dim is None and keepdim:
        result = result.reshape(len(qs), *([1] * input.dim()))
    return result[0] if scalar_q else result


def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: builtins.bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The q-th quantiles along dim (or of all elements), interpolated as numpy.quantile;
    a NaN in a line makes its quantiles NaN.  Differentiable (via sort)."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: builtins.bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """quantile over the non-NaN elements."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


def msort(input: Tensor) -> Tensor:
    return input.sort(dim=0).values


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """The running product along dim, accumulated in double (int64 for integers) as
    PyTorch's CPU kernel does.  The gradient, also in double: the reversed running sum of
    g * out, divided by x, where a slice has no zero; where it has, every position after
    its first zero gets 0 and that zero the product of the rest (PyTorch's formula).
    NOTE: this was a chain of one product per step, recorded op by op: 1e5 elements along
    one dim took 0.98 s (1e6: 8.9 s), against 0.1 ms for PyTorch."""
    x = input.to(dtype) if dtype is not None else input
    if x.dtype.name == "bool":
        x = x.long()
    d = _dim("cumprod", dim, x.dim())
    if x.dim() == 0:
        return x.clone()
    out = call(lib.pa_cumprod, x._h, d)  # (C: the same sequential products in double)
    if not x.requires_grad:
        return out
    values = _values(out).copy()
    v = _values(x)
    x64, dt = v.astype(np.float64), x.dtype.numpy

    def backward(g: Tensor) -> tuple[Tensor]:
        return (_from_numpy(_cumprod_grad(x64, _values(g).astype(np.float64), d).astype(dt)),)

    return _recorded(values, [x], backward)


def _scan(ufunc: Any, a: np.ndarray, axis: int) -> np.ndarray:
    """ufunc.accumulate(a, axis), the same operations in the same order.  Along a dim
    other than the last, one vectorised ufunc call per step over whole slices: NumPy's
    accumulate walks such a dim element by element (cumprod over dim 0 of 64x128x128:
    7.7 ms, against 1.1 ms for the slices)."""
    if axis == a.ndim - 1 or a.shape[axis] == 0 or a.size // a.shape[axis] < 16:
        return ufunc.accumulate(a, axis=axis)
    out = np.array(a, copy=True)
    moved = np.moveaxis(out, axis, 0)  # (a view: the steps write out)
    for i in range(1, moved.shape[0]):
        ufunc(moved[i - 1], moved[i], out=moved[i])
    return out


def _cumprod_grad(x: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """d(sum g * cumprod(x)) / dx along axis, in float64: the reversed running sum of
    g * cumprod(x), divided by x, then the slices holding a zero redone one by one."""
    n = x.shape[axis]
    if n == 0 or x.size == 0:
        return np.zeros_like(x)
    with np.errstate(all="ignore"):
        y = _scan(np.multiply, x, axis)
        out = np.flip(_scan(np.add, np.flip(g * y, axis), axis), axis) / x
        zero = x == 0
        if not zero.any():
            return out
        xm, gm, om = (np.moveaxis(a, axis, -1) for a in (x, g, out))  # (views: om writes out)
        slices = zero.any(axis=axis)  # (0-d for a 1-d x: its one slice at ())
        for pos in (zip(*np.nonzero(slices)) if slices.ndim else [()]):
            xr, gr = xm[pos], gm[pos]
            z = int(np.argmax(xr == 0))
            row = np.zeros(n)
            if z:
                row[:z] = np.flip(np.cumsum(np.flip(gr[:z] * np.cumprod(xr[:z])))) / xr[:z]
            row[z] = np.prod(xr[:z]) * (gr[z] + np.dot(gr[z + 1:], np.cumprod(xr[z + 1:])))
            om[pos] = row
    return out


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(input))) along dim without overflow: a running logaddexp in float64.
    Its gradient, sum over k >= j of g_k exp(x_j - out_k), is computed by the stable
    recurrence T_j = g_j + exp(out_j - out_{j+1}) T_{j+1} (every exponent <= 0)."""
    x = _float_input("logcumsumexp", input)
    if x.dim() == 0:
        return x.clone()
    d = _dim("logcumsumexp", dim, x.dim())
    x64 = np.moveaxis(_values(x).astype(np.float64), d, -1)
    with np.errstate(all="ignore"):
        out64 = np.logaddexp.accumulate(x64, axis=-1) if x64.shape[-1] else x64.copy()
    values = np.moveaxis(out64, -1, d).astype(x.dtype.numpy)
    if not x.requires_grad:
        return _from_numpy(values)
    dt = x.dtype.numpy

    def backward(g: Tensor) -> tuple[Tensor]:
        g64 = np.moveaxis(_values(g).astype(np.float64), d, -1)
        t = np.zeros_like(g64)
        n = g64.shape[-1]
        with np.errstate(all="ignore"):
            for j in range(n - 1, -1, -1):
                nxt = t[..., j + 1] * np.exp(out64[..., j] - out64[..., j + 1]) if j + 1 < n else 0.0
                t[..., j] = g64[..., j] + np.where(np.isfinite(out64[..., j]), nxt, 0.0)
            grad = np.where(np.isneginf(x64), 0.0, np.exp(x64 - out64) * t)
        return (_from_numpy(np.moveaxis(grad, -1, d).astype(dt)),)

    return _recorded(values, [x], backward)


def _cumulative_extreme(op: str, input: Tensor, dim: int, take_max: builtins.bool) -> MinMax:
    if input.dim() == 0:
        return MinMax(input.clone(), _from_numpy(np.array(0, np.int64)))
    d = _dim(op, dim, input.dim())
    x = np.moveaxis(_values(input), d, -1)
    idx = np.zeros(x.shape, np.int64)
    best = x[..., 0].copy() if x.shape[-1] else x[..., :0]
    for k in range(1, x.shape[-1]):
        v = x[..., k]
        # PyTorch's kernel: >= (<=) takes the later index on ties; NaN propagates and sticks
        # each NaN takes over (its index too); nothing replaces a NaN but a later NaN
        better = np.isnan(v) | (~np.isnan(best) & ((v >= best) if take_max else (v <= best)))
        best = np.where(better, v, best)
        idx[..., k] = np.where(better, k, idx[..., k - 1])
    index = _from_numpy(np.moveaxis(idx, -1, d))
    return MinMax(input.gather(d, index), index)


def cummax(input: Tensor, dim: int) -> MinMax:
    """The running maximum along dim and where it was found (values differentiable)."""
    return _cumulative_extreme("cummax", input, dim, True)


def cummin(input: Tensor, dim: int) -> MinMax:
    return _cumulative_extreme("cummin", input, dim, False)


def clamp_tensors(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    """clamp with tensor (or number) bounds, as ATen: min(max(x, lo), hi) with NaN from
    any operand; the gradient reaches x where lo <= x <= hi, lo where x < lo (and lo < hi),
    hi where x > hi (or hi < lo)."""
    x = input
    lo = _as_tensor(min, x) if min is not None else None
    hi = _as_tensor(max, x) if max is not None else None
    values = _values(x)
    with np.errstate(all="ignore"):
        if lo is not None:
            values = np.maximum(values, _values(lo))
        if hi is not None:
            values = np.minimum(values, _values(hi))
    values = np.asarray(values)
    ops = [t for t in (x, lo, hi) if t is not None]
    if not builtins.any(t.requires_grad for t in ops):
        return _from_numpy(values)
    xd = x.detach()
    lod = lo.detach() if lo is not None else None
    hid = hi.detach() if hi is not None else None
    shapes = [tuple(t.shape) for t in ops]

    def backward(g: Tensor) -> tuple[Any, ...]:
        keep = None
        if lod is not None:
            keep = xd >= lod
        if hid is not None:
            keep = (xd <= hid) if keep is None else keep & (xd <= hid)
        grads: list[Any] = [_sum_to(where(keep, g, 0.0), shapes[0])]  # type: ignore[arg-type]
        if lod is not None:
            below = (xd < lod) & (lod < hid) if hid is not None else xd < lod
            grads.append(_sum_to(where(below, g, 0.0), shapes[len(grads)]))
        if hid is not None:
            above = ((xd > hid) | (hid < lod)) if lod is not None else xd > hid
            grads.append(_sum_to(where(above, g, 0.0), shapes[len(grads)]))
        return tuple(grads)

    return _recorded(values, ops, backward)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along dim scaled so that its p-norm is at most maxnorm."""
    d = _dim("renorm", dim, input.dim())
    others = tuple(k for k in range(input.dim()) if k != d)
    norms = input.norm(p=p, dim=others, keepdim=True) if others else input.abs()
    scale = where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * scale


# ---- shapes -------------------------------------------------------------------------
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The n-th forward difference along dim (after prepend/append are concatenated)."""
    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _dim("diff", dim, input.dim())
    x = cat([t for t in (prepend, input, append) if t is not None], d) if (prepend is not None or
                                                                           append is not None) else input
    for _ in range(n):
        size = x.shape[d]
        if size == 0:
            break
        upper, lower = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
        x = (upper != lower) if x.dtype.name == "bool" else upper - lower
    return x


def fliplr(input: Tensor) -> Tensor:
    if input.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return input.flip(1)


def flipud(input: Tensor) -> Tensor:
    if input.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return input.flip(0)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotated by 90 degrees k times in the plane of dims (from the first toward the second)."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.dim() < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input.dim()}")
    d0, d1 = (_dim("rot90", int(v), input.dim()) for v in dims)
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return input.flip(d1).transpose(d0, d1)
    if k == 2:
        return input.flip([d0, d1])
    if k == 3:
        return input.flip(d0).transpose(d0, d1)
    return input.clone()


def tensor_split(input: Tensor, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of input split along dim into n nearly equal parts (the first size % n one
    longer) or at the given indices."""
    d = _dim("tensor_split", dim, input.dim())
    size = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        base, extra = divmod(size, n)
        bounds = [0]
        for i in range(n):
            bounds.append(bounds[-1] + base + (1 if i < extra else 0))
    else:
        bounds = [0] + [builtins.min(builtins.max(int(i) if i >= 0 else int(i) + size, 0), size)
                        for i in indices_or_sections] + [size]
    return tuple(input.narrow(d, lo, builtins.max(hi - lo, 0)) for lo, hi in zip(bounds, bounds[1:]))


def atleast_1d(*tensors: Any) -> Any:
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(t.reshape(1) if t.dim() == 0 else t for t in ts)
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def atleast_2d(*tensors: Any) -> Any:
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(t.reshape(1, 1) if t.dim() == 0 else t.unsqueeze(0) if t.dim() == 1 else t for t in ts)
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def atleast_3d(*tensors: Any) -> Any:
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors

    def lift(t: Tensor) -> Tensor:
        if t.dim() == 0:
            return t.reshape(1, 1, 1)
        if t.dim() == 1:
            return t.reshape(1, -1, 1)
        if t.dim() == 2:
            return t.unsqueeze(-1)
        return t

    out = tuple(lift(t) for t in ts)
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    return cat(list(atleast_3d(list(tensors))), 2)


def ravel(input: Tensor) -> Tensor:
    return input.reshape(-1)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Each last-dim vector of input on a diagonal (offset) of a new square matrix placed
    at dims dim1, dim2 of the result."""
    from ._creation import eye, zeros

    n = input.shape[-1] if input.dim() else 1
    size = n + builtins.abs(offset)
    on_diagonal = eye(n, dtype=input.dtype) != 0
    # (..., n, n), the vector on the main diagonal: chosen by where (inf * 0 would be nan)
    x = where(on_diagonal, input.unsqueeze(-1).expand(*input.shape, n), 0.0)
    if offset:
        pad_rows = zeros(*x.shape[:-2], builtins.abs(offset), n, dtype=input.dtype)
        pad_cols = zeros(*x.shape[:-2], size, builtins.abs(offset), dtype=input.dtype)
        x = cat([x, pad_rows] if offset > 0 else [pad_rows, x], -2)
        x = cat([pad_cols, x] if offset > 0 else [x, pad_cols], -1)
    nd = x.dim()
    a, b = dim1 % nd, dim2 % nd
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    rest = list(range(nd - 2))
    order: list[int] = []
    src = iter(rest)
    for k in range(nd):
        order.append(nd - 2 if k == a else nd - 1 if k == b else next(src))
    return x.permute(*order)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-, 1- or 2-d) as blocks on the diagonal of one matrix."""
    from ._creation import zeros
    from .nn.functional import pad

    blocks = [t.reshape(1, 1) if t.dim() == 0 else t.reshape(1, -1) if t.dim() == 1 else t for t in tensors]
    for t in blocks:
        if t.dim() != 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input has "
                               f"{t.dim()} dimensions")
    if not blocks:
        return zeros(1, 0)
    dt = blocks[0].dtype
    for t in blocks[1:]:
        dt = (zeros(1, dtype=dt) + zeros(1, dtype=t.dtype)).dtype
    rows, cols = sum(t.shape[0] for t in blocks), sum(t.shape[1] for t in blocks)
    out, c = [], 0
    for t in blocks:
        out.append(pad(t.to(dt), (c, cols - c - t.shape[1])))
        c += t.shape[1]
    return cat(out, 0) if rows else zeros(0, cols, dtype=dt)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element of each 1-d tensor, as rows (a 1-d tensor for one)."""
    from ._ops_extra import meshgrid

    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: builtins.bool = False) -> Tensor:
    """The r-length combinations of a 1-d tensor's elements, as rows."""
    from ._creation import tensor, zeros

    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(pick(range(input.shape[0]), r))
    if r == 0:
        return zeros(0, dtype=input.dtype)
    if not idx:
        return zeros(0, r, dtype=input.dtype)
    flat = input.index_select(0, tensor(np.asarray(idx, np.int64).reshape(-1)))
    return flat.reshape(len(idx), r)


def _triangle_indices(row: int, col: int, offset: int, lower: builtins.bool) -> Tensor:
    r, c = np.tril_indices(row, offset, col) if lower else np.triu_indices(row, offset, col)
    return _from_numpy(np.stack([r, c]).astype(np.int64).reshape(2, -1))


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    return _triangle_indices(row, col, offset, False)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None,
                 layout: Any = None) -> Tensor:
    return _triangle_indices(row, col, offset, True)


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Tensor.unfold: the windows of `size` elements every `step` along dimension, in a
    new last dim (a copy here, which PyTorch makes a view)."""
    from ._creation import tensor

    d = _dim("unfold", dimension, input.dim())
    length = input.shape[d] if input.dim() else 1
    if size < 0 or size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input.dim() == 0:
        return input.reshape(1)
    windows = (length - size) // step + 1
    idx = (np.arange(windows)[:, None] * step + np.arange(size)[None, :]).reshape(-1)
    picked = input.index_select(d, tensor(idx.astype(np.int64)))
    shape = list(input.shape)
    shape[d:d + 1] = [windows, size]
    return picked.reshape(*shape).movedim(d + 1, -1)


# ---- indexing -----------------------------------------------------------------------
def _flat_index(op: str, input: Tensor, index: Tensor) -> np.ndarray:
    idx = _values(index).astype(np.int64)
    n = input.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"{op}(): index {bad} out of range for tensor of size {list(input.shape)}.")
    return np.where(idx < 0, idx + n, idx)


def take(input: Tensor, index: Tensor) -> Tensor:
    """input's elements at flat (row-major) indices, in index's shape."""
    if index.dtype.name != "int64":
        index = _from_numpy(_flat_index("take", input, index))
    try:  # NOTE: index_select checks and wraps in C; the NumPy checks took 0.5 ms of 1.0 for 100k indices
        picked = input.reshape(-1).index_select(0, index.reshape(-1))
    except IndexError:
        _flat_index("take", input, index)  # PyTorch's message
        raise
    return picked.reshape(*index.shape)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
    """A copy of input with source written (or, with accumulate, added: repeated indices
    add up) at flat indices."""
    idx = _flat_index("put_", input, index).reshape(-1)
    if source.numel() != idx.size:
        raise RuntimeError(f"put_(): Expected source and index to have the same number of elements, but got "
                           f"source.numel() = {source.numel()}, index.numel() = {idx.size}")
    where_ = _from_numpy(idx.astype(np.int64))
    flat = input.reshape(-1)
    src = source.reshape(-1).to(input.dtype)
    if accumulate:
        from ._ops_extra import index_add

        out = index_add(flat, 0, where_, src)
    else:
        out = flat.clone()
        out[where_] = src
    return out.reshape(*input.shape)


def _put_into(out: Tensor, index: Tensor, source: Tensor, accumulate: builtins.bool) -> Tensor:
    """Tensor.put_: put's result written into out."""
    result = put(out, index, source, accumulate)
    out.copy_(result)
    return out


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of input with source's slices along dim written at index."""
    from ._ops_extra import _index_put

    return _index_put("index_copy", input, dim, index, source, 1, False)


def index_fill(input: Tensor, dim: int, index: Tensor, value: _TensorOrNumber) -> Tensor:
    """A copy of input with the slices along dim at index set to value."""
    from ._ops_extra import _index_put

    return _index_put("index_fill", input, dim, index, value, 1, False)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of input whose elements where mask (broadcast) is True take source's
    elements in order."""
    m = mask.expand(input.shape) if tuple(mask.shape) != tuple(input.shape) else mask
    count = builtins.int(m.sum().item())
    if source.numel() < count:
        raise RuntimeError(f"masked_scatter: expected source to have at least {count} elements, got "
                           f"{source.numel()}")
    out = input.clone()
    out[m] = source.reshape(-1)[:count]
    return out


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """input's elements where mask (input and mask broadcast together) is True, as 1-d."""
    shape = np.broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    x = input.expand(*shape) if tuple(input.shape) != shape else input
    m = mask.expand(*shape) if tuple(mask.shape) != shape else mask
    return x[m]


def argwhere(input: Tensor) -> Tensor:
    return input.nonzero()


def isin(elements: Any, test_elements: Any, *, assume_unique: builtins.bool = False,
         invert: builtins.bool = False) -> Tensor:
    a = _values(elements) if isinstance(elements, Tensor) else np.asarray(elements)
    b = _values(test_elements) if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return _from_numpy(np.isin(a, b, invert=invert))


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: builtins.bool = False,
                 right: builtins.bool = False, side: str | None = None, sorter: Tensor | None = None) -> Tensor:
    """For each value, the index where it would be inserted into the (last-dim) sorted
    sequence: left of equal elements, or right with right=True / side='right'."""
    if out_int32:
        raise TypeError("searchsorted: out_int32 is not supported (pyautodiff has no int32)")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("side and right can't be set to opposites, got side of left while right was True")
        right = side == "right"
    seq = _values(sorted_sequence)
    if sorter is not None:
        seq = np.take_along_axis(seq, _values(sorter).astype(np.int64), -1)
    vals = _values(input) if isinstance(input, Tensor) else np.asarray(input)
    if seq.ndim <= 1:
        return _from_numpy(np.searchsorted(seq, vals, side="right" if right else "left").astype(np.int64))
    if vals.shape[:-1] != seq.shape[:-1]:
        raise RuntimeError(f"searchsorted: boundaries {tuple(seq.shape)} and input {tuple(vals.shape)} must "
                           f"match in all but the last dim")
    flat_s, flat_v = seq.reshape(-1, seq.shape[-1]), vals.reshape(-1, vals.shape[-1])
    out = np.stack([np.searchsorted(s, v, side="right" if right else "left") for s, v in zip(flat_s, flat_v)]) \
        if flat_s.size or flat_v.size \
        else np.zeros(flat_v.shape, np.int64)
    return _from_numpy(out.reshape(vals.shape).astype(np.int64))


def bucketize(input: Any, boundaries: Tensor, *, out_int32: builtins.bool = False,
              right: builtins.bool = False) -> Tensor:
    """The bucket of each element among 1-d sorted boundaries: boundaries[i-1] < x <=
    boundaries[i] (or <= x < with right=True)."""
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """A histogram of bins equal-width bins over [min, max] (the data's range when both
    are 0); elements outside are ignored; counts in input's dtype."""
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{input.dtype}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dimension 0")
    x = _values(input).reshape(-1).astype(np.float64)
    lo, hi = builtins.float(min), builtins.float(max)
    if lo > hi:
        raise RuntimeError(f"torch.histc(): max must be larger than min, but got min {lo} max {hi}")
    if lo == hi and x.size:
        lo, hi = builtins.float(x.min()), builtins.float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    # PyTorch's binning (histc: linear interpolation, no search), in the input's precision:
    # pos = (x - min) * bins / (max - min), truncated; max itself goes to the last bin
    dt = input.dtype.numpy
    xv = _values(input).reshape(-1)
    lo_t, hi_t = dt.type(lo), dt.type(hi)
    inside = xv[(xv >= lo_t) & (xv <= hi_t)]
    with np.errstate(all="ignore"):
        pos = (((inside - lo_t) * dt.type(bins)) / (hi_t - lo_t)).astype(np.int64)
    counts = np.bincount(np.clip(pos, 0, bins - 1), minlength=bins)
    return _from_numpy(counts.astype(dt))


def unique_consecutive(input: Tensor, return_inverse: builtins.bool = False, return_counts: builtins.bool = False,
                       dim: int | None = None) -> Any:
    """input (flattened) with each run of equal consecutive elements collapsed to one."""
    if dim is not None:
        raise NotImplementedError("unique_consecutive: dim is not supported by pyautodiff")
    x = _values(input).reshape(-1)
    starts = np.concatenate([[True], x[1:] != x[:-1]]) if x.size else np.zeros(0, bool)
    values = _from_numpy(x[starts])
    extra = []
    if return_inverse:
        extra.append(_from_numpy((np.cumsum(starts) - 1).reshape(tuple(input.shape)).astype(np.int64)))
    if return_counts:
        pos = np.nonzero(starts)[0]
        extra.append(_from_numpy(np.diff(np.append(pos, x.size)).astype(np.int64)))
    return (values, *extra) if extra else values


# ---- products -----------------------------------------------------------------------
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta * input + alpha * (batch1 @ batch2) for batches of matrices."""
    from ._ops_extra import bmm

    prod = bmm(batch1, batch2)
    prod = prod * alpha if alpha != 1 else prod
    return prod if beta == 0 else (input * beta if beta != 1 else input) + prod


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    """beta * input + alpha * sum_b batch1[b] @ batch2[b]."""
    from ._ops_extra import bmm

    prod = bmm(batch1, batch2).sum(0)
    prod = prod * alpha if alpha != 1 else prod
    return prod if beta == 0 else (input * beta if beta != 1 else input) + prod


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    prod = matmul(mat, vec)
    prod = prod * alpha if alpha != 1 else prod
    return prod if beta == 0 else (input * beta if beta != 1 else input) + prod


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
    prod = vec1.unsqueeze(1) * vec2.unsqueeze(0)
    prod = prod * alpha if alpha != 1 else prod
    return prod if beta == 0 else (input * beta if beta != 1 else input) + prod


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """The sum over a's dims_a and b's dims_b (dims an int: a's last and b's first dims)
    of the products, as one matrix product."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(a.dim() - dims, a.dim())), list(range(dims))
    else:
        da, db = ([dims[0]] if isinstance(dims[0], int) else list(dims[0]),
                  [dims[1]] if isinstance(dims[1], int) else list(dims[1]))
    da = [_dim("tensordot", d, a.dim()) for d in da]
    db = [_dim("tensordot", d, b.dim()) for d in db]
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[x]} in dim {x} "
                               f"and second has size {b.shape[y]} in dim {y}")
    keep_a = [d for d in range(a.dim()) if d not in da]
    keep_b = [d for d in range(b.dim()) if d not in db]
    k = int(np.prod([a.shape[d] for d in da]))
    am = a.permute(*keep_a, *da).reshape(-1, k) if a.dim() else a.reshape(1, 1)
    bm = b.permute(*db, *keep_b).reshape(k, -1) if b.dim() else b.reshape(1, 1)
    return matmul(am, bm).reshape(*[a.shape[d] for d in keep_a], *[b.shape[d] for d in keep_b])


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product (dims aligned from the right)."""
    n = builtins.max(input.dim(), other.dim())
    a = input.reshape(*([1] * (n - input.dim())), *input.shape)
    b = other.reshape(*([1] * (n - other.dim())), *other.shape)
    ea = a.reshape(*[s for d in range(n) for s in (a.shape[d], 1)])
    eb = b.reshape(*[s for d in range(n) for s in (1, b.shape[d])])
    return (ea * eb).reshape(*[a.shape[d] * b.shape[d] for d in range(n)])


# ---- random -------------------------------------------------------------------------
def multinomial(input: Tensor, num_samples: int, replacement: builtins.bool = False, *,
                generator: Any = None) -> Tensor:
    """Indices drawn from the rows of input (non-negative weights), with or without
    replacement, from pyautodiff's generator or `generator` (a seed makes them repeat)."""
    from ._creation import rand

    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    w = _values(input).astype(np.float64)
    rows = w.reshape(1, -1) if w.ndim == 1 else w
    if np.any(rows < 0) or not np.all(np.isfinite(rows)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(rows.sum(1) <= 0):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    if num_samples <= 0:
        raise RuntimeError(f"cannot sample n_sample <= 0 samples, got {num_samples}")
    u = _values(rand(rows.shape[0], num_samples, generator=generator)).astype(np.float64)
    out = np.empty((rows.shape[0], num_samples), np.int64)
    for r, (p, ur) in enumerate(zip(rows, u)):
        p = p.copy()
        taken = np.zeros(len(p), bool)
        for s in range(num_samples):
            cdf = np.cumsum(p)
            if cdf[-1] <= 0:  # without replacement, past the non-zero weights: the first unused
                k = builtins.int(np.nonzero(~taken)[0][0])
            else:
                k = builtins.int(np.searchsorted(cdf, ur[s] * cdf[-1], side="right"))
                k = builtins.min(k, len(p) - 1)
                while p[k] == 0:  # (rounding at the top of the cdf)
                    k -= 1
            out[r, s] = k
            if not replacement:
                p[k] = 0.0
                taken[k] = True
    return _from_numpy(out[0] if w.ndim == 1 else out)


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None,
             device: Any = None, requires_grad: builtins.bool = False) -> Tensor:
    """base ** linspace(start, end, steps), each power computed in float64."""
    from ._creation import tensor
    from ._dtype import float32, to_dtype

    if steps < 0:
        raise RuntimeError(f"number of steps must be non-negative, got {steps}")
    dt = to_dtype(dtype) if dtype is not None else float32
    out = tensor(np.power(float(base), np.linspace(float(start), float(end), steps)).astype(dt.numpy))
    return out.requires_grad_() if requires_grad else out


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None,
                 **kwargs: Any) -> Tensor:
    from ._creation import randint

    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype)


# ---- as_strided ------------------------------------------------------------------------

def _strided_positions(shape: Sequence[int], strides: Sequence[int], offset: int) -> np.ndarray:
    """The storage position of every element of a (shape, strides, offset) view."""
    pos = np.full(tuple(shape), offset, dtype=np.int64)
    for d, (n, st) in enumerate(zip(shape, strides)):
        idx = [1] * len(shape)
        idx[d] = n
        pos = pos + (np.arange(n, dtype=np.int64) * st).reshape(idx)
    return pos


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
    """A view of input's storage with the given size, strides and storage offset (input's
    own by default), every reachable element checked to lie inside the storage.  When
    input requires grad the result is instead a differentiable gather of the same
    elements (a copy, not a view); overlapping elements then accumulate their gradients,
    as in PyTorch."""
    from ._ffi import ffi, lib
    from ._tensor import call
    from .autograd.grad_mode import is_grad_enabled

    shape, strides = [int(s) for s in size], [int(s) for s in stride]
    if len(shape) != len(strides):
        raise RuntimeError(f"as_strided: mismatch in length of strides and shape: {len(shape)} sizes and "
                           f"{len(strides)} strides")
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    view = call(lib.pa_as_strided, input._h, len(shape), ffi.new("int64_t[]", shape or [0]),
                ffi.new("int64_t[]", strides or [0]), offset)
    if not (is_grad_enabled() and input.requires_grad):
        return view
    # The elements of input, by storage position, that the view reaches.
    own_strides = input.stride()
    assert isinstance(own_strides, tuple)
    own = _strided_positions(tuple(input.shape), own_strides, input.storage_offset()).ravel()
    order = np.argsort(own, kind="stable")
    if len(own) and np.any(np.diff(own[order]) == 0):
        raise RuntimeError("as_strided: an input whose elements overlap (an expanded tensor) cannot be "
                           "differentiated through as_strided; call contiguous() first")
    want = _strided_positions(shape, strides, offset).ravel()
    at = np.searchsorted(own[order], want)
    found = (at < len(own)) & (own[order][np.minimum(at, len(own) - 1)] == want) if len(own) else \
        np.zeros(want.shape, bool)
    if not found.all():
        raise RuntimeError("as_strided: with autograd, the result may only reach the input's own elements "
                           "(this size, stride and offset reach other memory of its storage)")
    flat = order[at].astype(np.int64)
    from ._creation import tensor

    return input.reshape(-1).index_select(0, tensor(flat)).reshape(shape)


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                  device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A zero-filled tensor with the given size and strides (over a storage just large
    enough), as torch.empty_strided (whose values are uninitialised)."""
    from ._creation import zeros

    shape, strides = [int(s) for s in size], [int(s) for s in stride]
    if len(shape) != len(strides):
        raise RuntimeError(f"empty_strided: mismatch in length of strides and shape: {len(shape)} sizes and "
                           f"{len(strides)} strides")
    if builtins.any(s < 0 for s in shape + strides):
        raise RuntimeError(f"empty_strided: negative size or stride in {shape}, {strides}")
    extent = 0 if builtins.any(s == 0 for s in shape) else 1 + builtins.sum((n - 1) * st for n, st in
                                                                          zip(shape, strides))
    out = as_strided(zeros(extent, dtype=dtype), shape, strides, 0)
    return out.requires_grad_(requires_grad) if requires_grad else out
