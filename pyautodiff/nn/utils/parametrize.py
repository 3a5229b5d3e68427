"""nn.utils.parametrize: a tensor of a module computed from parameters by modules of its
own (register_parametrization), as PyTorch: module.<name> becomes a property reading
module.parametrizations.<name>() — the chain of parametrizations applied to the original
(module.parametrizations.<name>.original, or original0, original1, ... when the first one's
right_inverse returns several tensors); assigning to it stores right_inverse(value)."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from ..._tensor import Tensor
from ...autograd import no_grad
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["register_parametrization", "remove_parametrizations", "is_parametrized", "cached",
           "type_before_parametrizations", "ParametrizationList"]

_cache_enabled = 0
_cache: dict[tuple[int, str], Tensor] = {}


@contextlib.contextmanager
def cached() -> Iterator[None]:
    """Within the block each parametrized tensor is computed once (and reused)."""
    global _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache.clear()


def _register(owner: Module, name: str, value: Tensor, like: Tensor) -> None:
    if isinstance(like, Parameter):
        owner.register_parameter(name, Parameter(value, like.requires_grad))
    else:
        owner.register_buffer(name, value)


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order to its original(s)."""

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        new: Any = original
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new is not original:
                with no_grad():
                    original.copy_(new)
            if isinstance(original, Parameter):
                self.register_parameter("original", original)
            else:
                self.register_buffer("original", original)
        else:
            for i, value in enumerate(new):
                _register(self, f"original{i}", value.detach().clone(), original)

    def right_inverse(self, value: Tensor) -> None:
        """Stores value: the inverse of each parametrization, last first, into the original(s)."""
        with no_grad():
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                elif not self.unsafe:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse.")
            if self.is_tensor:
                self.original.copy_(value)
            else:
                for i, v in enumerate(value):
                    getattr(self, f"original{i}").copy_(v)

    def forward(self) -> Tensor:
        items = list(self)
        if self.is_tensor:
            x = items[0](self.original)
        else:
            x = items[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in items[1:]:
            x = module(x)
        return x


def _inject_class(module: Module) -> None:
    cls = module.__class__

    def getstate(self: Any) -> Any:
        raise RuntimeError("Serialization of parametrized modules is only supported through state_dict().")

    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"__getstate__": getstate})


def _inject_property(module: Module, name: str) -> None:
    def get(self: Module) -> Tensor:
        plist = self.parametrizations[name]
        if _cache_enabled:
            key = (id(self), name)
            if key not in _cache:
                _cache[key] = plist()
            return _cache[key]
        return plist()

    def set_(self: Module, value: Tensor) -> None:
        self.parametrizations[name].right_inverse(value)

    setattr(module.__class__, name, property(get, set_))


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    plists = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(plists, ModuleDict):
        return False
    return len(plists) > 0 if tensor_name is None else tensor_name in plists


def type_before_parametrizations(module: Module) -> type:
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """module.<tensor_name> becomes parametrization(original) (chained after any earlier one)."""
    if is_parametrized(module, tensor_name):
        plist = module.parametrizations[tensor_name]
        if not unsafe:
            with no_grad():
                current = getattr(module, tensor_name)
                out = parametrization(current)
            if not isinstance(out, Tensor) or tuple(out.shape) != tuple(current.shape) or out.dtype != current.dtype:
                raise ValueError("Registering a parametrization may not change the shape or dtype of the tensor, "
                                 "unless `unsafe` flag is enabled.")
        plist.append(parametrization)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a parametrized element with "
                         f"name '{tensor_name}'")
    original = getattr(module, tensor_name)
    plist = ParametrizationList([parametrization], original, unsafe=unsafe)
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _inject_class(module)
        module.parametrizations = ModuleDict()
    module.parametrizations[tensor_name] = plist
    _inject_property(module, tensor_name)
    return module


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undoes register_parametrization: module.<tensor_name> becomes a plain parameter (or
    buffer) again, holding the parametrized value (or, with leave_parametrized=False, the
    original)."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    plist = module.parametrizations[tensor_name]
    if not plist.is_tensor and not leave_parametrized:
        raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
                         "parametrized in terms of a sequence of tensors.")
    like = plist.original if plist.is_tensor else plist.original0
    value = like
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name).detach()
            if plist.is_tensor and tuple(value.shape) == tuple(like.shape):  # kept in the original
                like.copy_(value)
                value = like
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    if value is like:
        if isinstance(like, Parameter):
            module.register_parameter(tensor_name, like)
        else:
            module.register_buffer(tensor_name, like)
    else:
        _register(module, tensor_name, value, like)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module
