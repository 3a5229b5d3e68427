"""The one place that imports the compiled extension: re-exports `ffi` and `lib`, and
turns the core's status codes into Python exceptions."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn


def _installed_core() -> Any:
    """The compiled core of an installed pyautodiff, for this package when it is a source
    checkout without one: `pip install . && python -m pyautodiff.examples.mnist_mlp` run
    in the repository's root imports the sources (the current directory comes first on
    sys.path), whose `_C` was built into site-packages, not next to them."""
    import importlib.util

    here = Path(__file__).resolve().parent
    for entry in sys.path:
        pkg = Path(entry or ".").resolve() / "pyautodiff"
        if pkg == here or not pkg.is_dir():
            continue
        for so in sorted(pkg.glob("_C.*")):
            if so.suffix in (".so", ".pyd"):
                spec = importlib.util.spec_from_file_location(f"{__package__}._C", so)
                if spec and spec.loader:
                    module = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(module)
                    sys.modules[f"{__package__}._C"] = module
                    return module
    raise ImportError("pyautodiff's compiled core (_C) is not built: install the package first "
                      f"(pip install .); the sources in {here} have none of their own")


try:
    from ._C import ffi, lib
except ModuleNotFoundError as error:
    if error.name != f"{__package__}._C":
        raise
    _core = _installed_core()
    ffi, lib = _core.ffi, _core.lib

__all__ = ["ffi", "lib", "check", "raise_error"]

_EXCEPTIONS = {
    lib.PA_ERR_VALUE: ValueError,
    lib.PA_ERR_TYPE: TypeError,
    lib.PA_ERR_INDEX: IndexError,
    lib.PA_ERR_MEMORY: MemoryError,
    lib.PA_ERR_RUNTIME: RuntimeError,
}

_pending_callback_error: list[BaseException] = []


def raise_error(status: int) -> NoReturn:
    """Raises the exception for a non-zero status, with the core's message."""
    if status == lib.PA_ERR_CALLBACK and _pending_callback_error:
        raise _pending_callback_error.pop()
    message = ffi.string(lib.pa_last_error_message()).decode("utf-8", "replace")
    raise _EXCEPTIONS.get(status, RuntimeError)(message)


def check(status: int) -> None:
    """Raises if a core call failed (status != 0)."""
    if status:
        raise_error(status)
