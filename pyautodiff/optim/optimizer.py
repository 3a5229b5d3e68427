"""The Optimizer base class: parameter groups, per-parameter state, zero_grad and
state_dict, as torch.optim.Optimizer."""
from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, TypeVar, Union

from .._creation import zeros_like
from .._ffi import ffi
from .._tensor import Tensor

__all__ = ["Optimizer"]

_T = TypeVar("_T")
# What an optimizer takes: tensors, or parameter groups (dicts with a "params" entry).
ParamsT = Union[Iterable[Tensor], Iterable[dict[str, Any]]]


def handles(tensors: Iterable[Tensor]) -> Any:
    """A `pa_tensor *[]` of the tensors' C handles, for a fused update call."""
    return ffi.new("pa_tensor *[]", [t._h for t in tensors])


def zero_state(state: dict[str, Any], names: Iterable[tuple[str, Tensor]]) -> dict[str, Any]:
    """Creates each missing buffer in `names` as zeros like the parameter (and the step
    count) in one parameter's state dict; returns the dict."""
    for name, like in names:
        if name not in state:
            state.setdefault("step", 0)
            state[name] = zeros_like(like.detach())
    return state


def check_non_negative(*checks: tuple[str, float]) -> None:
    """PyTorch's ValueError ("Invalid <what>: <value>") for the first value below zero."""
    for what, value in checks:
        if value < 0.0:
            raise ValueError(f"Invalid {what}: {value}")


def params_with_grad(group: dict[str, Any]) -> list[Tensor]:
    """The parameters of a group that have a gradient (the ones a step updates)."""
    return [p for p in group["params"] if p._h.grad != ffi.NULL]


class _Required:
    def __repr__(self) -> str:
        return "<required parameter>"


required: Any = _Required()  # a stand-in for any required value (typed Any so `lr: float = required` checks)


class Optimizer:
    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors "
                            f"or dicts, but got {type(params).__name__}")
        groups: list[Any] = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        group = dict(group)
        ps = group["params"]
        group["params"] = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in group["params"]:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            group.setdefault(k, v)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p._h.grad == ffi.NULL:  # (reading p.grad would wrap a handle first)
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.zero_()

    def state_dict(self) -> dict[str, Any]:
        """{'state': {index: {name: value}}, 'param_groups': [{..., 'params': [indices]}]}."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {index[id(p)]: s for p, s in ((p, self.state[p]) for g in self.param_groups
                                              for p in g["params"] if p in self.state)}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        params = [p for g in self.param_groups for p in g["params"]]
        for g, saved in zip(self.param_groups, groups):
            if len(g["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 "the size of optimizer's group")
        by_index: dict[int, Tensor] = {}
        for g, saved in zip(self.param_groups, groups):
            for p, i in zip(g["params"], saved["params"]):
                by_index[int(i)] = p
            for k, v in saved.items():
                if k != "params":
                    g[k] = v
        self.state = {}
        from .._creation import tensor

        for i, s in state_dict["state"].items():
            p = by_index[int(i)]
            restored: dict[str, Any] = {}
            for k, v in s.items():
                if k == "step":
                    # A step count: a number here, a 0-dim tensor in PyTorch's state dicts.
                    restored[k] = int(float(v))
                    continue
                if isinstance(v, Tensor):
                    v = v.detach().clone().to(p.dtype) if v.dtype.is_floating_point else v.detach().clone()
                elif hasattr(v, "shape") and hasattr(v, "dtype"):
                    v = tensor(v, dtype=p.dtype)
                restored[k] = copy.deepcopy(v) if not isinstance(v, Tensor) else v
            self.state[p] = restored
        del params

    def step(self, closure: Callable[[], _T] | None = None) -> _T | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in g if k != "params"):
                lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)
