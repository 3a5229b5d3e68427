"""Math functions of the top-level namespace (torch.exp, torch.matmul, ...)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Protocol, Sequence, Union, overload

from ._ffi import ffi, lib
from ._tensor import MinMax, Tensor, binary, call, matmul, unary

if TYPE_CHECKING:  # annotation-only aliases
    from ._dtype import dtype as _dtype_cls

    _Number = Union[int, float, bool]
    _TensorOrNumber = Union[Tensor, int, float, bool]
    _Dims = Union[int, Sequence[int], None]
    _DType = Union[_dtype_cls, str, type]


class _UnaryFunction(Protocol):
    def __call__(self, input: Tensor) -> Tensor: ...


class _BinaryFunction(Protocol):
    def __call__(self, input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor: ...

__all__ = ["exp", "log", "sqrt", "abs", "neg", "tanh", "sigmoid", "relu", "sin", "cos", "erf", "erfc", "sign",
           "rsqrt", "log1p", "expm1", "square", "reciprocal", "logical_not", "clamp", "clip", "pow",
           "maximum", "minimum", "where", "sum", "mean", "matmul", "mm", "softmax", "log_softmax",
           "reshape", "flatten", "transpose", "permute", "unsqueeze", "squeeze", "cat", "concat",
           "stack", "index_select", "add", "sub", "mul", "div", "eq", "ne", "lt", "le", "gt", "ge",
           "logical_and", "logical_or", "t", "numel", "max", "min", "argmax", "argmin", "amax", "amin", "var", "std", "logsumexp", "gather", "gelu"]


def _unary_function(name: str) -> _UnaryFunction:
    def fn(input: Tensor) -> Tensor:
        return unary(name, input)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} (as torch.{name})."
    return fn


exp = _unary_function("exp")
log = _unary_function("log")
sqrt = _unary_function("sqrt")
abs = _unary_function("abs")  # noqa: A001 - the PyTorch name
neg = _unary_function("neg")
tanh = _unary_function("tanh")
sigmoid = _unary_function("sigmoid")
relu = _unary_function("relu")
sin = _unary_function("sin")
cos = _unary_function("cos")
erf = _unary_function("erf")
erfc = _unary_function("erfc")
sign = _unary_function("sign")
rsqrt = _unary_function("rsqrt")
log1p = _unary_function("log1p")
expm1 = _unary_function("expm1")
square = _unary_function("square")
reciprocal = _unary_function("reciprocal")
logical_not = _unary_function("logical_not")


def _binary_function(name: str) -> _BinaryFunction:
    def fn(input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor:
        return binary(name, input, other)

    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting (as torch.{name})."
    return fn


pow = _binary_function("pow")  # noqa: A001
maximum = _binary_function("maximum")
minimum = _binary_function("minimum")
mul = _binary_function("mul")
div = _binary_function("div")
eq = _binary_function("eq")
ne = _binary_function("ne")
lt = _binary_function("lt")
le = _binary_function("le")
gt = _binary_function("gt")
ge = _binary_function("ge")
logical_and = _binary_function("logical_and")
logical_or = _binary_function("logical_or")


def add(input: _TensorOrNumber, other: _TensorOrNumber, alpha: _Number = 1) -> Tensor:
    return binary("add", input, other * alpha if alpha != 1 else other)


def sub(input: _TensorOrNumber, other: _TensorOrNumber, alpha: _Number = 1) -> Tensor:
    return binary("sub", input, other * alpha if alpha != 1 else other)


def clamp(input: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    return input.clamp(min, max)


clip = clamp


@overload
def where(condition: Tensor) -> tuple[Tensor, ...]: ...
@overload
def where(condition: Tensor, input: _TensorOrNumber, other: _TensorOrNumber) -> Tensor: ...
def where(condition: Tensor, input: Any = None, other: Any = None) -> Any:
    """Elements of `input` where `condition` holds, else of `other` (numbers allowed);
    with the condition alone, the indices where it holds (nonzero(as_tuple=True))."""
    from ._creation import tensor

    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() expects both input and other, or neither")

    like = input if isinstance(input, Tensor) else other
    a = input if isinstance(input, Tensor) else tensor(input, dtype=like.dtype if isinstance(like, Tensor) else None)
    b = other if isinstance(other, Tensor) else tensor(other, dtype=a.dtype)
    return call(lib.pa_where, condition._h, a._h, b._h)


def sum(input: Tensor, dim: _Dims = None, keepdim: bool = False,  # noqa: A001
        dtype: _DType | None = None) -> Tensor:
    return input.sum(dim, keepdim, dtype=dtype)


def mean(input: Tensor, dim: _Dims = None, keepdim: bool = False, dtype: _DType | None = None) -> Tensor:
    return input.mean(dim, keepdim, dtype=dtype)




mm = matmul


def softmax(input: Tensor, dim: int, dtype: _DType | None = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return call(lib.pa_softmax, x._h, int(dim))


def log_softmax(input: Tensor, dim: int, dtype: _DType | None = None) -> Tensor:
    x = input if dtype is None else input.to(dtype)
    return call(lib.pa_log_softmax, x._h, int(dim))


def reshape(input: Tensor, shape: int | Sequence[int]) -> Tensor:
    return input.reshape(shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    return input.flatten(start_dim, end_dim)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    return input.transpose(dim0, dim1)


def t(input: Tensor) -> Tensor:
    return input.t()


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    return input.permute(*dims)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    return input.unsqueeze(dim)


def squeeze(input: Tensor, dim: int | Sequence[int] | None = None) -> Tensor:
    return input.squeeze(dim)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    return input.index_select(dim, index)


def _handles(tensors: Iterable[Tensor]) -> tuple[int, Any]:
    tensors = list(tensors)
    if not all(isinstance(x, Tensor) for x in tensors):
        raise TypeError("expected a sequence of Tensors")
    return len(tensors), ffi.new("pa_tensor *[]", [x._h for x in tensors])


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    n, hs = _handles(tensors)
    return call(lib.pa_cat, n, hs, int(dim))


concat = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    n, hs = _handles(tensors)
    return call(lib.pa_stack, n, hs, int(dim))


def numel(input: Tensor) -> int:
    return input.numel()


@overload
def max(input: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...  # noqa: A001
@overload
def max(input: Tensor, dim: Tensor, keepdim: bool = False) -> Tensor: ...  # noqa: A001
@overload
def max(input: Tensor, dim: int, keepdim: bool = False) -> MinMax: ...  # noqa: A001
def max(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | MinMax:  # noqa: A001
    return input.max(dim, keepdim)


@overload
def min(input: Tensor, dim: None = None, keepdim: bool = False) -> Tensor: ...  # noqa: A001
@overload
def min(input: Tensor, dim: Tensor, keepdim: bool = False) -> Tensor: ...  # noqa: A001
@overload
def min(input: Tensor, dim: int, keepdim: bool = False) -> MinMax: ...  # noqa: A001
def min(input: Tensor, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | MinMax:  # noqa: A001
    return input.min(dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return input.argmax(dim, keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return input.argmin(dim, keepdim)


def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return input.amax(dim, keepdim)


def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    return input.amin(dim, keepdim)


def var(input: Tensor, dim: _Dims = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    return input.var(dim, unbiased, keepdim, correction=correction)


def std(input: Tensor, dim: _Dims = None, unbiased: bool | None = None, keepdim: bool = False, *,
        correction: int | None = None) -> Tensor:
    return input.std(dim, unbiased, keepdim, correction=correction)


def logsumexp(input: Tensor, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
    return input.logsumexp(dim, keepdim)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    return input.gather(dim, index)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    return unary("gelu" if approximate == "none" else "gelu_tanh", input)
