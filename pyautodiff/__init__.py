"""pyautodiff: reverse-mode automatic differentiation on the CPU, with a C core and a
PyTorch-shaped API.  `import pyautodiff as torch` runs PyTorch programs that use what
pyautodiff covers.
"""
from __future__ import annotations

import builtins
from typing import Any

from . import _dtype
from ._creation import (arange, as_tensor, empty, empty_like, eye, from_numpy, full, full_like,
                        initial_seed, linspace, manual_seed, ones, ones_like, rand, rand_like, randint,
                        randn, randn_like, randperm, seed, tensor, zeros, zeros_like)
from ._device import backends, cuda, device
from ._dtype import (bfloat16, bool, dtype, float16, float32, float64, int8, int16, int32,  # noqa: A004
                     int64, uint8)
from ._ffi import lib as _lib
from ._legacy import BoolTensor, DoubleTensor, FloatTensor, LongTensor
from ._functions import *  # noqa: F401,F403
from ._functions import __all__ as _function_names
from ._ops_extra import *  # noqa: F401,F403
from ._ops_extra import __all__ as _extra_names
from ._aliases import *  # noqa: F401,F403
from ._aliases import __all__ as _alias_names
from ._ops_more import *  # noqa: F401,F403
from ._ops_more import __all__ as _more_names
from ._ops_gather import *  # noqa: F401,F403
from ._ops_gather import __all__ as _gather_names
from ._tensor import Size, Tensor
from ._generator import Generator, default_generator, get_rng_state, set_rng_state
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled

__version__ = "0.1.0"

float = float32  # noqa: A001
double = float64
long = int64
half = float16
short = int16
int = int32  # noqa: A001 - PyTorch's name (the functions below use builtins.int)


def set_num_threads(n: builtins.int) -> None:
    """Sets the number of OpenMP threads every parallel kernel may use."""
    if builtins.int(n) < 1:
        raise ValueError(f"set_num_threads: expected a positive number of threads, got {n}")
    _lib.pa_set_num_threads(builtins.int(n))


def get_num_threads() -> builtins.int:
    return builtins.int(_lib.pa_get_num_threads())


def set_flush_denormal(mode: builtins.bool) -> builtins.bool:
    """As torch.set_flush_denormal: with True, subnormal floats are read and written as
    zero (x86 FTZ + DAZ) in the calling thread and in the worker threads of its kernels,
    which avoids the CPU's slow path for them; False restores IEEE arithmetic.  Returns
    False, and changes nothing, on CPUs without such a mode.  NumPy calls made from the
    same thread are affected too (the mode belongs to the thread)."""
    return builtins.bool(_lib.pa_set_flush_denormal(1 if mode else 0))


def get_default_dtype() -> dtype:
    """float32: the dtype of Python floats and of creation functions without a dtype
    (pyautodiff has no set_default_dtype)."""
    return float32


def is_tensor(obj: Any) -> builtins.bool:  # (this module's `bool` is the dtype)
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> builtins.bool:
    return t.dtype.is_floating_point


from . import autograd, distributions, linalg, nn, optim, random, special, utils  # noqa: E402
from . import _linalg_decomp  # noqa: E402
from ._settings import (GradScaler as _GradScaler, are_deterministic_algorithms_enabled,  # noqa: E402
                        autocast, can_cast, finfo, get_float32_matmul_precision, iinfo, is_deterministic_algorithms_warn_only_enabled,
                        is_nonzero, promote_types, result_type, set_float32_matmul_precision, typename,
                        use_deterministic_algorithms)

import types as _types  # noqa: E402

amp = _types.ModuleType("pyautodiff.amp", "torch.amp: autocast (refused unless disabled) and GradScaler.")
amp.autocast = autocast  # type: ignore[attr-defined]
amp.GradScaler = _GradScaler  # type: ignore[attr-defined]
cuda.amp = _types.SimpleNamespace(autocast=autocast, GradScaler=_GradScaler)  # type: ignore[attr-defined]

import sys as _sys  # noqa: E402

_sys.modules[__name__ + ".cuda"] = cuda  # `import pyautodiff.cuda` as `import torch.cuda`
_sys.modules[__name__ + ".backends"] = backends
_sys.modules[__name__ + ".amp"] = amp
from .serialization import load, save  # noqa: E402

__all__ = ["Tensor", "Size", "dtype", "float32", "float64", "int64", "bool", "float", "double",
           "long", "uint8", "int8", "int16", "int32", "float16", "bfloat16", "half", "short", "int", "tensor", "as_tensor", "from_numpy", "empty", "zeros", "ones", "full", "arange",
           "linspace", "eye", "rand", "randn", "randint", "randperm", "zeros_like", "ones_like",
           "empty_like", "full_like", "rand_like", "randn_like", "manual_seed", "initial_seed",
           "seed", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "device", "cuda", "backends", "get_default_dtype",
           "set_num_threads", "get_num_threads", "set_flush_denormal", "is_tensor",
           "is_floating_point", "autograd", "nn", "optim", "utils", "save", "load",
           "FloatTensor", "DoubleTensor", "LongTensor", "BoolTensor", "det", "inverse", "cholesky", "cholesky_solve", "cholesky_inverse", "qr", "svd", "pinverse",
           "slogdet", "logdet", "cross", "linalg", "special", "random", "distributions",
           "Generator", "default_generator", "get_rng_state", "set_rng_state", "compile",
           "finfo", "iinfo", "result_type", "promote_types", "can_cast", "typename", "is_nonzero",
           "set_float32_matmul_precision", "get_float32_matmul_precision", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled", "autocast", "amp"] + list(_function_names) + list(_extra_names) + list(_alias_names) + list(_more_names) + list(_gather_names)


def det(input: Tensor) -> Tensor:
    return linalg.det(input)


def inverse(input: Tensor) -> Tensor:
    return linalg.inv(input)


def cholesky(input: Tensor, upper: builtins.bool = False) -> Tensor:
    """torch.cholesky (deprecated in PyTorch for linalg.cholesky, same result)."""
    return linalg.cholesky(input, upper=upper)


def cholesky_solve(input: Tensor, input2: Tensor, upper: builtins.bool = False) -> Tensor:
    return _linalg_decomp.cholesky_solve(input, input2, upper)


def cholesky_inverse(input: Tensor, upper: builtins.bool = False) -> Tensor:
    return _linalg_decomp.cholesky_inverse(input, upper)


def qr(input: Tensor, some: builtins.bool = True) -> Any:
    """torch.qr: (Q, R), reduced unless some=False."""
    return linalg.qr(input, mode="reduced" if some else "complete")


def svd(input: Tensor, some: builtins.bool = True, compute_uv: builtins.bool = True) -> Any:
    """torch.svd: (U, S, V) with V, not V^T."""
    return _linalg_decomp.svd_legacy(input, some, compute_uv)


def pinverse(input: Tensor, rcond: builtins.float = 1e-15) -> Tensor:
    return linalg.pinv(input, rtol=rcond)


def slogdet(input: Tensor) -> Any:
    return linalg.slogdet(input)


def logdet(input: Tensor) -> Tensor:
    return _linalg_decomp.logdet(input)


def cross(input: Tensor, other: Tensor, dim: builtins.int | None = None) -> Tensor:
    """The cross product along dim (default: the first dim of size 3, as torch.cross)."""
    if dim is None:
        dim = next((d for d, n in enumerate(input.shape) if n == 3), -1)
    return linalg.cross(input, other, dim=dim)


def compile(model: Any = None, *, fullgraph: builtins.bool = False, dynamic: Any = None,  # noqa: A001
            backend: Any = "inductor", mode: Any = None, options: Any = None, disable: builtins.bool = False) -> Any:
    """torch.compile: returns `model` itself (usable as a decorator, with or without
    arguments).  pyautodiff runs every op eagerly in its C core; there is no graph compiler,
    and compiling must not change results, so the model runs as written."""
    if model is None:
        return lambda fn: fn
    return model
