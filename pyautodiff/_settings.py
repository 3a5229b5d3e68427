"""Process-wide settings and type queries that PyTorch scripts call as boilerplate:
finfo/iinfo, result_type/promote_types/can_cast, matmul precision and determinism flags,
the CUDA cache calls of a machine without CUDA, and autocast / GradScaler."""
from __future__ import annotations

import builtins
import contextlib
from typing import Any, Iterator

import numpy as np

from ._dtype import dtype, float32, float64, to_dtype
from ._tensor import Tensor

__all__ = ["finfo", "iinfo", "result_type", "promote_types", "can_cast", "typename", "is_nonzero",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled", "autocast"]


class _BFloat16Info:
    """np.finfo's fields for bfloat16 (8 exponent bits, 7 mantissa bits), which NumPy lacks."""
    bits, eps, max, min = 16, 2.0 ** -7, 3.3895313892515355e38, -3.3895313892515355e38
    tiny = smallest_normal = 2.0 ** -126
    precision = 2  # resolution 10^-2


_BFLOAT16_INFO = _BFloat16Info()


class finfo:  # noqa: N801 - PyTorch's name
    """Machine limits of a floating dtype: bits, eps, max, min, tiny (= smallest_normal),
    resolution."""

    def __init__(self, type: Any = None) -> None:  # noqa: A002
        dt = to_dtype(type, allow_unsupported=True) if type is not None else float32
        if not dt.is_floating_point:
            raise TypeError(f"torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            f"'{dt.name}'")
        info: Any = _BFLOAT16_INFO if dt.name == "bfloat16" else np.finfo(dt.numpy)
        self.dtype = dt.name
        self.bits = int(info.bits)
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.tiny)
        self.resolution = 10.0 ** -int(info.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min:e}, max={self.max:e}, eps={self.eps}, "
                f"smallest_normal={self.smallest_normal}, tiny={self.tiny}, dtype={self.dtype})")


class iinfo:  # noqa: N801 - PyTorch's name
    """Limits of an integer dtype: bits, max, min."""

    def __init__(self, type: Any) -> None:  # noqa: A002
        dt = to_dtype(type, allow_unsupported=True)
        if dt.is_floating_point or dt.name == "bool":
            raise TypeError(f"torch.iinfo() requires an integer input type. Use torch.finfo to handle '{dt.name}'")
        info = np.iinfo(dt.numpy)
        self.dtype, self.bits, self.max, self.min = dt.name, int(info.bits), int(info.max), int(info.min)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def promote_types(type1: Any, type2: Any) -> dtype:
    """The dtype both promote to, as the core promotes them (bool < int64 < float32 <
    float64): the dtype of the sum of two empty tensors."""
    from ._creation import empty

    return (empty(0, dtype=to_dtype(type1)) + empty(0, dtype=to_dtype(type2))).dtype


def result_type(tensor1: Any, tensor2: Any) -> dtype:
    """The dtype of tensor1 + tensor2 under PyTorch's promotion (found by adding empty
    probes: a tensor with dims keeps its dims, a 0-dim tensor or a Python number stays one)."""
    from ._creation import tensor as make

    def probe(x: Any) -> Any:
        if isinstance(x, Tensor):
            return x if x.dim() == 0 else x.reshape(-1)[:0]
        return x

    a, b = probe(tensor1), probe(tensor2)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = make(a)
    return (a + b).dtype


def can_cast(from_: Any, to: Any) -> builtins.bool:
    """Whether a value of from_ may be cast to `to` by an in-place op (no float into an
    integer, nothing but bool into bool)."""
    a, b = to_dtype(from_), to_dtype(to)
    if a.is_floating_point and not b.is_floating_point:
        return False
    return b.name != "bool" or a.name == "bool"


def typename(obj: Any) -> str:
    """'torch.FloatTensor' and the like for a tensor, else the object's qualified type name."""
    if isinstance(obj, Tensor):
        return {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "int64": "torch.LongTensor",
                "bool": "torch.BoolTensor"}[obj.dtype.name]
    module = type(obj).__module__
    return (module + "." if module not in ("builtins", "__main__") else "") + type(obj).__qualname__


def is_nonzero(input: Tensor) -> builtins.bool:
    if input.numel() != 1:
        raise RuntimeError(f"Boolean value of Tensor with {'no values' if input.numel() == 0 else 'more than one value'}"
                           " is ambiguous")
    return builtins.bool(input.item() != 0)


_matmul_precision = "highest"
_deterministic = [False, False]


def set_float32_matmul_precision(precision: str) -> None:
    """Accepts 'highest', 'high' or 'medium', as PyTorch.  pyautodiff's float32 products
    always accumulate in full float32 (the 'highest' behaviour) whichever is set."""
    global _matmul_precision
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision!r}: expected 'highest', 'high' or 'medium'")
    _matmul_precision = precision


def get_float32_matmul_precision() -> str:
    return _matmul_precision


def use_deterministic_algorithms(mode: builtins.bool, *, warn_only: builtins.bool = False) -> None:
    """Records the flag.  Every pyautodiff kernel is already deterministic: results do not
    depend on the run or the thread count (fixed chunking, no atomics)."""
    _deterministic[0], _deterministic[1] = builtins.bool(mode), builtins.bool(warn_only)


def are_deterministic_algorithms_enabled() -> builtins.bool:
    return _deterministic[0]


def is_deterministic_algorithms_warn_only_enabled() -> builtins.bool:
    return _deterministic[1]


@contextlib.contextmanager
def autocast(device_type: str = "cpu", dtype: Any = None, enabled: builtins.bool = True,
             cache_enabled: Any = None) -> Iterator[None]:
    """torch.autocast: with enabled=False (the usual `enabled=use_amp` on a CPU run) the
    block runs as written.  Mixed precision itself is refused: pyautodiff has no float16
    or bfloat16."""
    if enabled and dtype not in (None, float32, float64):
        raise NotImplementedError(f"autocast to {dtype} is not supported: pyautodiff computes in float32 and "
                                  "float64 only (pass enabled=False)")
    if enabled and dtype is None:
        raise NotImplementedError("autocast: pyautodiff has no lower-precision dtype to cast to "
                                  "(float16/bfloat16); pass enabled=False")
    yield


class GradScaler:
    """torch.amp.GradScaler: scales the loss before backward and unscales the gradients
    before the optimizer step, skipping steps whose gradients are not finite and adapting
    the scale (growth_factor every growth_interval finite steps, backoff_factor after an
    overflow).  With enabled=False every method passes its argument through."""

    def __init__(self, device: str = "cpu", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: builtins.bool = True) -> None:
        self._enabled = enabled
        self._scale = builtins.float(init_scale)
        self._growth_factor, self._backoff_factor = growth_factor, backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._unscaled: set[int] = set()
        self._found_inf: dict[int, builtins.bool] = {}

    def is_enabled(self) -> builtins.bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def scale(self, outputs: Any) -> Any:
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        return type(outputs)(self.scale(o) for o in outputs)

    def unscale_(self, optimizer: Any) -> None:
        if not self._enabled:
            return
        if id(optimizer) in self._unscaled:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        from .autograd import no_grad

        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.grad.mul_(1.0 / self._scale)
                        found = found or not builtins.bool(p.grad.isfinite().all().item())
        self._unscaled.add(id(optimizer))
        self._found_inf[id(optimizer)] = found

    def step(self, optimizer: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        if self._found_inf.get(id(optimizer)):
            return None  # a non-finite gradient: this step is skipped
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: Any = None) -> None:
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = builtins.float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        elif any(self._found_inf.values()):
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        self._unscaled.clear()
        self._found_inf.clear()

    def state_dict(self) -> dict[str, Any]:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if self._enabled and state_dict:
            self._scale = builtins.float(state_dict["scale"])
            self._growth_factor = state_dict["growth_factor"]
            self._backoff_factor = state_dict["backoff_factor"]
            self._growth_interval = state_dict["growth_interval"]
            self._growth_tracker = state_dict["_growth_tracker"]
