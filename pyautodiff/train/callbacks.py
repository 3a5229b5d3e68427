"""Callbacks for `pyautodiff.train.Trainer`.

Protocol
--------
A callback is any object with some of these methods (subclass `Callback` to get no-op
defaults for the rest).  The trainer calls them, in the order the callbacks were given:

``on_fit_start(trainer)``
    once, before the first epoch.
``on_epoch_start(trainer, epoch)``
    before each epoch (``epoch`` counts from 0).
``on_batch_end(trainer, batch, logs)``
    after each training step; ``logs`` holds ``'batch'``, ``'size'`` (samples in the
    batch), ``'loss'`` and the batch value of every metric.
``on_epoch_end(trainer, epoch, logs)``
    after training and validation of an epoch; ``logs`` holds ``'loss'``, the metrics,
    ``'val_'``-prefixed ones when there is validation data, ``'lr'`` (the learning rate
    used during the epoch) and ``'epoch_time'`` (seconds).
``on_fit_end(trainer)``
    once, after the last epoch (also after an early stop).

A callback stops training by setting ``trainer.stop_training = True``.  Set in
``on_epoch_end``, no further epoch starts; set in ``on_batch_end``, the epoch's training
stops after that batch (its logs cover the batches run; validation and ``on_epoch_end``
still happen).  Either way ``on_fit_end`` is then called.  ``trainer.model``, ``trainer.optimizer``, ``trainer.params``
(``{'epochs', 'steps'}``), ``trainer.history`` and ``trainer.verbose`` are available.
"""
from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Union

if TYPE_CHECKING:
    from .trainer import Trainer

__all__ = ["Callback", "EarlyStopping", "CSVLogger", "ProgressBar", "LearningRateScheduler",
           "ModelCheckpoint", "LambdaCallback"]


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    def on_fit_start(self, trainer: Trainer) -> None:
        pass

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        pass

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        pass

    def on_fit_end(self, trainer: Trainer) -> None:
        pass


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda t, e, l: ...)``."""

    def __init__(self, on_fit_start: Callable[[Trainer], Any] | None = None,
                 on_epoch_start: Callable[[Trainer, int], Any] | None = None,
                 on_batch_end: Callable[[Trainer, int, dict[str, Any]], Any] | None = None,
                 on_epoch_end: Callable[[Trainer, int, dict[str, Any]], Any] | None = None,
                 on_fit_end: Callable[[Trainer], Any] | None = None) -> None:
        for name, fn in (("on_fit_start", on_fit_start), ("on_epoch_start", on_epoch_start),
                         ("on_batch_end", on_batch_end), ("on_epoch_end", on_epoch_end),
                         ("on_fit_end", on_fit_end)):
            if fn is not None:
                setattr(self, name, fn)


def _resolve_mode(mode, monitor):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    return "max" if ("acc" in name or name.startswith("top") or name in ("auc", "f1", "precision", "recall")) \
        else "min"


def _clone_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved for `patience` epochs.

    An epoch improves when the value beats the best so far by more than `min_delta`
    (lower for mode 'min', higher for 'max'; 'auto' picks 'max' for accuracy-like names).
    Training stops after ``max(patience, 1)`` epochs in a row without improvement.  With
    `restore_best_weights`, a copy (cloned tensors) of the best epoch's `state_dict` is
    kept and loaded back into the model when training ends.  After fit, `stopped_epoch`
    is the epoch at which training stopped (None if it did not) and `best_epoch` the
    best one.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, mode: str = "auto", min_delta: float = 0.0,
                 restore_best_weights: bool = False, verbose: int = 0) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        self.monitor = monitor
        self.patience = int(patience)
        self.mode = _resolve_mode(mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.restore_best_weights = restore_best_weights
        self.verbose = verbose
        self._reset()

    def _reset(self):
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None

    def _improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_fit_start(self, trainer: Trainer) -> None:
        self._reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"EarlyStopping: monitored value {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(sorted(logs))}); skipping", RuntimeWarning, stacklevel=2)
            return
        value = float(value)
        if math.isnan(value):
            self.wait += 1
        elif self._improved(value) or self.best_epoch is None:
            self.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = _clone_state(trainer.model)
            return
        else:
            self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            trainer.stop_training = True

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            if self.verbose and trainer.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch + 1} "
                      f"({self.monitor} = {self.best:.6g})", file=sys.stdout)
        if self.stopped_epoch is not None and self.verbose and trainer.verbose:
            print(f"EarlyStopping: stopped at epoch {self.stopped_epoch + 1}", file=sys.stdout)


class CSVLogger(Callback):
    """Writes one row per epoch to a CSV file: ``epoch`` (from 0) then the logs' keys in
    sorted order (fixed by the first epoch).  `append=True` appends to an existing file
    (without a second header)."""

    def __init__(self, path: Union[str, os.PathLike[str]], separator: str = ",", append: bool = False) -> None:
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append
        self._file: Any = None  # the open CSV file, from on_fit_start
        self._writer: Any = None
        self._keys: Any = None

    def on_fit_start(self, trainer: Trainer) -> None:
        exists = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._keys = None
        self._header_written = exists

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if self._file is None:
            self.on_fit_start(trainer)
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.writer(self._file, delimiter=self.separator)
            if not self._header_written:
                self._writer.writerow(["epoch"] + self._keys)
                self._header_written = True
        self._writer.writerow([epoch] + [logs.get(k, "") for k in self._keys])
        self._file.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._file is not None:
            self._file.close()
        self._file = None
        self._writer = None


def _format_logs(logs, skip=("epoch_time",)):
    parts = []
    for k, v in logs.items():
        if k in skip:
            continue
        if k == "lr":
            parts.append(f"lr: {v:.3g}")
        elif isinstance(v, float):
            parts.append(f"{k}: {v:.4f}")
        else:
            parts.append(f"{k}: {v}")
    return " - ".join(parts)


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _have_tqdm():
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def _format_rate(rate):
    if rate >= 1e6:
        return f"{rate / 1e6:.2f}M samples/s"
    if rate >= 1e4:
        return f"{rate / 1e3:.1f}k samples/s"
    return f"{rate:.0f} samples/s"


def _format_values(logs, fmt, skip=("epoch_time", "lr")):
    return [f"{k}={v:{fmt}}" if isinstance(v, float) else f"{k}={v}" for k, v in logs.items() if k not in skip]


def _wrap_chunks(head, chunks, width, indent):
    """`head` then `chunks` joined by ', ', broken into lines of at most `width` columns
    between chunks (never inside one), continuation lines indented by `indent` spaces."""
    lines, line = [], head
    for i, chunk in enumerate(chunks):
        piece = chunk + ("," if i < len(chunks) - 1 else "")
        if len(line) + 1 + len(piece) > width and line.strip():
            lines.append(line)
            line = " " * indent + piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    return "\n".join(lines)


# The live bar: the postfix shows samples/s, so tqdm's own batches/s is left out (and so
# is the percentage, which the count says already), to leave room on an 80-column screen.
_BAR_FORMAT = "{desc} |{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]"
_DONE_FORMAT = "{desc} |{bar:10}| {n_fmt}/{total_fmt} [{elapsed}"


class ProgressBar(Callback):
    """Reports progress on stdout.

    ``trainer.verbose == 0``: silent.  ``verbose == 1``: only when stdout is a terminal —
    a live tqdm bar per epoch showing the running loss and metrics (means over the
    epoch's batches so far) and samples/s; when the epoch ends the bar stays on screen
    with the epoch's values, validation ones included (one plain line per epoch instead
    if tqdm cannot be imported, or with ``use_tqdm=False``).  ``verbose >= 2``: one line
    per epoch, terminal or not (for log files).

    The Trainer adds one automatically, as the first callback, when verbose > 0 and none
    is given, so that each epoch's bar is complete before other callbacks print.
    """

    def __init__(self, use_tqdm: bool | None = None) -> None:
        self.use_tqdm = use_tqdm
        self._bar = None
        self._reset_counters()

    def _reset_counters(self):
        self._t0 = time.perf_counter()
        self._t_last = self._t0
        self._seen = 0
        self._sums = {}

    def _mode(self, trainer):
        v = getattr(trainer, "verbose", 1)
        if not v:
            return None
        if v >= 2:
            return "line"
        if not _isatty(sys.stdout):
            return None
        if self.use_tqdm is not False and _have_tqdm():
            return "bar"
        return "line"

    def _rate(self):
        dt = self._t_last - self._t0
        return self._seen / dt if dt > 0 and self._seen else None

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self._reset_counters()
        if self._mode(trainer) == "bar":
            from tqdm import tqdm

            epochs = trainer.params.get("epochs")
            steps = trainer.params.get("steps")
            kw = {"bar_format": _BAR_FORMAT} if steps else {"unit": "batch"}
            self._bar = tqdm(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", file=sys.stdout,
                             leave=True, dynamic_ncols=True, **kw)

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        n = int(logs.get("size", 1))
        self._seen += n
        self._t_last = time.perf_counter()
        # Running means over the epoch so far, weighted by batch size.
        for k, v in logs.items():
            if k in ("batch", "size") or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            self._sums[k] = self._sums.get(k, 0.0) + float(v) * n
        if self._bar is not None:
            parts = _format_values({k: s / self._seen for k, s in self._sums.items()}, ".3f")
            rate = self._rate()
            if rate is not None:
                parts.append(_format_rate(rate))
            self._bar.set_postfix_str(", ".join(parts), refresh=False)
            self._bar.update(1)

    def _close_bar(self, logs):
        """Replaces the live bar by the epoch's final line: a 10-column bar, the count, the
        time and samples/s, then the epoch's logs (validation included), wrapped between
        values rather than cut when the terminal is narrow."""
        import shutil

        from tqdm import tqdm

        bar, self._bar = self._bar, None
        elapsed = bar.format_dict["elapsed"]
        desc = bar.desc
        if bar.total:
            head = tqdm.format_meter(bar.n, bar.total, elapsed, prefix=desc, ascii=bar.ascii,
                                     bar_format=_DONE_FORMAT)
        else:
            head = f"{desc} {bar.n} batches [{tqdm.format_interval(elapsed)}"
        rate = self._rate()
        head += f", {_format_rate(rate)}]" if rate is not None else "]"
        bar.leave = False
        bar.close()
        width = shutil.get_terminal_size((80, 24)).columns
        text = _wrap_chunks(head, _format_values(logs, ".4f"), width - 1, len(desc) + 1)
        print(text, file=sys.stdout, flush=True)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        mode = self._mode(trainer)
        if self._bar is not None:
            self._close_bar(logs)
        elif mode == "line":
            epochs = trainer.params.get("epochs")
            t = logs.get("epoch_time", time.perf_counter() - self._t0)
            rate = self._rate()
            speed = f" - {_format_rate(rate)}" if rate is not None else ""
            print(f"Epoch {epoch + 1}/{epochs} - {t:.2f}s{speed} - {_format_logs(logs)}", file=sys.stdout, flush=True)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _set_lr(optimizer, lr):
    for g in optimizer.param_groups:
        g["lr"] = lr


class LearningRateScheduler(Callback):
    """Steps a learning-rate scheduler.

    `scheduler` is any object with a ``step()`` method (a torch-style LR scheduler): it is
    stepped at the end of every epoch (``interval='epoch'``) or after every batch
    (``interval='batch'``).  With `monitor` (e.g. ``'val_loss'``), ``step(logs[monitor])``
    is called instead (for plateau schedulers).  A plain callable ``schedule(epoch, lr) ->
    new_lr`` (Keras style) is also accepted: it sets the learning rate of every parameter
    group at the start of each epoch.
    """

    def __init__(self, scheduler: Any, interval: str = "epoch", monitor: str | None = None) -> None:
        if interval not in ("epoch", "batch"):
            raise ValueError(f"interval must be 'epoch' or 'batch', got {interval!r}")
        if not hasattr(scheduler, "step") and not callable(scheduler):
            raise TypeError("LearningRateScheduler: expected an object with a .step() method "
                            f"or a callable schedule(epoch, lr), got {type(scheduler).__name__}")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor

    def _step(self, logs):
        if self.monitor is not None:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(f"LearningRateScheduler: {self.monitor!r} is not in the logs; not stepping",
                              RuntimeWarning, stacklevel=3)
                return
            self.scheduler.step(value)
        else:
            self.scheduler.step()

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if not hasattr(self.scheduler, "step"):
            lr = trainer.optimizer.param_groups[0]["lr"]
            _set_lr(trainer.optimizer, float(self.scheduler(epoch, lr)))

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        if self.interval == "batch" and hasattr(self.scheduler, "step"):
            self._step(logs)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        if self.interval == "epoch" and hasattr(self.scheduler, "step"):
            self._step(logs)


class _Fields(dict):
    """format_map mapping that names the missing field in its error."""

    def __missing__(self, key):
        raise KeyError(key)


class ModelCheckpoint(Callback):
    """Saves the model with ``pyautodiff.save`` (safetensors, written atomically) at the
    end of each epoch.

    filepath: a path, which may contain ``{epoch}`` (counting from 1) and any key of the
        epoch's logs with a format spec, e.g. ``'ckpt-{epoch:02d}-{val_loss:.3f}.safetensors'``.
        Missing directories are created.
    monitor, mode: the value that decides what is best (``'auto'`` picks 'max' for
        accuracy-like names, 'min' otherwise).
    save_best_only: save only when `monitor` beats the best value so far (with a fixed
        `filepath`, the file always holds the best model).
    save_weights_only: True (the default) saves ``model.state_dict()``, a flat
        ``{name: tensor}`` dict — reload it with
        ``model.load_state_dict(pyautodiff.load(path))`` (PyTorch reads it with
        ``safetensors.torch.load_file``).  False saves a resumable checkpoint
        ``{'model': model.state_dict(), 'optimizer': optimizer.state_dict(), 'epoch': epoch}``
        (``epoch`` from 1).
    verbose: 1 prints a line whenever a file is written.

    After fit, ``saved`` lists the paths written, in order, and ``best`` holds the best
    monitored value (with `save_best_only`).
    """

    def __init__(self, filepath: Union[str, os.PathLike[str]], monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = False, save_weights_only: bool = True, verbose: int = 0) -> None:
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.verbose = verbose
        self.best: float | None = None
        self.saved: list[str] = []

    def on_fit_start(self, trainer: Trainer) -> None:
        self.best = None
        self.saved = []

    def _path(self, epoch, logs):
        fields = _Fields(logs)
        fields["epoch"] = epoch + 1
        try:
            return self.filepath.format_map(fields)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: filepath {self.filepath!r} uses the field {{{e.args[0]}}}, "
                           f"which is not in the logs (available: epoch, {', '.join(sorted(logs))})") from None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        from ..serialization import save

        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(f"ModelCheckpoint: {self.monitor!r} is not in the logs "
                              f"(available: {', '.join(sorted(logs))}); not saving", RuntimeWarning, stacklevel=2)
                return
            value = float(value)
            if math.isnan(value):
                return
            if self.best is not None and not (value < self.best if self.mode == "min" else value > self.best):
                return
            previous, self.best = self.best, value
        path = self._path(epoch, logs)
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            obj: dict[str, Any] = trainer.model.state_dict()
        else:
            obj = {"model": trainer.model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
                   "epoch": epoch + 1}
        save(obj, path)
        self.saved.append(path)
        if self.verbose and getattr(trainer, "verbose", 1):
            why = ""
            if self.save_best_only:
                why = (f"{self.monitor} improved to {self.best:.6g}" if previous is None else
                       f"{self.monitor} improved from {previous:.6g} to {self.best:.6g}") + ", "
            print(f"Epoch {epoch + 1}: {why}saved the model to {path}", file=sys.stdout, flush=True)
