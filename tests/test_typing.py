"""The public API is annotated (issue 8: `py.typed` with type hints), and a typed user
program written against it passes mypy."""
import inspect
import os
import subprocess
import sys
import textwrap

import pytest

import pyautodiff as torch
import pyautodiff.autograd
import pyautodiff.nn
import pyautodiff.nn.functional
import pyautodiff.optim
import pyautodiff.optim.lr_scheduler
import pyautodiff.train
import pyautodiff.utils.data

NAMESPACES = [torch, pyautodiff.nn, pyautodiff.nn.functional, pyautodiff.nn.init, pyautodiff.nn.utils,
              pyautodiff.optim, pyautodiff.optim.lr_scheduler, pyautodiff.utils.data, pyautodiff.train,
              pyautodiff.autograd, pyautodiff.autograd.functional]

# Dunders whose signatures are fixed by the language (or object's, when not overridden).
_SKIP_DUNDERS = {"__init_subclass__", "__subclasshook__", "__class_getitem__"}


def _own_callables(cls):
    """(name, function) for the public methods, properties and dunders `cls` defines
    in pyautodiff (not those inherited from object / typing.Generic)."""
    for klass in cls.__mro__:
        if not klass.__module__.startswith("pyautodiff"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
                continue
            if name in _SKIP_DUNDERS:
                continue
            if isinstance(attr, property):
                yield f"{klass.__name__}.{name}", attr.fget
                if attr.fset is not None:
                    yield f"{klass.__name__}.{name}.setter", attr.fset
            elif isinstance(attr, (staticmethod, classmethod)):
                yield f"{klass.__name__}.{name}", attr.__func__
            elif inspect.isfunction(attr):
                yield f"{klass.__name__}.{name}", attr


def _public_callables():
    seen = set()
    for ns in NAMESPACES:
        for name in getattr(ns, "__all__", ()):
            obj = getattr(ns, name)
            if inspect.ismodule(obj) or id(obj) in seen:
                continue
            seen.add(id(obj))
            qual = f"{ns.__name__}.{name}"
            if inspect.isclass(obj):
                if not obj.__module__.startswith("pyautodiff"):
                    continue
                for sub, fn in _own_callables(obj):
                    if id(fn) not in seen:
                        seen.add(id(fn))
                        yield f"{ns.__name__}.{sub}", fn
            elif callable(obj):
                yield qual, obj
    for sub, fn in _own_callables(torch.Tensor):
        if id(fn) not in seen:
            seen.add(id(fn))
            yield f"Tensor.{sub}", fn


def _missing_annotations(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return []
    problems = []
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls"):
        params = params[1:]
    for p in params:
        if p.annotation is inspect.Parameter.empty:
            problems.append(f"parameter {p.name!r}")
    if sig.return_annotation is inspect.Signature.empty:
        problems.append("return")
    return problems


def test_public_callables_are_annotated():
    found = list(_public_callables())
    assert len(found) > 300, f"the walk found only {len(found)} callables; is it still finding the API?"
    offenders = [f"{name}: {', '.join(missing)}" for name, fn in found
                 for missing in [_missing_annotations(fn)] if missing]
    assert not offenders, "unannotated public API:\n" + "\n".join(offenders)


def test_the_walk_sees_an_unannotated_function():
    def f(x, y: int):
        return x

    assert _missing_annotations(f) == ["parameter 'x'", "return"]


def test_py_typed_marker_ships():
    assert os.path.isfile(os.path.join(os.path.dirname(torch.__file__), "py.typed"))


USER_PROGRAM = '''
from __future__ import annotations

import numpy as np

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
import pyautodiff.optim as optim
from pyautodiff.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self) -> None:
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 784)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


torch.manual_seed(0)
images = torch.rand(64, 1, 28, 28)
labels = torch.randint(0, 10, (64,))
trainloader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=True)

model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.01)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
total: float = 0.0
for epoch in range(2):
    for images_b, labels_b in trainloader:
        optimizer.zero_grad()
        outputs: torch.Tensor = model(images_b)
        loss: torch.Tensor = criterion(outputs, labels_b)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        total += loss.item()
    scheduler.step()
lrs: list[float] = scheduler.get_last_lr()

with torch.no_grad():
    logits = model(images)
    pred: torch.Tensor = logits.argmax(dim=1)
    accuracy: float = (pred == labels).float().mean().item()
    values, indices = logits.max(1)
    best: torch.Tensor = logits.max()
n: int = images.size(0)
shape: torch.Size = images.shape
dt: torch.dtype = images.dtype
arr: np.ndarray = images.numpy()
grad: torch.Tensor | None = model.fc1.weight.grad
probs = F.softmax(logits, dim=1)
y = torch.cat([probs, probs], dim=0).sum()
state: dict[str, torch.Tensor] = model.state_dict()
model.load_state_dict(state)
trained: Net = model.train(False)
'''

BAD_PROGRAM = '''
import pyautodiff as torch

x = torch.randn(3)
s: str = x.item()
'''

# The user program with one annotation made wrong: mypy must see through to item()'s type.
WRONG_USER_PROGRAM = USER_PROGRAM.replace("total: float = 0.0", "total: str = ''")


def _mypy(tmp_path, source, name):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / ".mypy_cache"))
    return subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "--strict-optional",
                           "--disallow-untyped-calls", "--no-incremental", "--follow-imports=silent",
                           "--config-file=", str(path)],
                          capture_output=True, text=True, cwd=str(tmp_path), env=env, timeout=600)


def test_typed_user_program_passes_mypy(tmp_path):
    pytest.importorskip("mypy")
    result = _mypy(tmp_path, USER_PROGRAM, "user_program.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_user_program_runs(tmp_path):
    path = tmp_path / "user_program.py"
    path.write_text(USER_PROGRAM)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("source, expected", [
    (BAD_PROGRAM, 'incompatible types in assignment (expression has type "int | float", variable has type "str")'),
    (WRONG_USER_PROGRAM, 'right operand is of type "int | float"'),
], ids=["item-to-str", "wrong-user-program"])
def test_mypy_catches_a_type_error_in_user_code(tmp_path, source, expected):
    """The checks above have teeth: item()'s type reaches user code."""
    pytest.importorskip("mypy")
    assert source != USER_PROGRAM
    result = _mypy(tmp_path, source, "bad_program.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert expected in result.stdout.lower(), result.stdout


def test_package_passes_mypy(tmp_path):
    """`mypy` with the project's [tool.mypy] settings finds no error in the package."""
    pytest.importorskip("mypy")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.isfile(os.path.join(root, "pyproject.toml")) or not os.path.isdir(os.path.join(root, "pyautodiff")):
        pytest.skip("not run from a source checkout")
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / ".mypy_cache"))
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "pyautodiff"],
                            capture_output=True, text=True, cwd=root, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
