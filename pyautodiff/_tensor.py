"""`Tensor`: a Python handle on a C tensor (`pa_tensor`), with PyTorch's operators,
properties and methods.  Every method is argument normalisation plus one C call."""
from __future__ import annotations

import builtins
import numbers
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, NoReturn, Sequence, SupportsIndex, Union, overload

import numpy as np

from . import _device
from ._dtype import dtype as _dtype_cls, from_code, from_numpy_dtype, to_dtype
from ._ffi import ffi, lib, raise_error

if TYPE_CHECKING:  # annotation-only aliases (Tensor's methods `float`, `bool`, ... shadow the builtins)
    _Number = Union[int, float, bool]
    _TensorOrNumber = Union["Tensor", int, float, bool]
    _Dims = Union[int, Sequence[int], None]
    _DType = Union[_dtype_cls, str, type, np.dtype]

__all__ = ["Tensor", "wrap"]

_release = lib.pa_tensor_release
_pa_matmul = lib.pa_matmul
_gc = ffi.gc
_OUT = "pa_tensor *[1]"
_tls = threading.local()


def _out() -> Any:
    """This thread's result slot for `pa_tensor **out` arguments.  Safe to reuse: the
    value is read right after the call returns, and no op that fills it calls back
    into Python."""
    try:
        return _tls.out
    except AttributeError:
        _tls.out = out = ffi.new(_OUT)
        return out


def _new_out(_type: str = _OUT) -> Any:
    return ffi.new(_type)


def wrap(ptr: Any) -> Tensor:
    """A Tensor owning one reference to the C tensor `ptr`."""
    t = object.__new__(Tensor)
    t._h = _gc(ptr, _release)
    return t


def call(fn: Callable[..., int], *args: Any) -> Tensor:
    """Calls a core op whose last argument is a `pa_tensor **` result; returns a Tensor."""
    out = _out()
    status = fn(*args, out)
    if status:
        raise_error(status)
    return wrap(out[0])


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """pyautodiff.matmul and Tensor.__matmul__ (one function: the hot path of every
    product).  call() spelled out: on a 64x128x10 product the saved frame is ~3% of the
    time."""
    out = _out()
    status = _pa_matmul(input._h, other._h, out)
    if status:
        raise_error(status)
    return wrap(out[0])


def as_handle(x: _TensorOrNumber, like: Tensor | None = None) -> Any:
    """The C handle of a Tensor, or of a new 0-dim tensor for a Python number."""
    if isinstance(x, Tensor):
        return x._h
    if isinstance(x, (numbers.Number, np.generic)):
        dt = like.dtype if like is not None else None
        return _scalar_tensor(x, dt)._h
    raise TypeError(f"expected a Tensor or a number, got {type(x).__name__}")


def _scalar_tensor(value: _Number, dtype: _dtype_cls | None = None) -> Tensor:
    from . import _creation

    return _creation.tensor(value, dtype=dtype)


def dims_arg(dim: _Dims, ndim_hint: int | None = None) -> tuple[int, Any]:
    """(count, int64_t[]) for a dim argument: None, an int, or a sequence of ints."""
    if dim is None:
        return 0, ffi.NULL
    if isinstance(dim, (int, np.integer)):
        dims = [int(dim)]
    else:
        dims = [int(d) for d in dim]
        if not dims:
            return 0, ffi.NULL
    return len(dims), ffi.new("int64_t[]", dims)


def shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Normalises f(2, 3), f((2, 3)), f([2, 3]) and f(torch.Size) to a tuple of ints."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


class MinMax(tuple):
    """(values, indices) of max/min along a dim, as torch.return_types.max."""

    __slots__ = ()

    def __new__(cls, values: Tensor, indices: Tensor) -> MinMax:
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


class Size(tuple):
    """torch.Size: a tuple of ints with `numel()`."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(s) for s in self)}])"


_BIN = {name: getattr(lib, "PA_BIN_" + name.upper()) for name in (
    "add", "sub", "mul", "div", "pow", "maximum", "minimum", "atan2", "eq", "ne", "lt", "le", "gt", "ge",
    "logical_and", "logical_or")}
_UN = {name: getattr(lib, "PA_UN_" + name.upper()) for name in (
    "neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "gelu", "gelu_tanh", "sin", "cos",
    "logical_not", "sign", "rsqrt", "log1p", "expm1", "square", "reciprocal", "erf", "erfc", "log2",
    "log10", "silu")}

_binary = lib.pa_binary
_binary_scalar = lib.pa_binary_scalar
_unary = lib.pa_unary


def binary(op: str, a: Any, b: Any) -> Tensor:
    """a (op) b where either may be a Python number (but a is a Tensor or b is)."""
    code = _BIN[op]
    out = _out()
    if type(b) is Tensor or isinstance(b, Tensor):
        if type(a) is Tensor or isinstance(a, Tensor):
            status = _binary(code, a._h, b._h, out)
        else:
            value, is_float = _scalar(a)
            status = _binary_scalar(code, b._h, value, is_float, 1, out)
    else:
        value, is_float = _scalar(b)
        status = _binary_scalar(code, a._h, value, is_float, 0, out)
    if status:
        raise_error(status)
    return wrap(out[0])


def _scalar(x: _Number) -> tuple[float, int]:
    """(value as a double, its kind: 0 an int, 1 a float, 2 a bool) for a Python or NumPy
    number (see pa_binary_scalar)."""
    t = type(x)
    if t is float:
        return x, 1
    if t is int:
        return float(x), 0
    if t is bool or isinstance(x, np.bool_):
        return float(x), 2
    if isinstance(x, numbers.Integral):
        return float(x), 0
    if isinstance(x, (numbers.Real, np.floating)):
        return float(x), 1
    raise TypeError(f"unsupported operand type: {type(x).__name__} (expected a Tensor or a real number)")


def unary(op: str, a: Tensor) -> Tensor:
    out = _out()
    status = _unary(_UN[op], a._h, out)
    if status:
        raise_error(status)
    return wrap(out[0])


class _ArrayInterface:
    """Exposes a tensor's memory to NumPy while keeping the tensor alive."""

    __slots__ = ("__array_interface__", "_tensor")

    def __init__(self, tensor: Tensor) -> None:
        h = tensor._h
        dt = from_code(h.dtype)
        self._tensor = tensor
        self.__array_interface__ = {
            "shape": tuple(h.shape[i] for i in range(h.ndim)),
            "strides": tuple(h.strides[i] * dt.itemsize for i in range(h.ndim)),
            "typestr": dt.typestr,
            "data": (int(ffi.cast("uintptr_t", h.data)), False),
            "version": 3,
        }


class RemovableHandle:
    """Returned by register_hook; remove() unregisters the hook."""

    __slots__ = ("_tensor", "_id")

    def __init__(self, tensor: Tensor, hook_id: int) -> None:
        self._tensor, self._id = tensor, hook_id

    def remove(self) -> None:
        lib.pa_remove_hook(self._tensor._h, self._id)


class GradFn:
    """The node that made a tensor (`tensor.grad_fn`): `name()` gives its PyTorch name."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self._tensor = tensor

    def name(self) -> str:
        return ffi.string(lib.pa_node_name(self._tensor._h.grad_fn)).decode()

    def __repr__(self) -> str:
        return f"<{self.name()}>"


class Tensor:
    """A multi-dimensional array with autograd, stored and computed in C.

    >>> import pyautodiff as torch
    >>> x = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("_h", "__weakref__")
    _h: Any  # the cffi `pa_tensor *` handle (a slot; annotation only)
    # NumPy defers to Tensor's reflected operators (np.float64(2) * t is a Tensor that keeps
    # its graph, not an ndarray made through __array__), as PyTorch's tensors ask it to.
    __array_priority__ = 1000

    def __new__(cls, *args: Any, **kwargs: Any) -> Tensor:
        from . import _creation

        if len(args) == 1 and not isinstance(args[0], (int, np.integer)):
            # The legacy constructor is torch.FloatTensor: data becomes float32.
            return _creation.tensor(args[0], dtype=kwargs.get("dtype", _creation._dtype.float32))
        return _creation.empty(*args, **kwargs)

    # ---- properties -----------------------------------------------------------------
    @property
    def shape(self) -> Size:
        h = self._h
        return Size(h.shape[i] for i in range(h.ndim))

    @overload
    def size(self, dim: None = None) -> Size: ...
    @overload
    def size(self, dim: int) -> int: ...
    def size(self, dim: int | None = None) -> Size | int:
        shape = self.shape
        return shape if dim is None else shape[dim]

    @property
    def ndim(self) -> int:
        return self._h.ndim

    def dim(self) -> int:
        return self._h.ndim

    def numel(self) -> int:
        return self._h.numel

    def __len__(self) -> int:
        if self._h.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._h.shape[0]

    @property
    def dtype(self) -> _dtype_cls:
        return from_code(self._h.dtype)

    @property
    def device(self) -> _device.device:
        return _device.CPU

    @property
    def is_cuda(self) -> builtins.bool:
        return False

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        h = self._h
        strides = tuple(h.strides[i] for i in range(h.ndim))
        return strides if dim is None else strides[dim]

    def is_contiguous(self) -> builtins.bool:
        return bool(lib.pa_tensor_is_contiguous(self._h))

    def is_floating_point(self) -> builtins.bool:
        return self.dtype.is_floating_point

    # ---- autograd -------------------------------------------------------------------
    @property
    def requires_grad(self) -> builtins.bool:
        return bool(self._h.requires_grad)

    @requires_grad.setter
    def requires_grad(self, value: builtins.bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: builtins.bool = True) -> Tensor:
        status = lib.pa_set_requires_grad(self._h, bool(requires_grad))
        if status:
            raise_error(status)
        return self

    @property
    def grad(self) -> Tensor | None:
        g = self._h.grad
        if g == ffi.NULL:
            return None
        lib.pa_tensor_retain(g)
        return wrap(g)

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"assigned grad expected to be a Tensor or None but got {type(value).__name__}")
        status = lib.pa_set_grad(self._h, value._h if value is not None else ffi.NULL)
        if status:
            raise_error(status)

    @property
    def grad_fn(self) -> GradFn | None:
        return GradFn(self) if self._h.grad_fn != ffi.NULL else None

    @property
    def is_leaf(self) -> builtins.bool:
        return self._h.grad_fn == ffi.NULL

    def backward(self, gradient: Tensor | None = None, retain_graph: builtins.bool | None = None,
                 create_graph: builtins.bool = False) -> None:
        """Accumulates d(self)/d(leaf) into the .grad of every leaf that requires grad."""
        if create_graph:
            raise NotImplementedError("backward: create_graph=True (higher-order gradients) is not supported")
        g = as_handle(gradient, self) if gradient is not None else ffi.NULL
        status = lib.pa_backward(self._h, g, bool(retain_graph))
        if status:
            raise_error(status)

    def detach(self) -> Tensor:
        return call(lib.pa_detach, self._h)

    @property
    def data(self) -> Tensor:
        """The values without autograd: a tensor sharing this one's memory that does not
        require grad (as detach(); PyTorch's .data also hides in-place changes from the
        saved-value check, which pyautodiff does not)."""
        return self.detach()

    @data.setter
    def data(self, value: Tensor) -> None:
        # PyTorch rebinds the storage; here the values are copied in, which gives the same
        # numbers for the same shape and dtype and refuses anything else.
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        if value.shape != self.shape or value.dtype != self.dtype:
            raise ValueError(f"data: assigning a tensor of shape {tuple(value.shape)} and dtype "
                             f"{value.dtype} to one of shape {tuple(self.shape)} and dtype {self.dtype} "
                             "is not supported (pyautodiff copies the values in place)")
        self.detach().copy_(value)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Calls hook(grad) with this tensor's gradient during backward; a returned
        tensor replaces the gradient.  Returns a handle whose remove() unregisters it."""
        from ._callbacks import hook_callback, keep, release_handle

        handle = keep(hook)
        hid = ffi.new("int64_t *")
        status = lib.pa_register_hook(self._h, hook_callback, release_handle, handle, hid)
        if status:
            from ._callbacks import forget

            forget(handle)
            raise_error(status)
        return RemovableHandle(self, hid[0])

    def retain_grad(self) -> None:
        """Keeps this non-leaf tensor's gradient in .grad after backward."""
        status = lib.pa_retain_grad(self._h)
        if status:
            raise_error(status)

    @property
    def retains_grad(self) -> builtins.bool:
        return bool(self._h.retains_grad)

    def detach_(self) -> Tensor:
        """Takes this tensor out of the graph in place (no grad_fn, requires_grad False);
        refused for a view of a tensor that requires grad, as in PyTorch."""
        status = lib.pa_detach_inplace(self._h)
        if status:
            raise_error(status)
        return self

    # ---- conversion -----------------------------------------------------------------
    def numpy(self, force: builtins.bool = False) -> np.ndarray:
        """A NumPy array sharing this tensor's memory (for any strided layout)."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return np.asarray(_ArrayInterface(self))

    def __array__(self, dtype: Any = None, copy: builtins.bool | None = None) -> np.ndarray:
        arr = self.detach().numpy()
        return arr if dtype is None else arr.astype(dtype)

    def item(self) -> _Number:
        value = ffi.new("double *")
        status = lib.pa_item(self._h, value)
        if status:
            raise_error(status)
        dt = self.dtype
        if dt.is_floating_point:
            return value[0]
        return bool(value[0]) if dt.name == "bool" else int(value[0])

    def tolist(self) -> Any:
        return self.detach().numpy().tolist()

    def __float__(self) -> builtins.float:
        return float(self.item())

    def __format__(self, format_spec: str) -> str:
        if self.ndim == 0:  # f"{loss:.4f}"
            return self.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> builtins.bool:
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self.numel()} elements is ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __repr__(self) -> str:
        arr = self.detach().numpy()
        body = np.array2string(arr, separator=", ", prefix="tensor(",
                               formatter=None if arr.dtype.kind != "f" else {"float_kind": _fmt_float(arr)})
        extras = []
        if self.dtype.name not in ("float32", "int64", "bool"):
            extras.append(f"dtype=torch.{self.dtype.name}")
        if self._h.grad_fn != ffi.NULL:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def to(self, *args: Any, **kwargs: Any) -> Tensor:
        """Converts dtype (`to(torch.float64)`, `to(dtype=...)`); devices other than cpu are
        rejected."""
        dtype = kwargs.get("dtype")
        flags = []  # the positional non_blocking and copy
        for a in args:
            if isinstance(a, _dtype_cls):
                dtype = a
            elif isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, builtins.bool):
                flags.append(a)
            else:
                _device.check_device("to", a)
        _device.check_device("to", kwargs.get("device"))
        copy = kwargs.get("copy", flags[1] if len(flags) > 1 else False)
        target = self.dtype if dtype is None else to_dtype(dtype)
        if target is self.dtype:  # as PyTorch: the tensor itself (a new one with copy=True)
            return self.clone() if copy else self
        return call(lib.pa_to_dtype, self._h, target.code)

    def type(self, dtype: _DType) -> Tensor:
        return self.to(dtype)

    def float(self) -> Tensor:
        return self.to(_dtype_by_name("float32"))

    def double(self) -> Tensor:
        return self.to(_dtype_by_name("float64"))

    def long(self) -> Tensor:
        return self.to(_dtype_by_name("int64"))

    def bool(self) -> Tensor:
        return self.to(_dtype_by_name("bool"))

    def cpu(self) -> Tensor:
        return self

    def cuda(self, device: Any = None) -> NoReturn:
        raise ValueError("cuda: only the 'cpu' device exists in pyautodiff")

    def contiguous(self) -> Tensor:
        return call(lib.pa_contiguous, self._h)

    def clone(self) -> Tensor:
        return call(lib.pa_clone, self._h)

    # ---- arithmetic -----------------------------------------------------------------
    def __add__(self, other: _TensorOrNumber) -> Tensor:
        return binary("add", self, other)

    def __radd__(self, other: _TensorOrNumber) -> Tensor:
        return binary("add", other, self)

    def __sub__(self, other: _TensorOrNumber) -> Tensor:
        return binary("sub", self, other)

    def __rsub__(self, other: _TensorOrNumber) -> Tensor:
        return binary("sub", other, self)

    def __mul__(self, other: _TensorOrNumber) -> Tensor:
        return binary("mul", self, other)

    def __rmul__(self, other: _TensorOrNumber) -> Tensor:
        return binary("mul", other, self)

    def __truediv__(self, other: _TensorOrNumber) -> Tensor:
        return binary("div", self, other)

    def __rtruediv__(self, other: _TensorOrNumber) -> Tensor:
        return binary("div", other, self)

    def __pow__(self, other: _TensorOrNumber) -> Tensor:
        return binary("pow", self, other)

    def __rpow__(self, other: _TensorOrNumber) -> Tensor:
        return binary("pow", other, self)

    def __neg__(self) -> Tensor:
        return unary("neg", self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return unary("abs", self)

    __matmul__ = matmul

    def __rmatmul__(self, other: Tensor) -> Tensor:
        return call(lib.pa_matmul, as_handle(other, self), self._h)

    def __eq__(self, other: _TensorOrNumber) -> Tensor:  # type: ignore[override]  # elementwise, as PyTorch
        return binary("eq", self, other)

    def __ne__(self, other: _TensorOrNumber) -> Tensor:  # type: ignore[override]  # elementwise, as PyTorch
        return binary("ne", self, other)

    def __lt__(self, other: _TensorOrNumber) -> Tensor:
        return binary("lt", self, other)

    def __le__(self, other: _TensorOrNumber) -> Tensor:
        return binary("le", self, other)

    def __gt__(self, other: _TensorOrNumber) -> Tensor:
        return binary("gt", self, other)

    def __ge__(self, other: _TensorOrNumber) -> Tensor:
        return binary("ge", self, other)

    # & | ^ ~ << >>: bitwise on integers, logical on bools (pyautodiff/_ops_more.py)
    def __and__(self, other: _TensorOrNumber) -> Tensor:
        if self.dtype.code == lib.PA_BOOL and isinstance(other, Tensor) and other.dtype.code == lib.PA_BOOL:
            return binary("logical_and", self, other)
        return _more().bitwise_and(self, other)

    def __or__(self, other: _TensorOrNumber) -> Tensor:
        if self.dtype.code == lib.PA_BOOL and isinstance(other, Tensor) and other.dtype.code == lib.PA_BOOL:
            return binary("logical_or", self, other)
        return _more().bitwise_or(self, other)

    def __xor__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_xor(self, other)

    def __rand__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_and(other, self)

    def __ror__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_or(other, self)

    def __rxor__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_xor(other, self)

    def __lshift__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_left_shift(self, other)

    def __rshift__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_right_shift(self, other)

    def __invert__(self) -> Tensor:
        return _more().bitwise_not(self)

    def __rlshift__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_left_shift(other, self)

    def __rrshift__(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_right_shift(other, self)

    def __ilshift__(self, other: _TensorOrNumber) -> Tensor:
        return self._assign_bitwise(self << other)

    def __irshift__(self, other: _TensorOrNumber) -> Tensor:
        return self._assign_bitwise(self >> other)

    def __iand__(self, other: _TensorOrNumber) -> Tensor:
        return self._assign_bitwise(self & other)

    def __ior__(self, other: _TensorOrNumber) -> Tensor:
        return self._assign_bitwise(self | other)

    def __ixor__(self, other: _TensorOrNumber) -> Tensor:
        return self._assign_bitwise(self ^ other)

    def _assign_bitwise(self, result: Tensor) -> Tensor:
        """x &= y and the like: the result written into x (in its dtype), as PyTorch."""
        if result.dtype != self.dtype and self.dtype.code == lib.PA_BOOL:
            raise RuntimeError(f"result type {result.dtype.name} can't be cast to the desired output type bool")
        from .autograd import no_grad

        with no_grad():
            self.copy_(result.expand(self.shape) if tuple(result.shape) != tuple(self.shape) else result)
        return self

    __hash__ = object.__hash__

    def add(self, other: _TensorOrNumber, alpha: _Number = 1) -> Tensor:
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other: _TensorOrNumber, alpha: _Number = 1) -> Tensor:
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other: _TensorOrNumber) -> Tensor:
        return self * other

    def div(self, other: _TensorOrNumber, *, rounding_mode: str | None = None) -> Tensor:
        if rounding_mode is None:
            return self / other
        return _extra().div(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent: _TensorOrNumber) -> Tensor:
        return self ** exponent

    def matmul(self, other: Tensor) -> Tensor:
        return self @ other

    def mm(self, other: Tensor) -> Tensor:
        return self @ other

    def maximum(self, other: _TensorOrNumber) -> Tensor:
        return binary("maximum", self, other)

    def minimum(self, other: _TensorOrNumber) -> Tensor:
        return binary("minimum", self, other)

    def eq(self, other: _TensorOrNumber) -> Tensor:
        return self == other

    def ne(self, other: _TensorOrNumber) -> Tensor:
        return self != other

    def lt(self, other: _TensorOrNumber) -> Tensor:
        return self < other

    def le(self, other: _TensorOrNumber) -> Tensor:
        return self <= other

    def gt(self, other: _TensorOrNumber) -> Tensor:
        return self > other

    def ge(self, other: _TensorOrNumber) -> Tensor:
        return self >= other

    # ---- in place ---------------------------------------------------------------------
    def _assign(self, op: str, result: Tensor) -> Tensor:
        """self <- result (computed from self out of place), recorded by autograd as the
        in-place op `op`_ (see pa_assign_)."""
        status = lib.pa_assign_(self._h, result._h, op.encode())
        if status:
            raise_error(status)
        return self

    def _unary_inplace(self, op: str) -> Tensor:
        """self <- op(self) (see pa_unary_)."""
        status = lib.pa_unary_(_UN[op], self._h)
        if status:
            raise_error(status)
        return self

    def _inplace(self, op: str, other: _TensorOrNumber) -> Tensor:
        if isinstance(other, Tensor):
            status = lib.pa_binary_(_BIN[op], self._h, other._h)
        else:
            status = lib.pa_binary_scalar_(_BIN[op], self._h, *_scalar(other))
        if status:
            raise_error(status)
        return self

    def add_(self, other: _TensorOrNumber, alpha: _Number = 1) -> Tensor:
        return self._inplace("add", other * alpha if alpha != 1 else other)

    def sub_(self, other: _TensorOrNumber, alpha: _Number = 1) -> Tensor:
        return self._inplace("sub", other * alpha if alpha != 1 else other)

    def mul_(self, other: _TensorOrNumber) -> Tensor:
        return self._inplace("mul", other)

    def div_(self, other: _TensorOrNumber) -> Tensor:
        return self._inplace("div", other)

    def __iadd__(self, other: _TensorOrNumber) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: _TensorOrNumber) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: _TensorOrNumber) -> Tensor:
        return self.mul_(other)

    def __ipow__(self, other: _TensorOrNumber) -> Tensor:
        return self.pow_(other)

    def __itruediv__(self, other: _TensorOrNumber) -> Tensor:
        return self.div_(other)

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def _assign_values(self, op: str, src: _TensorOrNumber) -> Tensor | None:
        """copy_/fill_ with autograd recording (grad mode on, and self or src requires
        grad): self <- where(False, self, src), which has src's values (broadcast), src's
        gradient and a zero one for self's old values, as PyTorch records them.  None when
        nothing needs recording."""
        from .autograd.grad_mode import is_grad_enabled

        if not (is_grad_enabled() and (self.requires_grad or (isinstance(src, Tensor) and src.requires_grad))):
            return None
        from ._creation import zeros
        from ._functions import where

        return self._assign(op, where(zeros(tuple(self.shape), dtype=_dtype_by_name("bool")), self, src))

    def clamp_(self, min: builtins.float | None = None, max: builtins.float | None = None) -> Tensor:
        return self._assign("clamp", self.clamp(min, max))

    clip_ = clamp_

    def masked_fill_(self, mask: Tensor, value: _TensorOrNumber) -> Tensor:
        return self._assign("masked_fill", self.masked_fill(mask, value))

    def pow_(self, exponent: _TensorOrNumber) -> Tensor:
        return self._assign("pow", self.pow(exponent))

    def exp_(self) -> Tensor:
        return self._unary_inplace("exp")

    def log_(self) -> Tensor:
        return self._unary_inplace("log")

    def sqrt_(self) -> Tensor:
        return self._unary_inplace("sqrt")

    def abs_(self) -> Tensor:
        return self._unary_inplace("abs")

    def neg_(self) -> Tensor:
        return self._unary_inplace("neg")

    def tanh_(self) -> Tensor:
        return self._unary_inplace("tanh")

    def sigmoid_(self) -> Tensor:
        return self._unary_inplace("sigmoid")

    def relu_(self) -> Tensor:
        return self._unary_inplace("relu")

    def sin_(self) -> Tensor:
        return self._unary_inplace("sin")

    def cos_(self) -> Tensor:
        return self._unary_inplace("cos")

    def erf_(self) -> Tensor:
        return self._unary_inplace("erf")

    def erfc_(self) -> Tensor:
        return self._unary_inplace("erfc")

    def sign_(self) -> Tensor:
        return self._unary_inplace("sign")

    def rsqrt_(self) -> Tensor:
        return self._unary_inplace("rsqrt")

    def log1p_(self) -> Tensor:
        return self._unary_inplace("log1p")

    def expm1_(self) -> Tensor:
        return self._unary_inplace("expm1")

    def square_(self) -> Tensor:
        return self._unary_inplace("square")

    def reciprocal_(self) -> Tensor:
        return self._unary_inplace("reciprocal")

    def fill_(self, value: _Number) -> Tensor:
        if self._h.requires_grad and self._assign_values("fill", value) is not None:
            return self
        status = lib.pa_fill_(self._h, float(value))
        if status:
            raise_error(status)
        return self

    def copy_(self, src: _TensorOrNumber) -> Tensor:
        if (self._h.requires_grad or (isinstance(src, Tensor) and src._h.requires_grad)) \
                and self._assign_values("copy", src) is not None:
            return self
        status = lib.pa_copy_(self._h, as_handle(src, self))
        if status:
            raise_error(status)
        return self

    def uniform_(self, a: builtins.float = 0.0, b: builtins.float = 1.0) -> Tensor:
        status = lib.pa_uniform_(self._h, float(a), float(b))
        if status:
            raise_error(status)
        return self

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0) -> Tensor:
        status = lib.pa_normal_(self._h, float(mean), float(std))
        if status:
            raise_error(status)
        return self

    # ---- math -----------------------------------------------------------------------
    def exp(self) -> Tensor:
        return unary("exp", self)

    def log(self) -> Tensor:
        return unary("log", self)

    def sqrt(self) -> Tensor:
        return unary("sqrt", self)

    def abs(self) -> Tensor:
        return unary("abs", self)

    def neg(self) -> Tensor:
        return unary("neg", self)

    def tanh(self) -> Tensor:
        return unary("tanh", self)

    def sigmoid(self) -> Tensor:
        return unary("sigmoid", self)

    def relu(self) -> Tensor:
        return unary("relu", self)

    def sin(self) -> Tensor:
        return unary("sin", self)

    def cos(self) -> Tensor:
        return unary("cos", self)

    def sign(self) -> Tensor:
        return unary("sign", self)

    def rsqrt(self) -> Tensor:
        return unary("rsqrt", self)

    def log1p(self) -> Tensor:
        return unary("log1p", self)

    def expm1(self) -> Tensor:
        return unary("expm1", self)

    def square(self) -> Tensor:
        return unary("square", self)

    def reciprocal(self) -> Tensor:
        return unary("reciprocal", self)

    def logical_not(self) -> Tensor:
        return unary("logical_not", self)

    # ---- compositions of other ops (pyautodiff/_aliases.py) ----------------------------
    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return _aliases().narrow(self, dim, start, length)

    def select(self, dim: int, index: int) -> Tensor:
        return _aliases().select(self, dim, index)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        return _aliases().movedim(self, source, destination)

    moveaxis = movedim

    def broadcast_to(self, size: Sequence[int]) -> Tensor:
        return self.expand(*size)

    def tile(self, dims: Sequence[int]) -> Tensor:
        return _aliases().tile(self, dims)

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value: builtins.float = 1) -> Tensor:
        return _aliases().addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: builtins.float = 1) -> Tensor:
        return _aliases().addcdiv(self, tensor1, tensor2, value=value)

    def addcmul_(self, tensor1: Tensor, tensor2: Tensor, *, value: builtins.float = 1) -> Tensor:
        return self._assign("addcmul", self.addcmul(tensor1, tensor2, value=value))

    def addcdiv_(self, tensor1: Tensor, tensor2: Tensor, *, value: builtins.float = 1) -> Tensor:
        return self._assign("addcdiv", self.addcdiv(tensor1, tensor2, value=value))

    def mv(self, vec: Tensor) -> Tensor:
        return _aliases().mv(self, vec)

    def nan_to_num(self, nan: builtins.float = 0.0, posinf: builtins.float | None = None,
                   neginf: builtins.float | None = None) -> Tensor:
        return _aliases().nan_to_num(self, nan, posinf, neginf)

    def repeat_interleave(self, repeats: Any = None, dim: int | None = None, *,
                          output_size: int | None = None) -> Tensor:
        return _aliases().repeat_interleave(self, repeats, dim)

    def logit(self, eps: builtins.float | None = None) -> Tensor:
        return _aliases().logit(self, eps)

    def clamp_min(self, min: builtins.float) -> Tensor:
        return self.clamp(min=min)

    def clamp_max(self, max: builtins.float) -> Tensor:
        return self.clamp(max=max)

    def logaddexp(self, other: Tensor) -> Tensor:
        return _aliases().logaddexp(self, other)

    def floor_(self) -> Tensor:
        return self._assign("floor", self.floor())

    def ceil_(self) -> Tensor:
        return self._assign("ceil", self.ceil())

    def round_(self) -> Tensor:
        return self._assign("round", self.round())

    def trunc_(self) -> Tensor:
        return self._assign("trunc", self.trunc())

    def nelement(self) -> int:
        return self.numel()

    def ndimension(self) -> int:
        return self.dim()

    def element_size(self) -> int:
        return int(self.dtype.itemsize)

    @property
    def itemsize(self) -> int:
        return int(self.dtype.itemsize)

    @property
    def nbytes(self) -> int:
        return self.numel() * int(self.dtype.itemsize)

    def data_ptr(self) -> int:
        """The address of the first element (0 for an empty tensor)."""
        return int(ffi.cast("uintptr_t", self._h.data)) if self.numel() else 0

    def storage_offset(self) -> int:
        return int(self._h.offset)

    @property
    def _version(self) -> int:
        """The in-place write counter of this tensor's memory (shared with its views), as
        PyTorch's: autograd uses it to refuse saved values changed since they were saved."""
        return int(lib.pa_tensor_version(self._h))

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Clamped to [min, max]; either bound may be a tensor (broadcast), whose gradient
        is that of where it binds, as PyTorch (ties go to the input)."""
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            return _more().clamp_tensors(self, min, max)
        return call(lib.pa_clamp, self._h, float(min if min is not None else 0),
                    float(max if max is not None else 0), min is not None, max is not None)

    clip = clamp

    def sum(self, dim: _Dims = None, keepdim: builtins.bool = False, dtype: _DType | None = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        n, dims = dims_arg(dim)
        return call(lib.pa_sum, x._h, n, dims, bool(keepdim))

    def mean(self, dim: _Dims = None, keepdim: builtins.bool = False, dtype: _DType | None = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        n, dims = dims_arg(dim)
        return call(lib.pa_mean, x._h, n, dims, bool(keepdim))

    def _extreme(self, fn: Callable[..., int], dim: int | None, keepdim: builtins.bool,
                 want_values: builtins.bool = True, want_indices: builtins.bool = True) -> Any:
        values = _new_out(_OUT)
        indices = _new_out(_OUT)
        status = fn(self._h, dim is not None, 0 if dim is None else int(dim), bool(keepdim), values, indices)
        if status:
            raise_error(status)
        v, i = wrap(values[0]), wrap(indices[0])
        if dim is None:
            return v if want_values else i
        return MinMax(v, i) if want_values and want_indices else (v if want_values else i)

    @overload
    def max(self, dim: None = None, keepdim: builtins.bool = False) -> Tensor: ...
    @overload
    def max(self, dim: Tensor, keepdim: builtins.bool = False) -> Tensor: ...
    @overload
    def max(self, dim: int, keepdim: builtins.bool = False) -> MinMax: ...
    def max(self, dim: int | Tensor | None = None, keepdim: builtins.bool = False) -> Tensor | MinMax:
        """The maximum (no dim), or (values, indices) along `dim`."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._extreme(lib.pa_max, dim, keepdim)

    @overload
    def min(self, dim: None = None, keepdim: builtins.bool = False) -> Tensor: ...
    @overload
    def min(self, dim: Tensor, keepdim: builtins.bool = False) -> Tensor: ...
    @overload
    def min(self, dim: int, keepdim: builtins.bool = False) -> MinMax: ...
    def min(self, dim: int | Tensor | None = None, keepdim: builtins.bool = False) -> Tensor | MinMax:
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._extreme(lib.pa_min, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._extreme(lib.pa_max, dim, keepdim, want_values=False)

    def argmin(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return self._extreme(lib.pa_min, dim, keepdim, want_values=False)

    def amax(self, dim: Any = (), keepdim: builtins.bool = False) -> Tensor:
        """The maximum along dim (or several dims, or all); its gradient is shared evenly
        among ties (PyTorch's)."""
        if isinstance(dim, (int, np.integer)):
            return call(lib.pa_amax, self._h, int(dim), bool(keepdim))
        return _more().amax(self, dim, keepdim)

    def amin(self, dim: Any = (), keepdim: builtins.bool = False) -> Tensor:
        if isinstance(dim, (int, np.integer)):
            return call(lib.pa_amin, self._h, int(dim), bool(keepdim))
        return _more().amin(self, dim, keepdim)

    def var(self, dim: _Dims = None, unbiased: builtins.bool | None = None, keepdim: builtins.bool = False, *,
            correction: int | None = None) -> Tensor:
        """Variance with Bessel's correction by default (correction=1, or unbiased)."""
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        centred = self - self.mean(dim, keepdim=True)
        n = self.numel() if dim is None else _count(self.shape, dim)
        return (centred * centred).sum(dim, keepdim=keepdim) / max(n - correction, 0)

    def std(self, dim: _Dims = None, unbiased: builtins.bool | None = None, keepdim: builtins.bool = False, *,
            correction: int | None = None) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def logsumexp(self, dim: int | Sequence[int], keepdim: builtins.bool = False) -> Tensor:
        n, dims = dims_arg(dim)
        return call(lib.pa_logsumexp, self._h, n, dims, bool(keepdim))

    def gather(self, dim: int, index: Tensor) -> Tensor:
        return call(lib.pa_gather, self._h, int(dim), index._h)

    def masked_fill(self, mask: Tensor, value: _TensorOrNumber) -> Tensor:
        from ._functions import where

        return where(mask, value, self)

    def where(self, condition: Tensor, other: _TensorOrNumber) -> Tensor:
        from ._functions import where

        return where(condition, self, other)

    def softmax(self, dim: int) -> Tensor:
        return call(lib.pa_softmax, self._h, int(dim))

    def log_softmax(self, dim: int) -> Tensor:
        return call(lib.pa_log_softmax, self._h, int(dim))

    # ---- shape ----------------------------------------------------------------------
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        shape = shape_arg(shape)
        return call(lib.pa_reshape, self._h, len(shape), ffi.new("int64_t[]", shape))

    def view(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], _dtype_cls):
            raise NotImplementedError("view(dtype) is not supported")
        shape = shape_arg(shape)
        return call(lib.pa_view, self._h, len(shape), ffi.new("int64_t[]", shape))

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        shape = self.shape
        nd = len(shape)
        if nd == 0:
            return self.reshape(1)
        s, e = start_dim % nd, end_dim % nd
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        n = 1
        for d in shape[s:e + 1]:
            n *= d
        return self.reshape(tuple(shape[:s]) + (n,) + tuple(shape[e + 1:]))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return call(lib.pa_transpose, self._h, int(dim0), int(dim1))

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def permute(self, *dims: int | Sequence[int]) -> Tensor:
        dims = shape_arg(dims)
        return call(lib.pa_permute, self._h, len(dims), ffi.new("int64_t[]", dims))

    def expand(self, *shape: int | Sequence[int]) -> Tensor:
        shape = shape_arg(shape)
        return call(lib.pa_expand, self._h, len(shape), ffi.new("int64_t[]", shape))

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(other.shape)

    def unsqueeze(self, dim: int) -> Tensor:
        return call(lib.pa_unsqueeze, self._h, int(dim))

    def squeeze(self, dim: int | Sequence[int] | None = None) -> Tensor:
        if dim is None:
            return call(lib.pa_squeeze, self._h, 0, 0)
        if isinstance(dim, (tuple, list)):  # each listed dim of size 1, highest first
            n = builtins.max(self.dim(), 1)
            dims = sorted({int(d) % n if -n <= int(d) < n else _bad_dim("squeeze", int(d), n) for d in dim})
            out = self
            for d in dims[::-1]:
                out = out.squeeze(d) if out.dim() else out
            return out
        return call(lib.pa_squeeze, self._h, 1, int(dim))  # type: ignore[arg-type]

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return call(lib.pa_index_select, self._h, int(dim), index._h)

    def __getitem__(self, key: Any) -> Tensor:
        from ._indexing import getitem

        return getitem(self, key)

    def __setitem__(self, key: Any, value: _TensorOrNumber) -> None:
        from ._indexing import setitem

        setitem(self, key, value)

    def __iter__(self) -> Iterator[Tensor]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # ---- more of PyTorch's methods (pyautodiff/_ops_extra.py) ------------------------
    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return _extra().chunk(self, chunks, dim)

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return _extra().split(self, split_size, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return _extra().unbind(self, dim)

    def isnan(self) -> Tensor:
        return _extra().isnan(self)

    def isinf(self) -> Tensor:
        return _extra().isinf(self)

    def isfinite(self) -> Tensor:
        return _extra().isfinite(self)

    def isclose(self, other: _TensorOrNumber, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                equal_nan: builtins.bool = False) -> Tensor:
        return _extra().isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Tensor, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                 equal_nan: builtins.bool = False) -> builtins.bool:
        return _extra().allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> builtins.bool:
        return _extra().equal(self, other)

    def any(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return _extra().any(self, dim, keepdim)

    def all(self, dim: int | None = None, keepdim: builtins.bool = False) -> Tensor:
        return _extra().all(self, dim, keepdim)

    def dot(self, other: Tensor) -> Tensor:
        return _extra().dot(self, other)

    def outer(self, vec2: Tensor) -> Tensor:
        return _extra().outer(self, vec2)

    def bmm(self, mat2: Tensor) -> Tensor:
        return _extra().bmm(self, mat2)

    def tril(self, diagonal: int = 0) -> Tensor:
        return _extra().tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return _extra().triu(self, diagonal)

    def flip(self, *dims: int | Sequence[int]) -> Tensor:
        return _extra().flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        return _extra().roll(self, shifts, dims)

    def floor(self) -> Tensor:
        return _extra().floor(self)

    def ceil(self) -> Tensor:
        return _extra().ceil(self)

    def round(self, decimals: int = 0) -> Tensor:
        return _extra().round(self, decimals)

    def trunc(self) -> Tensor:
        return _extra().trunc(self)

    def frac(self) -> Tensor:
        return _extra().frac(self)

    def floor_divide(self, other: _TensorOrNumber) -> Tensor:
        return _extra().floor_divide(self, other)

    def remainder(self, other: _TensorOrNumber) -> Tensor:
        return _extra().remainder(self, other)

    def fmod(self, other: _TensorOrNumber) -> Tensor:
        return _extra().fmod(self, other)

    def __floordiv__(self, other: _TensorOrNumber) -> Tensor:
        return _extra().floor_divide(self, other)

    def __rfloordiv__(self, other: _TensorOrNumber) -> Tensor:
        return _extra().floor_divide(other, self)

    def __mod__(self, other: _TensorOrNumber) -> Tensor:
        return _extra().remainder(self, other)

    def __rmod__(self, other: _TensorOrNumber) -> Tensor:
        return _extra().remainder(other, self)

    def sort(self, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False) -> MinMax:
        return _extra().sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: builtins.bool = False, stable: builtins.bool = False) -> Tensor:
        return _extra().argsort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: builtins.bool = True, sorted: builtins.bool = True) -> MinMax:
        return _extra().topk(self, k, dim, largest, sorted)

    def nonzero(self, *, as_tuple: builtins.bool = False) -> Any:
        return _extra().nonzero(self, as_tuple=as_tuple)

    def lerp(self, end: Tensor, weight: _TensorOrNumber) -> Tensor:
        return _extra().lerp(self, end, weight)

    def lerp_(self, end: Tensor, weight: _TensorOrNumber) -> Tensor:
        """In place: self + weight * (end - self), as lerp."""
        return self.copy_(_extra().lerp(self, end, weight))

    def norm(self, p: Any = "fro", dim: int | Sequence[int] | None = None, keepdim: builtins.bool = False,
             dtype: Any = None) -> Tensor:
        return _extra().norm(self, p, dim, keepdim, dtype)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        return _extra().cumsum(self, dim, dtype=dtype)

    def repeat(self, *sizes: int | Sequence[int]) -> Tensor:
        """The tensor tiled sizes[i] times along each dim (leading dims added when sizes
        has more entries), as Tensor.repeat; a copy, differentiable."""
        reps = tuple(int(r) for r in shape_arg(sizes))
        if len(reps) < self.ndim:
            raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                               "dimensions of tensor")
        x = self.reshape((1,) * (len(reps) - self.ndim) + tuple(self.shape))
        inter: list[int] = []
        final: list[int] = []
        for r, n in zip(reps, x.shape):
            inter += [r, n]
            final.append(r * n)
        inner = x.reshape(tuple(v for n in x.shape for v in (1, n)))
        return inner.expand(*inter).reshape(tuple(final))

    def new_zeros(self, *size: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
        from ._creation import zeros

        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
        from ._creation import ones

        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
        from ._creation import empty

        return empty(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size: Any, fill_value: _Number, dtype: Any = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        from ._creation import full

        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, requires_grad: builtins.bool = False) -> Tensor:
        from ._creation import tensor

        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def count_nonzero(self, dim: int | Sequence[int] | None = None) -> Tensor:
        return _extra().count_nonzero(self, dim)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return _extra().diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal: int = 0) -> Tensor:
        return _extra().diag(self, diagonal)

    def trace(self) -> Tensor:
        return _extra().trace(self)

    def unique(self, sorted: builtins.bool = True, return_inverse: builtins.bool = False,
               return_counts: builtins.bool = False, dim: int | None = None) -> Any:
        return _extra().unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        return _extra().bincount(self, weights, minlength)

    def median(self, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
        return _extra().median(self, dim, keepdim)

    def prod(self, dim: int | None = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
        return _extra().prod(self, dim, keepdim, dtype=dtype)

    def scatter(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None, reduce: Any = None) -> Tensor:
        return _extra().scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None, reduce: Any = None) -> Tensor:
        return _extra()._scatter("scatter", self, dim, index, src, value, reduce, True)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return _extra().scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return _extra()._scatter("scatter_add", self, dim, index, src, None, None, True)

    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                       include_self: builtins.bool = True) -> Tensor:
        return _gather_ops().scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: builtins.bool = True) -> Tensor:
        return _gather_ops()._scatter_reduce(self, dim, index, src, reduce, include_self, True)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        return _gather_ops().take_along_dim(self, indices, dim)

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: _Number = 1) -> Tensor:
        return _extra().index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: _Number = 1) -> Tensor:
        return _extra()._index_put("index_add", self, dim, index, source, alpha, True)

    def bernoulli(self, p: builtins.float | None = None) -> Tensor:
        return _extra().bernoulli(self, p)

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """copy.deepcopy of a leaf (as PyTorch allows): a new tensor with a copy of the
        values, the same requires_grad, a deep copy of .grad, and the same class (a
        Parameter stays a Parameter).  `best = copy.deepcopy(model.state_dict())`."""
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.  If you were attempting to "
                               "deepcopy a module, this may be because of a torch.nn.utils.weight_norm "
                               "usage, see https://github.com/pytorch/pytorch/pull/103001")
        if id(self) in memo:
            return memo[id(self)]
        new = self.detach().clone()
        if type(self) is not Tensor:  # nn.Parameter: (data, requires_grad)
            new = type(self)(new, self.requires_grad)
        elif self.requires_grad:
            new.requires_grad_(True)
        memo[id(self)] = new
        grad = self.grad
        if grad is not None:
            new.grad = grad.__deepcopy__(memo)
        return new

    def __reduce_ex__(self, protocol: SupportsIndex) -> NoReturn:
        raise TypeError("pyautodiff tensors are not picklable: use pyautodiff.save (safetensors)")

    # ---- still more of PyTorch's methods (pyautodiff/_ops_more.py) ------------------
    def asin(self) -> Tensor:
        return _more().asin(self)

    arcsin = asin

    def acos(self) -> Tensor:
        return _more().acos(self)

    arccos = acos

    def atan(self) -> Tensor:
        return _more().atan(self)

    arctan = atan

    def sinh(self) -> Tensor:
        return _more().sinh(self)

    def cosh(self) -> Tensor:
        return _more().cosh(self)

    def asinh(self) -> Tensor:
        return _more().asinh(self)

    arcsinh = asinh

    def acosh(self) -> Tensor:
        return _more().acosh(self)

    arccosh = acosh

    def atanh(self) -> Tensor:
        return _more().atanh(self)

    arctanh = atanh

    def log2(self) -> Tensor:
        return _more().log2(self)

    def log10(self) -> Tensor:
        return _more().log10(self)

    def exp2(self) -> Tensor:
        return _more().exp2(self)

    def erf(self) -> Tensor:
        return unary("erf", self)

    def erfc(self) -> Tensor:
        return unary("erfc", self)

    def erfinv(self) -> Tensor:
        return _more().erfinv(self)

    def lgamma(self) -> Tensor:
        return _more().lgamma(self)

    def digamma(self) -> Tensor:
        return _more().digamma(self)

    def atan2(self, other: _TensorOrNumber) -> Tensor:
        return _more().atan2(self, other)

    arctan2 = atan2

    def hypot(self, other: _TensorOrNumber) -> Tensor:
        return _more().hypot(self, other)

    def xlogy(self, other: _TensorOrNumber) -> Tensor:
        return _more().xlogy(self, other)

    def heaviside(self, values: Tensor) -> Tensor:
        return _more().heaviside(self, values)

    def sgn(self) -> Tensor:
        return _more().sgn(self)

    def deg2rad(self) -> Tensor:
        return _more().deg2rad(self)

    def rad2deg(self) -> Tensor:
        return _more().rad2deg(self)

    def logical_xor(self, other: _TensorOrNumber) -> Tensor:
        return _more().logical_xor(self, other)

    def bitwise_and(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_and(self, other)

    def bitwise_or(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_or(self, other)

    def bitwise_xor(self, other: _TensorOrNumber) -> Tensor:
        return _more().bitwise_xor(self, other)

    def bitwise_not(self) -> Tensor:
        return _more().bitwise_not(self)

    def float_power(self, exponent: _TensorOrNumber) -> Tensor:
        return _more().float_power(self, exponent)

    def true_divide(self, other: _TensorOrNumber) -> Tensor:
        return self / other

    def multiply(self, other: _TensorOrNumber) -> Tensor:
        return self * other

    def subtract(self, other: _TensorOrNumber, *, alpha: _Number = 1) -> Tensor:
        return _more().subtract(self, other, alpha=alpha)

    def negative(self) -> Tensor:
        return -self

    def positive(self) -> Tensor:
        return self

    def absolute(self) -> Tensor:
        return self.abs()

    def nansum(self, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
        return _more().nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim: Any = None, keepdim: builtins.bool = False, *, dtype: Any = None) -> Tensor:
        return _more().nanmean(self, dim, keepdim, dtype=dtype)

    def aminmax(self, *, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
        return _more().aminmax(self, dim=dim, keepdim=keepdim)

    def kthvalue(self, k: int, dim: int = -1, keepdim: builtins.bool = False) -> MinMax:
        return _more().kthvalue(self, k, dim, keepdim)

    def mode(self, dim: int = -1, keepdim: builtins.bool = False) -> MinMax:
        return _more().mode(self, dim, keepdim)

    def nanmedian(self, dim: int | None = None, keepdim: builtins.bool = False) -> Any:
        return _more().nanmedian(self, dim, keepdim)

    def quantile(self, q: Any, dim: int | None = None, keepdim: builtins.bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        return _more().quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q: Any, dim: int | None = None, keepdim: builtins.bool = False, *,
                    interpolation: str = "linear") -> Tensor:
        return _more().nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def msort(self) -> Tensor:
        return _more().msort(self)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        return _more().cumprod(self, dim, dtype=dtype)

    def logcumsumexp(self, dim: int) -> Tensor:
        return _more().logcumsumexp(self, dim)

    def signbit(self) -> Tensor:
        return _more().signbit(self)

    def cummax(self, dim: int) -> MinMax:
        return _more().cummax(self, dim)

    def cummin(self, dim: int) -> MinMax:
        return _more().cummin(self, dim)

    def renorm(self, p: builtins.float, dim: int, maxnorm: builtins.float) -> Tensor:
        return _more().renorm(self, p, dim, maxnorm)

    def diff(self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None) -> Tensor:
        return _more().diff(self, n, dim, prepend, append)

    def fliplr(self) -> Tensor:
        return _more().fliplr(self)

    def flipud(self) -> Tensor:
        return _more().flipud(self)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        return _more().rot90(self, k, dims)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        return _more().tensor_split(self, indices_or_sections, dim)

    def ravel(self) -> Tensor:
        return self.reshape(-1)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        return _more().diag_embed(self, offset, dim1, dim2)

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        return _more().unfold(self, dimension, size, step)

    def take(self, index: Tensor) -> Tensor:
        return _more().take(self, index)

    def put(self, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
        return _more().put(self, index, source, accumulate)

    def put_(self, index: Tensor, source: Tensor, accumulate: builtins.bool = False) -> Tensor:
        return _more()._put_into(self, index, source, accumulate)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return _extra()._index_put("index_copy", self, dim, index, source, 1, False)

    def index_copy_(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return _extra()._index_put("index_copy", self, dim, index, source, 1, True)

    def index_fill(self, dim: int, index: Tensor, value: _TensorOrNumber) -> Tensor:
        return _extra()._index_put("index_fill", self, dim, index, value, 1, False)

    def index_fill_(self, dim: int, index: Tensor, value: _TensorOrNumber) -> Tensor:
        return _extra()._index_put("index_fill", self, dim, index, value, 1, True)

    def masked_scatter(self, mask: Tensor, source: Tensor) -> Tensor:
        return _more().masked_scatter(self, mask, source)

    def masked_scatter_(self, mask: Tensor, source: Tensor) -> Tensor:
        self.copy_(_more().masked_scatter(self, mask, source))
        return self

    def masked_select(self, mask: Tensor) -> Tensor:
        return _more().masked_select(self, mask)

    def argwhere(self) -> Tensor:
        return self.nonzero()

    def isin(self, test_elements: Any, *, invert: builtins.bool = False) -> Tensor:
        return _more().isin(self, test_elements, invert=invert)

    def histc(self, bins: int = 100, min: builtins.float = 0, max: builtins.float = 0) -> Tensor:
        return _more().histc(self, bins, min, max)

    def unique_consecutive(self, return_inverse: builtins.bool = False, return_counts: builtins.bool = False,
                           dim: int | None = None) -> Any:
        return _more().unique_consecutive(self, return_inverse, return_counts, dim)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: _Number = 1, alpha: _Number = 1) -> Tensor:
        return _more().baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: _Number = 1, alpha: _Number = 1) -> Tensor:
        return _more().addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: _Number = 1, alpha: _Number = 1) -> Tensor:
        return _more().addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta: _Number = 1, alpha: _Number = 1) -> Tensor:
        return _more().addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def kron(self, other: Tensor) -> Tensor:
        return _more().kron(self, other)

    def as_strided(self, size: Sequence[int], stride: Sequence[int], storage_offset: int | None = None) -> Tensor:
        return _more().as_strided(self, size, stride, storage_offset)

    def det(self) -> Tensor:
        from . import linalg

        return linalg.det(self)

    def inverse(self) -> Tensor:
        from . import linalg

        return linalg.inv(self)

    def cholesky(self, upper: builtins.bool = False) -> Tensor:
        from . import linalg

        return linalg.cholesky(self, upper=upper)

    def cholesky_solve(self, input2: Tensor, upper: builtins.bool = False) -> Tensor:
        from . import _linalg_decomp

        return _linalg_decomp.cholesky_solve(self, input2, upper)

    def cholesky_inverse(self, upper: builtins.bool = False) -> Tensor:
        from . import _linalg_decomp

        return _linalg_decomp.cholesky_inverse(self, upper)

    def qr(self, some: builtins.bool = True) -> Any:
        from . import linalg

        return linalg.qr(self, mode="reduced" if some else "complete")

    def svd(self, some: builtins.bool = True, compute_uv: builtins.bool = True) -> Any:
        from . import _linalg_decomp

        return _linalg_decomp.svd_legacy(self, some, compute_uv)

    def pinverse(self, rcond: builtins.float = 1e-15) -> Tensor:
        from . import linalg

        return linalg.pinv(self, rtol=rcond)

    def slogdet(self) -> Any:
        from . import linalg

        return linalg.slogdet(self)

    def logdet(self) -> Tensor:
        from . import _linalg_decomp

        return _linalg_decomp.logdet(self)

    @property
    def mH(self) -> Tensor:  # noqa: N802 - PyTorch's name (real tensors: mT)
        return self.transpose(-2, -1)

    def adjoint(self) -> Tensor:
        return self.transpose(-2, -1)

    # NOTE: last in the class body: the name `int` would shadow the builtin in the
    # annotations of any member after it.
    def int(self, memory_format: Any = None) -> Tensor:
        raise TypeError("Tensor.int(): int32 is not a pyautodiff dtype; use .long() for int64")


def _extra() -> Any:
    from . import _ops_extra

    return _ops_extra


def _gather_ops() -> Any:
    from . import _ops_gather

    return _ops_gather


def _bad_dim(op: str, dim: int, n: int) -> int:
    raise IndexError(f"{op}: Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")


def _more() -> Any:
    from . import _ops_more

    return _ops_more


def _count(shape: Size, dim: int | Sequence[int]) -> int:
    dims = [dim] if isinstance(dim, (int, np.integer)) else list(dim)
    n = 1
    for d in dims:
        n *= shape[d]
    return n


def _fmt_float(arr: np.ndarray) -> Callable[[Any], str]:
    finite = arr[np.isfinite(arr)] if arr.size else arr
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max(initial=0) < 1e8:
        return lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)
    return lambda v: f"{v:.4f}" if np.isfinite(v) else str(v)


def _dtype_by_name(name: str) -> _dtype_cls:
    from . import _dtype

    return getattr(_dtype, name)


def _aliases() -> Any:
    from . import _aliases as module

    return module
