"""The Keras-style training loop: `Trainer(...).fit(...)`, `evaluate`, `predict`."""
from __future__ import annotations

import math
import numbers
import os
import time
from typing import IO, Any, Callable, Iterable, Sequence, TypeVar, Union

import numpy as np

from .._creation import as_tensor
from .._functions import cat, stack
from .._tensor import Tensor
from ..autograd import no_grad
from ..nn.modules.module import Module
from ..optim.optimizer import Optimizer
from ..utils.data import DataLoader, Dataset, TensorDataset
from .callbacks import LearningRateScheduler, ProgressBar
from .metrics import Metric, get_metric

__all__ = ["Trainer", "History", "clip_grad_norm"]

_P = TypeVar("_P", bound=Union[str, "os.PathLike[str]", IO[bytes]])


class History:
    """What `fit` returns: ``history`` maps each log key ('loss', 'accuracy', 'val_loss',
    'val_accuracy', 'lr', 'epoch_time', ...) to its list of per-epoch values, ``epoch`` is
    the list of epochs run (from 0), ``params`` holds ``{'epochs', 'steps'}``.

    A History can also be filled by hand, from a loop of your own, with
    ``append(epoch, {'loss': ..., 'accuracy': ...})``; ``plot(path)`` draws either kind.
    """

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []
        self.params = dict(params or {})

    def append(self, epoch: int, logs: dict[str, Any]) -> None:
        """Records one epoch's logs (a dict of per-epoch values)."""
        n = len(self.epoch)
        self.epoch.append(epoch)
        for k, v in logs.items():
            # A key that first shows up late (or goes missing) is padded with NaN so that every
            # list lines up with `epoch`.
            self.history.setdefault(k, [math.nan] * n).append(v)
        for k, vs in self.history.items():
            if len(vs) < n + 1:
                vs.append(math.nan)

    _append = append

    def __getitem__(self, key: str) -> list[Any]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"

    def _panels(self):
        """[(name, train values or None, val values or None)]: loss first, then each metric
        in the order it was logged; 'lr', 'epoch_time' and non-numeric keys are left out."""
        def numeric(vs):
            return all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in vs)

        names = []
        for k in self.history:
            base = k[4:] if k.startswith("val_") else k
            if base in ("lr", "epoch_time") or base in names or not numeric(self.history[k]):
                continue
            names.append(base)
        names.sort(key=lambda name: name != "loss")
        return [(name, self.history.get(name), self.history.get("val_" + name)) for name in names]

    def plot(self, path: _P, title: str | None = None) -> _P:
        """Writes a PNG (or any format matplotlib knows, chosen by the extension of `path`)
        with one panel for the loss and one per metric, each with its training and, when
        present, validation curve per epoch.  Uses matplotlib's Agg renderer directly (no
        window, and pyplot's state is left alone).  Returns `path`.

        Needs matplotlib: ``pip install pyautodiff[plot]``."""
        try:
            import matplotlib  # noqa: F401
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError as e:
            raise ImportError("History.plot needs matplotlib, which is not installed; "
                              "install it with: pip install pyautodiff[plot]") from e
        import os

        panels = self._panels()
        if not self.epoch or not panels:
            raise ValueError("History.plot: nothing to plot (no epoch with a loss or a metric was recorded)")
        x = [e + 1 for e in self.epoch]
        ncols = min(len(panels), 3)
        nrows = -(-len(panels) // ncols)
        fig = Figure(figsize=(5.2 * ncols, 3.9 * nrows), dpi=100)
        FigureCanvasAgg(fig)
        marker = "o" if len(x) <= 30 else None
        for i, (name, train, val) in enumerate(panels):
            ax = fig.add_subplot(nrows, ncols, i + 1)
            if train is not None:
                ax.plot(x, train, color="C0", marker=marker, markersize=4, label="train")
            if val is not None:
                ax.plot(x, val, color="C1", marker=marker, markersize=4, linestyle="--", label="validation")
            ax.set_title(name.replace("_", " "))
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
            ax.legend()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        # (hasattr does not narrow for mypy: only paths reach os.fspath)
        fmt = os.path.splitext(os.fspath(path))[1][1:].lower() if not hasattr(path, "write") else ""  # type: ignore[arg-type]
        fig.savefig(path, format=fmt or "png")
        return path
def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> float:
    """Scales the gradients of `parameters` in place so that their global L2 norm is at
    most `max_norm`; returns the norm before clipping (a float).  Tensor ops only: one
    reduction per parameter, one in-place scale per parameter."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    if float(norm_type) != 2.0:
        raise NotImplementedError(f"clip_grad_norm: only norm_type=2 is supported, got {norm_type}")
    max_norm = float(max_norm)
    with no_grad():
        grads = [g for g in (p.grad for p in parameters) if g is not None]
        if not grads:
            return 0.0
        sq = stack([(g.double() * g.double()).sum() for g in grads])
        total = math.sqrt(sq.sum().item())
        coef = max_norm / (total + 1e-6)
        if coef < 1.0:
            for g in grads:
                g.mul_(coef)
    return total


def _is_arraylike(x):
    return isinstance(x, (Tensor, np.ndarray))


def _to_tensor(x, float_dtype):
    """A Tensor from a Tensor (unchanged) or a NumPy array / list (floating arrays take the
    model's floating dtype, integer ones int64)."""
    if isinstance(x, Tensor):
        return x
    a = np.asarray(x)
    if a.dtype.kind == "f":
        t = as_tensor(np.ascontiguousarray(a))
        return t.to(float_dtype) if float_dtype is not None and t.dtype != float_dtype else t
    if a.dtype.kind in "iu":
        return as_tensor(np.ascontiguousarray(a.astype(np.int64)))
    return as_tensor(np.ascontiguousarray(a))


def _split_batch(batch):
    """(inputs tuple, targets or None) from a batch."""
    if isinstance(batch, Tensor):
        return (batch,), None
    if isinstance(batch, (tuple, list)):
        if len(batch) == 1:
            return (batch[0],), None
        if len(batch) >= 2:
            return tuple(batch[:-1]), batch[-1]
    raise TypeError("Trainer: a batch must be a Tensor or a tuple/list (inputs..., targets), "
                    f"got {type(batch).__name__}")


def _num_samples(inputs, targets):
    ref = targets if isinstance(targets, Tensor) and targets.ndim > 0 else inputs[0]
    return int(ref.shape[0]) if isinstance(ref, Tensor) and ref.ndim > 0 else 1


class Trainer:
    """Trains `model` with `loss_fn(outputs, targets)` and `optimizer`.

    metrics: Metric objects, string aliases ('accuracy', 'top5', 'mae', 'rmse') or
        callables ``fn(outputs, targets) -> float``.
    callbacks: objects following the protocol of `pyautodiff.train.callbacks`.
    scheduler: any object with ``.step()``, stepped once per epoch (after the epoch's
        logs are recorded, so ``history['lr']`` is the rate each epoch used).
    grad_clip: None, or a max global L2 norm of the gradients (clipped after backward,
        before the optimizer step).
    verbose: 0 silent, 1 progress when stdout is a terminal, 2 one line per epoch.

    Data (`train_data`, `val_data`, evaluate's and predict's `data`) may be a DataLoader
    (used as is), a Dataset (batched with `batch_size`), an ``(X, y)`` tuple of tensors or
    NumPy arrays (floating arrays are cast to the model's floating dtype), or, for
    predict, X alone.
    """

    def __init__(self, model: Module, loss_fn: Callable[[Any, Any], Tensor], optimizer: Optimizer,
                 metrics: Any = (), callbacks: Iterable[Any] = (), scheduler: Any = None,
                 grad_clip: float | None = None, verbose: int = 1) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        if isinstance(metrics, (str, Metric)) or (callable(metrics) and not isinstance(metrics, (list, tuple))):
            metrics = [metrics]
        self.metrics = [get_metric(m, i) for i, m in enumerate(metrics or ())]
        names = [m.name for m in self.metrics]
        dup = {n for n in names if names.count(n) > 1}
        if dup or "loss" in names:
            raise ValueError(f"Trainer: metric names must be unique and not 'loss', got {names}")
        if grad_clip is not None:
            if not isinstance(grad_clip, numbers.Real) or not grad_clip > 0:
                raise ValueError(f"Trainer: grad_clip must be a positive number (max gradient norm), got {grad_clip!r}")
        self.grad_clip = grad_clip
        self.scheduler = scheduler
        self.verbose = int(verbose)
        self.callbacks = list(callbacks or ())
        self._scheduler_cb = LearningRateScheduler(scheduler) if scheduler is not None else None
        self.stop_training = False
        self.history: History | None = None
        self.params: dict[str, Any] = {}

    # ---- data ---------------------------------------------------------------------
    def _float_dtype(self):
        for p in self.model.parameters():
            if p.dtype.is_floating_point:
                return p.dtype
        return None

    def _loader(self, data, batch_size, shuffle, inputs_only=False):
        if data is None:
            return None
        if isinstance(data, DataLoader):
            return data
        if isinstance(data, Dataset):
            return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
        if inputs_only and _is_arraylike(data):
            data = (data,)
        if isinstance(data, (tuple, list)) and data and all(_is_arraylike(d) for d in data):
            fdt = self._float_dtype()
            tensors = [_to_tensor(d, fdt) for d in data]
            return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle)
        if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, (tuple, list, str)):
            return DataLoader(data, batch_size=batch_size, shuffle=shuffle)
        if hasattr(data, "__iter__") and not isinstance(data, (str, tuple)):
            return data  # any re-iterable of batches
        raise TypeError("Trainer: data must be a DataLoader, a Dataset or an (X, y) tuple of tensors / "
                        f"NumPy arrays, got {type(data).__name__}")

    # ---- callbacks ----------------------------------------------------------------
    def _all_callbacks(self):
        cbs = list(self.callbacks)
        if self._scheduler_cb is not None:
            cbs.insert(0, self._scheduler_cb)
        if self.verbose > 0 and not any(isinstance(c, ProgressBar) for c in cbs):
            # First, so that an epoch's bar is closed before other callbacks print.
            cbs.insert(1 if self._scheduler_cb is not None else 0, ProgressBar())
        return cbs

    @staticmethod
    def _call(cbs, hook, *args):
        for cb in cbs:
            fn = getattr(cb, hook, None)
            if fn is not None:
                fn(*args)

    # ---- one pass -----------------------------------------------------------------
    def _new_metrics(self):
        import copy

        ms = [copy.copy(m) for m in self.metrics]
        for m in ms:
            m.reset()
        return ms

    def _forward(self, inputs, targets):
        outputs = self.model(*inputs)
        if targets is None:
            raise ValueError("Trainer: batches need targets to compute the loss (got inputs only)")
        return outputs, self.loss_fn(outputs, targets)

    def _run(self, loader, train, cbs=None):
        """One pass over `loader`: trains when `train`; returns {'loss', metric names}
        averaged over samples (batch values weighted by batch size)."""
        metrics = self._new_metrics()
        loss_sum, seen = 0.0, 0
        for i, batch in enumerate(loader):
            inputs, targets = _split_batch(batch)
            n = _num_samples(inputs, targets)
            if train:
                self.optimizer.zero_grad()
                outputs, loss = self._forward(inputs, targets)
                loss.backward()
                if self.grad_clip is not None:
                    clip_grad_norm([p for g in self.optimizer.param_groups for p in g["params"]],
                                   self.grad_clip)
                self.optimizer.step()
            else:
                outputs, loss = self._forward(inputs, targets)
            loss_value = loss.item()
            loss_sum += loss_value * n
            seen += n
            with no_grad():
                values = [m.update(outputs.detach(), targets) for m in metrics]
            if train and cbs:
                logs = {"batch": i, "size": n, "loss": loss_value}
                logs.update({m.name: v for m, v in zip(metrics, values)})
                self._call(cbs, "on_batch_end", self, i, logs)
                if self.stop_training:
                    break
        out = {"loss": loss_sum / seen if seen else math.nan}
        out.update({m.name: m.compute() for m in metrics})
        return out

    # ---- public API ---------------------------------------------------------------
    def fit(self, train_data: Any, epochs: int = 1, val_data: Any = None, batch_size: int = 32,
            shuffle: bool = True) -> History:
        """Trains for `epochs` epochs (fewer if a callback sets ``stop_training``); returns
        a History.  The model is in train mode while training, in eval mode under no_grad
        for validation, and back in the mode it had before when fit returns."""
        loader = self._loader(train_data, batch_size, shuffle)
        val_loader = self._loader(val_data, batch_size, False)
        try:
            steps = len(loader)
        except TypeError:
            steps = None
        self.params = {"epochs": epochs, "steps": steps, "batch_size": batch_size}
        self.history = History(self.params)
        self.stop_training = False
        was_training = self.model.training
        cbs = self._all_callbacks()
        try:
            self._call(cbs, "on_fit_start", self)
            for epoch in range(epochs):
                self._call(cbs, "on_epoch_start", self, epoch)
                t0 = time.perf_counter()
                lr = self._lr()
                self.model.train()
                logs = self._run(loader, True, cbs)
                if val_loader is not None:
                    self.model.eval()
                    with no_grad():
                        val = self._run(val_loader, False)
                    logs.update({"val_" + k: v for k, v in val.items()})
                if lr is not None:
                    logs["lr"] = lr
                logs["epoch_time"] = time.perf_counter() - t0
                self.history._append(epoch, logs)
                self._call(cbs, "on_epoch_end", self, epoch, logs)
                if self.stop_training:
                    break
            self._call(cbs, "on_fit_end", self)
        finally:
            self.model.train(was_training)
        return self.history

    def _lr(self):
        groups = getattr(self.optimizer, "param_groups", None)
        if groups and "lr" in groups[0]:
            return float(groups[0]["lr"])
        return None

    def evaluate(self, data: Any, batch_size: int = 32) -> dict[str, float]:
        """{'loss': ..., metric: ...} over `data`, in eval mode under no_grad."""
        loader = self._loader(data, batch_size, False)
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                return self._run(loader, False)
        finally:
            self.model.train(was_training)

    def predict(self, data: Any, batch_size: int = 32) -> Tensor:
        """The model's outputs over `data` (targets, if any, are ignored), concatenated
        along dim 0 into one Tensor; eval mode, no_grad."""
        loader = self._loader(data, batch_size, False, inputs_only=True)
        was_training = self.model.training
        self.model.eval()
        outs = []
        try:
            with no_grad():
                for batch in loader:
                    inputs, _ = _split_batch(batch)
                    outs.append(self.model(*inputs).detach())
        finally:
            self.model.train(was_training)
        if not outs:
            raise ValueError("Trainer.predict: no data")
        return cat(outs, 0)
