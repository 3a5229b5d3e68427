"""torch.device, torch.cuda and torch.backends as seen from a CPU-only library: device
objects can name any PyTorch device type (so `torch.device("cuda" if
torch.cuda.is_available() else "cpu")` runs), but only the cpu holds tensors."""
from __future__ import annotations

import types
from typing import Any, Optional, Union

__all__ = ["device", "check_device", "cuda", "backends"]

# PyTorch's device types (torch/csrc: DeviceType), for its error on unknown names.
_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve", "fpga",
          "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone")


class device:
    """A device type and optional index: `device("cpu")`, `device("cuda:0")`,
    `device("cuda", 1)`; equal to another device with the same type and index."""

    __slots__ = ("_type", "_index")
    _type: str
    _index: Optional[int]

    def __init__(self, type: Union[str, device], index: Optional[int] = None) -> None:  # noqa: A002
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device")
            self._type, self._index = type._type, type._index
            return
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or a device, got {type.__class__.__name__}")
        name, sep, idx = type.partition(":")
        if name not in _TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_TYPES)} device type at start of device "
                               f"string: {type}")
        if sep:
            if index is not None:
                raise RuntimeError(f"device(): type (string) must not include an index because index "
                                   f"was passed explicitly: {type}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if index is not None and int(index) < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self._type = name
        self._index = None if index is None else int(index)

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self) -> Optional[int]:
        return self._index

    def __str__(self) -> str:
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self) -> str:
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self._type, self._index) == (other._type, other._index)

    def __hash__(self) -> int:
        return hash((self._type, self._index))

    def __reduce__(self) -> tuple[Any, ...]:
        return device, (self._type, self._index)


CPU = device("cpu")


def check_device(op: str, dev: Any) -> None:
    """Accepts None, "cpu", "cpu:0", device("cpu") (and 0-index cpu); anything else raises
    ValueError naming the op: pyautodiff holds tensors on the CPU only."""
    if dev is None:
        return
    try:
        d = dev if isinstance(dev, device) else device(dev)
    except (TypeError, RuntimeError) as e:
        raise ValueError(f"{op}: invalid device {dev!r} ({e})") from None
    if d.type != "cpu" or d.index not in (None, 0):
        raise ValueError(f"{op}: only the 'cpu' device exists in pyautodiff, got {dev!r}")


def _is_available() -> bool:
    return False


def _device_count() -> int:
    return 0


def _no_op_seed(seed: int) -> None:
    """Without a GPU there is no GPU generator to seed (PyTorch also ignores the call)."""


def _synchronize(device: Any = None) -> None:
    """Nothing runs asynchronously on the CPU."""


cuda = types.ModuleType("pyautodiff.cuda", "CUDA as a CPU-only library sees it: never available.")
cuda.is_available = _is_available  # type: ignore[attr-defined]
cuda.device_count = _device_count  # type: ignore[attr-defined]
cuda.manual_seed = _no_op_seed  # type: ignore[attr-defined]
cuda.manual_seed_all = _no_op_seed  # type: ignore[attr-defined]
cuda.synchronize = _synchronize  # type: ignore[attr-defined]


def _empty_cache() -> None:
    """No CUDA memory to release (PyTorch also does nothing without CUDA)."""


def _no_cuda(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("Torch not compiled with CUDA enabled (pyautodiff runs on the CPU only)")


cuda.empty_cache = _empty_cache  # type: ignore[attr-defined]
cuda.current_device = _no_cuda  # type: ignore[attr-defined]
cuda.get_device_name = _no_cuda  # type: ignore[attr-defined]

backends = types.ModuleType("pyautodiff.backends", "Backend switches: settable, without effect on the CPU.")
backends.cudnn = types.SimpleNamespace(deterministic=False, benchmark=False,  # type: ignore[attr-defined]
                                       enabled=True, is_available=_is_available)
backends.mps = types.SimpleNamespace(is_available=_is_available, is_built=_is_available)  # type: ignore[attr-defined]
