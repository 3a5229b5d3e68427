"""nn.Module: the base class of layers and models, as torch.nn.Module."""
from __future__ import annotations

import itertools
import warnings
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, NamedTuple, TypeVar

import numpy as np

from ..._ffi import ffi
from ..._tensor import Tensor
from ...autograd import no_grad
from ..parameter import Parameter

__all__ = ["Module", "RemovableHandle"]

_M = TypeVar("_M", bound="Module")

# The per-module hook stores (OrderedDicts keyed by a handle's id), created in __init__.
_HOOK_DICTS = ("_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_forward_hooks",
               "_forward_hooks_with_kwargs", "_forward_hooks_always_called")


class RemovableHandle:
    """Returned by Module.register_forward_hook / register_forward_pre_hook (as
    torch.utils.hooks.RemovableHandle): `remove()` unregisters the hook; it is also a
    context manager that removes the hook on exit.  It holds the module's hook dicts by
    weak reference, so it keeps no module alive.  (Tensor.register_hook returns the
    tensor-hook handle of pyautodiff._tensor, which has the same `remove()`.)"""

    __slots__ = ("id", "hooks_dict_ref", "extra_dict_ref", "__weakref__")
    _ids = itertools.count()

    def __init__(self, hooks_dict: OrderedDict[int, Any], *,
                 extra_dict: OrderedDict[int, Any] | list[OrderedDict[int, Any]] | None = None) -> None:
        self.id: int = next(RemovableHandle._ids)
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        extras = [] if extra_dict is None else extra_dict if isinstance(extra_dict, list) else [extra_dict]
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.remove()


if TYPE_CHECKING:
    class _IncompatibleKeys(NamedTuple):  # the shape of what load_state_dict returns
        missing_keys: list[str]
        unexpected_keys: list[str]


class Module:
    """Base class for models.  Assigning a Parameter or a Module as an attribute registers
    it; `parameters()`, `state_dict()`, `train()/eval()` and `zero_grad()` then see it."""

    training: bool = True
    _has_hooks: bool = False  # True on an instance once a forward (pre-)hook is registered
    # Set in __init__ through object.__setattr__ (annotations only):
    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _modules: OrderedDict[str, Module | None]
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]]
    _forward_pre_hooks_with_kwargs: OrderedDict[int, bool]
    _forward_hooks: OrderedDict[int, Callable[..., Any]]
    _forward_hooks_with_kwargs: OrderedDict[int, bool]
    _forward_hooks_always_called: OrderedDict[int, bool]

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        for name in _HOOK_DICTS:
            object.__setattr__(self, name, OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required \"forward\" function")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The hot path of every layer.  Attribute reads are slowish on a class with
        # __getattr__, so one flag (set by the register_*_hook methods, cleared by the
        # slow path once the hooks are all removed) stands for both hook dicts.
        if self._has_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """__call__ with forward pre-hooks and forward hooks, as PyTorch's Module._call_impl."""
        if not (self._forward_hooks or self._forward_pre_hooks):
            self.__dict__.pop("_has_hooks", None)  # (all removed: back to the fast path)
            return self.forward(*args, **kwargs)
        result = None
        called: set[int] = set()
        try:
            if self._forward_pre_hooks:
                pre_kwargs = self._forward_pre_hooks_with_kwargs
                for hook_id, hook in tuple(self._forward_pre_hooks.items()):
                    if hook_id in pre_kwargs:
                        new = hook(self, args, kwargs)
                        if new is not None:
                            if isinstance(new, tuple) and len(new) == 2:
                                args, kwargs = new
                            else:
                                raise RuntimeError("forward pre-hook must return None or a tuple of "
                                                   f"(new_args, new_kwargs), but got {new}.")
                    else:
                        new = hook(self, args)
                        if new is not None:
                            args = new if isinstance(new, tuple) else (new,)
            result = self.forward(*args, **kwargs)
            if self._forward_hooks:
                with_kwargs, always = self._forward_hooks_with_kwargs, self._forward_hooks_always_called
                for hook_id, hook in tuple(self._forward_hooks.items()):
                    if hook_id in always:
                        called.add(hook_id)
                    if hook_id in with_kwargs:
                        new = hook(self, args, kwargs, result)
                    else:
                        new = hook(self, args, result)
                    if new is not None:
                        result = new
            return result
        except Exception:
            # Hooks registered with always_call=True run even when forward (or another
            # hook) raised; their own errors are reported as warnings, and the original
            # exception propagates.
            always = self._forward_hooks_always_called
            for hook_id, hook in tuple(self._forward_hooks.items()):
                if hook_id in always and hook_id not in called:
                    try:
                        if hook_id in self._forward_hooks_with_kwargs:
                            new = hook(self, args, kwargs, result)
                        else:
                            new = hook(self, args, result)
                        if new is not None:
                            result = new
                    except Exception as e:
                        warnings.warn("module forward hook with ``always_call=True`` raised an exception "
                                      f"that was silenced as another error was raised in forward: {e}",
                                      stacklevel=2)
            raise

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in _HOOK_DICTS:  # (state saved before the hook dicts existed)
            self.__dict__.setdefault(name, OrderedDict())
        if self._forward_hooks or self._forward_pre_hooks:
            self.__dict__["_has_hooks"] = True

    # ---- hooks ----------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Registers hook(module, args) -> None or new args, called before forward (a
        result that is not a tuple is wrapped into a 1-tuple).  With with_kwargs=True it is
        hook(module, args, kwargs) -> None or (new_args, new_kwargs).  prepend=True runs it
        before the hooks already registered.  Returns a handle whose remove() unregisters it."""
        self._check_init()
        handle = RemovableHandle(self._forward_pre_hooks, extra_dict=self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        self.__dict__["_has_hooks"] = True
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                              with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
        """Registers hook(module, args, output) -> None or a new output, called after
        forward (with with_kwargs=True: hook(module, args, kwargs, output)).  prepend=True
        runs it before the hooks already registered; always_call=True runs it even when
        forward raises.  Returns a handle whose remove() unregisters it."""
        self._check_init()
        handle = RemovableHandle(self._forward_hooks, extra_dict=[self._forward_hooks_with_kwargs,
                                                                  self._forward_hooks_always_called])
        self._forward_hooks[handle.id] = hook
        self.__dict__["_has_hooks"] = True
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    # ---- registration ---------------------------------------------------------------
    def _check_init(self) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameters or modules before Module.__init__() call")

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if isinstance(value, Parameter):
            self._check_init()
            d["_buffers"].pop(name, None)
            d["_modules"].pop(name, None)
            d.pop(name, None)
            d["_parameters"][name] = value
        elif isinstance(value, Module):
            self._check_init()
            d["_parameters"].pop(name, None)
            d.pop(name, None)
            d["_modules"][name] = value
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            d["_parameters"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}'")
            d["_buffers"][name] = value
        elif "_modules" in d and name in d["_modules"] and value is None:
            d["_modules"][name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(store, ()):
                del self.__dict__[store][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        self._check_init()
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        self.__dict__["_parameters"][name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        self._check_init()
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self.__dict__["_buffers"][name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        self._check_init()
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self.__dict__["_modules"][name] = module

    register_module = add_module

    # ---- traversal ------------------------------------------------------------------
    def named_modules(self, memo: set[int] | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path `target` ("" is the module itself)."""
        mod: Module = self
        for item in target.split(".") if target else []:
            sub = mod._modules.get(item)
            if not isinstance(sub, Module):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            mod = sub
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path `target`."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        param = mod._parameters.get(name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter" if hasattr(mod, name) else
                                 f"{type(mod).__name__} has no attribute `{name}`")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path `target`."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers or mod._buffers[name] is None:
            raise AttributeError(f"`{name}` is not a buffer" if hasattr(mod, name) else
                                 f"{type(mod).__name__} has no attribute `{name}`")
        return mod._buffers[name]  # type: ignore[return-value]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, store: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Any]]:
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, m in modules:
            for name, v in getattr(m, store).items():
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- state ----------------------------------------------------------------------
    def state_dict(self, destination: dict[str, Tensor] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Tensor]:
        out: dict[str, Tensor] = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        skip = self.__dict__.get("_non_persistent", set())
        for name, b in self._buffers.items():
            if b is not None and name not in skip:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copies values into the existing parameters and buffers (cast to their dtype).
        Returns (missing_keys, unexpected_keys); with strict=True, any mismatch raises."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for k, target in own.items():
            if k not in state_dict:
                continue
            value = state_dict[k]
            if not isinstance(value, Tensor):
                from ..._creation import tensor

                value = tensor(np.asarray(value))
            if tuple(value.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {k}: copying a param with shape {tuple(value.shape)} "
                              f"from checkpoint, the shape in current model is {tuple(target.shape)}.")
        if strict and (missing or unexpected):
            if missing:
                errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for k, target in own.items():
                if k in state_dict:
                    value = state_dict[k]
                    if not isinstance(value, Tensor):
                        from ..._creation import tensor

                        value = tensor(np.asarray(value))
                    target.copy_(value)
        from collections import namedtuple

        # (mypy cannot follow a namedtuple made inline; _IncompatibleKeys describes it)
        return namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])(  # type: ignore[call-arg, return-value]
            missing, unexpected)

    # ---- modes and utilities --------------------------------------------------------
    def train(self: _M, mode: bool = True) -> _M:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self: _M) -> _M:
        return self.train(False)

    def requires_grad_(self: _M, requires_grad: bool = True) -> _M:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p._h.grad == ffi.NULL:  # (reading p.grad would wrap a handle first)
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g is not None:
                    g.zero_()

    def apply(self: _M, fn: Callable[[Module], None]) -> _M:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _convert(self: _M, fn: Callable[[Tensor], Tensor]) -> _M:
        with no_grad():
            for m in self.modules():
                for p in m._parameters.values():
                    if p is not None:
                        # The same Parameter object gets new data, so optimizers keep working.
                        new = fn(p).detach()
                        p._h = new.requires_grad_(p.requires_grad)._h
                for name, b in m._buffers.items():
                    if b is not None:
                        m._buffers[name] = fn(b)
        return self

    def to(self: _M, *args: Any, **kwargs: Any) -> _M:
        from ..._device import check_device
        from ..._dtype import dtype as dtype_cls

        dtype = kwargs.get("dtype")
        for a in args:
            if isinstance(a, dtype_cls):
                dtype = a
            else:
                check_device("to", a)
        check_device("to", kwargs.get("device"))
        if dtype is None:
            return self
        return self._convert(lambda t: t.to(dtype) if t.dtype.is_floating_point else t)

    def float(self: _M) -> _M:
        from ... import float32

        return self.to(float32)

    def double(self: _M) -> _M:
        from ... import float64

        return self.to(float64)

    def cpu(self: _M) -> _M:
        return self

    def cuda(self: _M, device: Any = None) -> _M:
        raise ValueError("cuda: only the 'cpu' device exists in pyautodiff")

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            child_lines.append(f"({name}): {sub}")
        main = type(self).__name__ + "("
        if len(extra_lines) == 1 and not child_lines:  # the one-line form of most layers
            main += extra_lines[0]
        elif extra_lines or child_lines:
            main += "\n  " + "\n  ".join(extra_lines + child_lines) + "\n"
        return main + ")"

    def __dir__(self) -> list[str]:
        return list(super().__dir__()) + list(self._parameters) + list(self._modules) + list(self._buffers)
