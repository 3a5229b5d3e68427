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
import csv
import math
import os
import sys
import time
import warnings

__all__ = ["Callback", "EarlyStopping", "CSVLogger", "ProgressBar", "LearningRateScheduler",
           "ModelCheckpoint", "LambdaCallback"]


class Callback:
    """Base class with no-op hooks; override the ones you need."""

    def on_fit_start(self, trainer):
        pass

    def on_epoch_start(self, trainer, epoch):
        pass

    def on_batch_end(self, trainer, batch, logs):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_fit_end(self, trainer):
        pass


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda t, e, l: ...)``."""

    def __init__(self, on_fit_start=None, on_epoch_start=None, on_batch_end=None,
                 on_epoch_end=None, on_fit_end=None):
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

    def __init__(self, monitor="val_loss", patience=0, mode="auto", min_delta=0.0,
                 restore_best_weights=False, verbose=0):
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

    def on_fit_start(self, trainer):
        self._reset()

    def on_epoch_end(self, trainer, epoch, logs):
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

    def on_fit_end(self, trainer):
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

    def __init__(self, path, separator=",", append=False):
        self.path = os.fspath(path)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys = None

    def on_fit_start(self, trainer):
        exists = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        self._file = open(self.path, "a" if self.append else "w", newline="")
        self._keys = None
        self._header_written = exists

    def on_epoch_end(self, trainer, epoch, logs):
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

    def on_fit_end(self, trainer):
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


class ProgressBar(Callback):
    """Reports progress on stdout.

    ``trainer.verbose == 0``: silent.  ``verbose == 1``: only when stdout is a terminal —
    a per-batch tqdm bar per epoch when tqdm is installed, else one line per epoch.
    ``verbose >= 2``: one line per epoch, terminal or not (for log files).
    The Trainer adds one automatically when verbose > 0 and none is given.
    """

    def __init__(self, use_tqdm=None):
        self.use_tqdm = use_tqdm
        self._bar = None

    def _mode(self, trainer):
        v = getattr(trainer, "verbose", 1)
        if not v:
            return None
        if v >= 2:
            return "line"
        if not _isatty(sys.stdout):
            return None
        if self.use_tqdm is not False:
            try:
                import tqdm  # noqa: F401
                return "bar"
            except ImportError:
                pass
        return "line"

    def on_epoch_start(self, trainer, epoch):
        self._t0 = time.perf_counter()
        if self._mode(trainer) == "bar":
            from tqdm.auto import tqdm

            epochs = trainer.params.get("epochs")
            self._bar = tqdm(total=trainer.params.get("steps"), desc=f"Epoch {epoch + 1}/{epochs}",
                             file=sys.stdout, leave=True, dynamic_ncols=True)

    def on_batch_end(self, trainer, batch, logs):
        if self._bar is not None:
            self._bar.update(1)
            if batch % 10 == 0:
                self._bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)

    def on_epoch_end(self, trainer, epoch, logs):
        mode = self._mode(trainer)
        if self._bar is not None:
            self._bar.set_postfix_str(_format_logs(logs), refresh=True)
            self._bar.close()
            self._bar = None
        elif mode == "line":
            epochs = trainer.params.get("epochs")
            t = logs.get("epoch_time", time.perf_counter() - self._t0)
            print(f"Epoch {epoch + 1}/{epochs} - {t:.2f}s - {_format_logs(logs)}", file=sys.stdout, flush=True)

    def on_fit_end(self, trainer):
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

    def __init__(self, scheduler, interval="epoch", monitor=None):
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

    def on_epoch_start(self, trainer, epoch):
        if not hasattr(self.scheduler, "step"):
            lr = trainer.optimizer.param_groups[0]["lr"]
            _set_lr(trainer.optimizer, float(self.scheduler(epoch, lr)))

    def on_batch_end(self, trainer, batch, logs):
        if self.interval == "batch" and hasattr(self.scheduler, "step"):
            self._step(logs)

    def on_epoch_end(self, trainer, epoch, logs):
        if self.interval == "epoch" and hasattr(self.scheduler, "step"):
            self._step(logs)


class ModelCheckpoint(Callback):
    """Saves ``model.state_dict()`` with ``pyautodiff.save`` after each epoch (or only when
    `monitor` improves, with `save_best_only`).  `filepath` may contain ``{epoch}`` (from 1)
    and log keys, e.g. ``'ckpt-{epoch:02d}-{val_loss:.3f}.pt'``.

    Needs ``pyautodiff.save``; without it, fit raises NotImplementedError at start.
    """

    def __init__(self, filepath, monitor="val_loss", mode="auto", save_best_only=False):
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.save_best_only = save_best_only
        self.best = None

    @staticmethod
    def _save_fn():
        import pyautodiff

        if not hasattr(pyautodiff, "save"):
            raise NotImplementedError("ModelCheckpoint needs pyautodiff.save, which does not exist yet; "
                                      "save model.state_dict() yourself in a callback for now")
        return pyautodiff.save

    def on_fit_start(self, trainer):
        self._save_fn()
        self.best = None

    def on_epoch_end(self, trainer, epoch, logs):
        save = self._save_fn()
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(f"ModelCheckpoint: {self.monitor!r} is not in the logs; not saving",
                              RuntimeWarning, stacklevel=2)
                return
            better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
            if not better:
                return
            self.best = value
        save(trainer.model.state_dict(), self.filepath.format(epoch=epoch + 1, **logs))
