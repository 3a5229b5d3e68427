"""pyautodiff.train: the Keras-style Trainer, its metrics and callbacks."""
import csv
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim
from pyautodiff.train import (MAE, RMSE, Accuracy, Callback, CSVLogger, EarlyStopping, History, LambdaCallback,
                              LearningRateScheduler, ModelCheckpoint, ProgressBar, TopKAccuracy, Trainer,
                              clip_grad_norm)
from pyautodiff.utils.data import DataLoader, TensorDataset


def blobs(n=240, seed=0):
    """Three well-separated Gaussian blobs in 4-d (float32 X, int64 y), as NumPy arrays."""
    rs = np.random.RandomState(seed)
    centers = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=np.float32)
    y = rs.randint(0, 3, size=n)
    X = (centers[y] + rs.randn(n, 4).astype(np.float32) * 0.6).astype(np.float32)
    return X, y.astype(np.int64)


def make_model():
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))


def tensors(X, y):
    return torch.from_numpy(X), torch.from_numpy(y)


def make_trainer(model=None, lr=0.1, **kw):
    model = model or make_model()
    kw.setdefault("verbose", 0)
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr), **kw)


def test_fit_reaches_accuracy_and_history_keys():
    X, y = blobs()
    Xv, yv = blobs(90, seed=1)
    torch.manual_seed(0)
    trainer = make_trainer(metrics=["accuracy", "top2"])
    hist = trainer.fit(tensors(X, y), epochs=8, val_data=tensors(Xv, yv), batch_size=16)
    assert hist.epoch == list(range(8))
    for k in ("loss", "accuracy", "top2_accuracy", "val_loss", "val_accuracy", "val_top2_accuracy",
              "lr", "epoch_time"):
        assert len(hist.history[k]) == 8, k
    assert hist.history["accuracy"][-1] >= 0.97
    assert hist.history["val_accuracy"][-1] >= 0.95
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert hist.history["lr"] == [0.1] * 8
    assert hist.history["val_top2_accuracy"][-1] >= hist.history["val_accuracy"][-1]
    res = trainer.evaluate(tensors(Xv, yv), batch_size=7)
    assert set(res) == {"loss", "accuracy", "top2_accuracy"}
    assert res["accuracy"] == pytest.approx(hist.history["val_accuracy"][-1])
    assert res["loss"] == pytest.approx(hist.history["val_loss"][-1], rel=1e-5)


def test_fit_matches_hand_written_loop_step_for_step():
    X, y = blobs(100)  # 100 = 6 * 16 + 4: a partial last batch
    ds = TensorDataset(*tensors(X, y))
    torch.manual_seed(3)
    model_a = make_model()
    model_b = make_model()
    model_b.load_state_dict({k: v.clone() for k, v in model_a.state_dict().items()})

    # Hand-written loop.
    torch.manual_seed(11)
    crit = nn.CrossEntropyLoss()
    opt = optim.SGD(model_b.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(ds, batch_size=16, shuffle=True)
    hand_batches, hand_epochs = [], []
    for _ in range(3):
        model_b.train()
        total, seen = 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = crit(model_b(xb), yb)
            loss.backward()
            opt.step()
            hand_batches.append(loss.item())
            total += loss.item() * xb.shape[0]
            seen += xb.shape[0]
        hand_epochs.append(total / seen)

    # Trainer.
    torch.manual_seed(11)
    got = []
    rec = LambdaCallback(on_batch_end=lambda t, b, logs: got.append((b, logs["size"], logs["loss"])))
    trainer = Trainer(model_a, nn.CrossEntropyLoss(), optim.SGD(model_a.parameters(), lr=0.05, momentum=0.9),
                      callbacks=[rec], verbose=0)
    hist = trainer.fit(DataLoader(ds, batch_size=16, shuffle=True), epochs=3)

    assert [g[2] for g in got] == hand_batches            # exact, step for step
    assert [g[1] for g in got] == [16] * 6 + [4] + [16] * 6 + [4] + [16] * 6 + [4]
    assert hist.history["loss"] == hand_epochs            # weighted by batch size, exact
    for (k, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert np.array_equal(a.numpy(), b.numpy()), k


def test_partial_last_batch_is_weighted():
    X, y = blobs(10)
    torch.manual_seed(0)
    trainer = make_trainer(metrics=["accuracy"])
    full = trainer.evaluate(tensors(X, y), batch_size=10)
    parts = trainer.evaluate(tensors(X, y), batch_size=4)      # batches of 4, 4, 2
    assert parts["loss"] == pytest.approx(full["loss"], rel=1e-6)
    assert parts["accuracy"] == pytest.approx(full["accuracy"])


def test_same_seed_same_history():
    X, y = blobs(120)
    Xv, yv = blobs(30, seed=2)

    def run():
        torch.manual_seed(123)
        trainer = make_trainer(metrics=["accuracy"])
        h = trainer.fit((X, y), epochs=3, val_data=(Xv, yv), batch_size=8)
        return {k: v for k, v in h.history.items() if k != "epoch_time"}, trainer.predict(X).numpy()

    (h1, p1), (h2, p2) = run(), run()
    assert h1 == h2
    assert np.array_equal(p1, p2)


def test_early_stopping_stops_and_restores_best_weights():
    X, y = blobs(120)
    Xv, yv = blobs(60, seed=1)
    torch.manual_seed(0)
    model = make_model()
    # A scripted monitor, injected by a callback that runs before EarlyStopping.
    fake = [1.0, 0.5, 0.7, 0.8, 0.9, 0.3, 0.2]
    snapshots = []

    class Inject(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            logs["score"] = fake[epoch]
            snapshots.append({k: v.clone() for k, v in trainer.model.state_dict().items()})

    es = EarlyStopping(monitor="score", patience=2, restore_best_weights=True)
    trainer = make_trainer(model, lr=0.2, callbacks=[Inject(), es])
    hist = trainer.fit((X, y), epochs=7, val_data=(Xv, yv), batch_size=16)
    assert hist.epoch == [0, 1, 2, 3]          # best at epoch 1, no improvement at 2 and 3
    assert es.stopped_epoch == 3 and es.best_epoch == 1 and es.best == 0.5
    for k, v in model.state_dict().items():
        assert np.array_equal(v.numpy(), snapshots[1][k].numpy()), k
        assert not np.array_equal(v.numpy(), snapshots[3][k].numpy()), k


def test_early_stopping_on_real_val_loss():
    X, y = blobs(120)
    torch.manual_seed(0)
    es = EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)  # nothing improves by 10
    hist = make_trainer(callbacks=[es]).fit((X, y), epochs=20, val_data=(X, y))
    assert len(hist.epoch) == 2 and es.stopped_epoch == 1
    assert EarlyStopping(monitor="val_accuracy").mode == "max"
    assert EarlyStopping(monitor="val_loss").mode == "min"


def test_verbose0_is_silent_and_verbose2_prints(capsys, monkeypatch):
    X, y = blobs(64)
    torch.manual_seed(0)
    make_trainer(metrics=["accuracy"], verbose=0).fit((X, y), epochs=2, val_data=(X, y))
    make_trainer(verbose=0, callbacks=[ProgressBar()]).fit((X, y), epochs=1)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    make_trainer(verbose=1).fit((X, y), epochs=1)          # not a terminal: quiet
    assert capsys.readouterr().out == ""
    make_trainer(metrics=["accuracy"], verbose=2).fit((X, y), epochs=2)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2") and "accuracy:" in lines[1]
    # verbose=1 on a terminal without tqdm (forced): one line per epoch.
    import pyautodiff.train.callbacks as cbmod
    monkeypatch.setattr(cbmod, "_isatty", lambda stream: True)
    make_trainer(verbose=1, callbacks=[ProgressBar(use_tqdm=False)]).fit((X, y), epochs=3)
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_evaluate_and_predict_shapes_and_inputs():
    X, y = blobs(50)
    torch.manual_seed(0)
    trainer = make_trainer(metrics=[Accuracy(), TopKAccuracy(3)])
    trainer.fit((X, y), epochs=1, batch_size=8)
    assert trainer.model.training                      # mode restored after fit
    for data in (X, (X,), (X, y), torch.from_numpy(X), TensorDataset(*tensors(X, y)),
                 DataLoader(TensorDataset(torch.from_numpy(X)), batch_size=7)):
        p = trainer.predict(data, batch_size=16)
        assert isinstance(p, torch.Tensor) and tuple(p.shape) == (50, 3)
        assert not p.requires_grad
    assert trainer.model.training
    # X as float64 NumPy is cast to the model's float32.
    p64 = trainer.predict(X.astype(np.float64))
    assert p64.dtype == torch.float32
    assert np.allclose(p64.numpy(), trainer.predict(X).numpy())
    res = trainer.evaluate((X.astype(np.float64), y), batch_size=16)
    assert set(res) == {"loss", "accuracy", "top3_accuracy"}
    assert res["top3_accuracy"] == 1.0
    assert math.isfinite(res["loss"])


def test_train_and_eval_modes():
    X, y = blobs(40)
    modes = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = make_model()

        def forward(self, x):
            modes.append((self.training, torch.is_grad_enabled()))
            return self.net(x)

    torch.manual_seed(0)
    model = Probe()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), verbose=0)
    model.eval()
    trainer.fit((X, y), epochs=1, val_data=(X, y), batch_size=20)
    assert modes == [(True, True), (True, True), (False, False), (False, False)]
    assert not model.training                          # back to the mode it had


def test_metrics_values():
    out = torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 5.0, 0.0], [0.0, 2.0, 1.0]])
    tgt = torch.tensor([0, 1, 1, 2])
    assert Accuracy()(out, tgt) == 0.5
    assert TopKAccuracy(2)(out, tgt) == 1.0
    assert TopKAccuracy(1)(out, tgt) == 0.5
    onehot = torch.tensor(np.eye(3, dtype=np.float32)[[0, 1, 1, 2]])
    assert Accuracy()(out, onehot) == 0.5
    assert Accuracy()(torch.tensor([0.9, 0.2, 0.6]), torch.tensor([1.0, 0.0, 0.0])) == pytest.approx(2 / 3)
    r = torch.tensor([[1.0], [2.0], [4.0]])
    t = torch.tensor([1.0, 3.0, 2.0])
    assert MAE()(r, t) == pytest.approx(1.0)
    m = RMSE()
    m.update(r[:2], t[:2])
    m.update(r[2:], t[2:])
    assert m.compute() == pytest.approx(math.sqrt(5 / 3))   # exact over batches, not a mean of roots


def test_regression_with_callable_metric_and_scheduler(tmp_path):
    rs = np.random.RandomState(0)
    X = rs.randn(64, 4).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype=np.float32)).astype(np.float32)

    class Halve:
        def __init__(self, opt):
            self.opt = opt

        def step(self):
            for g in self.opt.param_groups:
                g["lr"] *= 0.5

    def max_err(out, tgt):
        return (out - tgt).abs().max().item()

    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "log.csv"
    trainer = Trainer(model, nn.MSELoss(), opt, metrics=["mae", "rmse", max_err], scheduler=Halve(opt),
                      callbacks=[CSVLogger(path)], verbose=0)
    hist = trainer.fit((X, y), epochs=4, batch_size=16)
    assert hist.history["lr"] == [0.1, 0.05, 0.025, 0.0125]
    assert hist.history["rmse"][-1] < hist.history["rmse"][0]
    assert hist.history["loss"][-1] == pytest.approx(hist.history["rmse"][-1] ** 2, rel=1e-4)
    assert "max_err" in hist.history
    rows = list(csv.DictReader(open(path)))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert float(rows[2]["lr"]) == 0.025 and "val_loss" not in rows[0]


def test_lr_scheduler_callback_and_grad_clip():
    X, y = blobs(32)
    torch.manual_seed(0)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    norms = []

    class Probe(Callback):
        def on_batch_end(self, trainer, batch, logs):
            sq = sum(float((p.grad * p.grad).sum().item()) for p in model.parameters())
            norms.append(math.sqrt(sq))

    sched = LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, callbacks=[sched, Probe()], grad_clip=0.01, verbose=0)
    hist = trainer.fit((X, y), epochs=3, batch_size=8)
    assert hist.history["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert max(norms) <= 0.01 * (1 + 1e-4)
    with pytest.raises(ValueError):
        make_trainer(grad_clip=-1.0)
    # clip_grad_norm on its own.
    p = nn.Parameter(torch.tensor([3.0, 4.0]))
    p.grad = torch.tensor([3.0, 4.0])
    assert clip_grad_norm([p], 1.0) == pytest.approx(5.0)
    assert np.allclose(p.grad.numpy(), [0.6, 0.8], atol=1e-5)


def test_stop_training_from_batch_callback_and_errors():
    X, y = blobs(64)
    torch.manual_seed(0)

    def stop(trainer, batch, logs):
        if batch == 1:
            trainer.stop_training = True

    hist = make_trainer(callbacks=[LambdaCallback(on_batch_end=stop)]).fit((X, y), epochs=5, batch_size=8)
    assert hist.epoch == [0]
    with pytest.raises(ValueError, match="unknown metric"):
        make_trainer(metrics=["f2score"])
    with pytest.raises(TypeError):
        make_trainer().fit(42)


# ---- progress bar ------------------------------------------------------------------------
def test_progress_bar_on_a_terminal_shows_loss_metrics_and_speed(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    import pyautodiff.train.callbacks as cbmod
    monkeypatch.setattr(cbmod, "_isatty", lambda stream: True)
    X, y = blobs(96)
    torch.manual_seed(0)
    make_trainer(metrics=["accuracy"], verbose=1).fit((X, y), epochs=2, val_data=(X, y), batch_size=16)
    out = capsys.readouterr()
    assert out.err == ""
    assert "\r" in out.out                                 # a live bar, redrawn in place
    for part in ("Epoch 1/2 |", "Epoch 2/2 |", "6/6", "loss=", "accuracy=", "val_loss=", "val_accuracy=",
                 "samples/s"):
        assert part in out.out, part
    # verbose=0 writes nothing, even on a terminal.
    make_trainer(metrics=["accuracy"], verbose=0).fit((X, y), epochs=1, val_data=(X, y))
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose2_line_has_samples_per_second(capsys):
    X, y = blobs(64)
    torch.manual_seed(0)
    make_trainer(verbose=2).fit((X, y), epochs=1)
    line = capsys.readouterr().out.strip()
    assert line.startswith("Epoch 1/1 - ") and "samples/s" in line and "loss: " in line


# ---- checkpoints -------------------------------------------------------------------------
def assert_same_state(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k].numpy(), b[k].numpy()), k


def test_model_checkpoint_files_reload_into_an_equal_model(tmp_path):
    X, y = blobs(96)
    torch.manual_seed(0)
    model = make_model()
    snapshots = []
    snap = LambdaCallback(on_epoch_end=lambda t, e, l: snapshots.append(
        {k: v.clone() for k, v in t.model.state_dict().items()}))
    ck = ModelCheckpoint(tmp_path / "sub" / "ckpt-{epoch:02d}-{val_loss:.3f}.safetensors")
    hist = make_trainer(model, callbacks=[snap, ck]).fit((X, y), epochs=3, val_data=(X, y), batch_size=16)
    names = sorted(os.listdir(tmp_path / "sub"))
    assert names == [f"ckpt-{e + 1:02d}-{v:.3f}.safetensors" for e, v in enumerate(hist.history["val_loss"])]
    assert ck.saved == [str(tmp_path / "sub" / n) for n in names]
    for path, expected in zip(ck.saved, snapshots):
        fresh = make_model()                              # other random weights
        fresh.load_state_dict(torch.load(path))
        assert_same_state(fresh.state_dict(), expected)
    # The last file gives the trained model back: same predictions.
    fresh = make_model()
    fresh.load_state_dict(torch.load(ck.saved[-1]))
    with torch.no_grad():
        assert np.array_equal(fresh(torch.from_numpy(X)).numpy(), model(torch.from_numpy(X)).numpy())


def test_model_checkpoint_best_only(tmp_path):
    X, y = blobs(64)
    fake = [0.9, 0.5, 0.7, 0.4, 0.6]
    snapshots = []

    class Inject(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            logs["score"] = fake[epoch]
            snapshots.append({k: v.clone() for k, v in trainer.model.state_dict().items()})

    torch.manual_seed(0)
    best = ModelCheckpoint(tmp_path / "best.safetensors", monitor="score", save_best_only=True)
    each = ModelCheckpoint(tmp_path / "e{epoch}-{score:.1f}.safetensors", monitor="score", save_best_only=True)
    make_trainer(callbacks=[Inject(), best, each]).fit((X, y), epochs=5, batch_size=16)
    assert best.best == 0.4 and best.mode == "min"
    assert [os.path.basename(p) for p in each.saved] == ["e1-0.9.safetensors", "e2-0.5.safetensors",
                                                          "e4-0.4.safetensors"]
    assert sorted(os.listdir(tmp_path)) == ["best.safetensors", "e1-0.9.safetensors", "e2-0.5.safetensors",
                                            "e4-0.4.safetensors"]
    fresh = make_model()
    fresh.load_state_dict(torch.load(tmp_path / "best.safetensors"))
    assert_same_state(fresh.state_dict(), snapshots[3])       # the best epoch's weights, not the last
    # mode 'max' ('auto' for accuracy-like names) keeps the highest.
    assert ModelCheckpoint("x", monitor="val_accuracy").mode == "max"
    # A monitor that is not logged: a warning, no file.
    miss = ModelCheckpoint(tmp_path / "never.safetensors", save_best_only=True)   # val_loss, no val data
    with pytest.warns(RuntimeWarning, match="val_loss"):
        make_trainer(callbacks=[miss]).fit((X, y), epochs=1)
    assert not (tmp_path / "never.safetensors").exists()
    # A field the logs do not have: an error naming it.
    with pytest.raises(KeyError, match="val_acc"):
        make_trainer(callbacks=[ModelCheckpoint(tmp_path / "{val_acc}.st")]).fit((X, y), epochs=1)


def test_model_checkpoint_full_checkpoint_resumes(tmp_path):
    X, y = blobs(64)
    torch.manual_seed(0)
    model = make_model()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ck = ModelCheckpoint(tmp_path / "full.safetensors", save_weights_only=False)
    Trainer(model, nn.CrossEntropyLoss(), opt, callbacks=[ck], verbose=0).fit((X, y), epochs=2, batch_size=16)
    ckpt = torch.load(tmp_path / "full.safetensors")
    assert ckpt["epoch"] == 2
    model2 = make_model()
    opt2 = optim.SGD(model2.parameters(), lr=0.5)
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    assert_same_state(model2.state_dict(), model.state_dict())
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["momentum"] == 0.9
    # One more epoch from the checkpoint equals one more epoch of the original.
    for m, o in ((model, opt), (model2, opt2)):
        torch.manual_seed(5)
        Trainer(m, nn.CrossEntropyLoss(), o, verbose=0).fit((X, y), epochs=1, batch_size=16)
    assert_same_state(model2.state_dict(), model.state_dict())


# ---- plots -------------------------------------------------------------------------------
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_history_plot_writes_a_valid_png(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.image

    X, y = blobs(64)
    torch.manual_seed(0)
    hist = make_trainer(metrics=["accuracy", "top2"]).fit((X, y), epochs=3, val_data=(X, y), batch_size=16)
    assert [p[0] for p in hist._panels()] == ["loss", "accuracy", "top2_accuracy"]
    path = tmp_path / "curves.png"
    assert hist.plot(path) == path
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    img = matplotlib.image.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 300
    assert img.std() > 0.01                                 # not a blank image
    # A History filled by hand (a loop of one's own), validation only for accuracy.
    h = History()
    for e, (loss, acc) in enumerate([(1.0, 0.5), (0.6, 0.7)]):
        h.append(e, {"loss": loss, "val_accuracy": acc, "lr": 0.1})
    assert [(n, t is not None, v is not None) for n, t, v in h._panels()] == [("loss", True, False),
                                                                                ("accuracy", False, True)]
    h.plot(tmp_path / "own.png")
    assert (tmp_path / "own.png").read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(ValueError, match="nothing to plot"):
        History().plot(tmp_path / "empty.png")


def test_history_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    h = History()
    h.append(0, {"loss": 1.0})
    with pytest.raises(ImportError, match=r"pip install pyautodiff\[plot\]"):
        h.plot(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ---- the main example through the Trainer ------------------------------------------------
def run_example(args, cwd):
    """Runs the main example in a clean directory, so the installed package is imported;
    returns (stdout, per-epoch losses, test accuracy)."""
    out = subprocess.run([sys.executable, "-m", "pyautodiff.examples.mnist_mlp", *args],
                         capture_output=True, text=True, cwd=str(cwd), timeout=300)
    assert out.returncode == 0, out.stderr
    losses = [float(line.split("Loss:")[1]) for line in out.stdout.splitlines() if line.startswith("Epoch")]
    acc = float(out.stdout.split("Test accuracy:")[1].split()[0])
    return out, losses, acc


def test_mnist_example_with_trainer_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out, losses, acc = run_example(["--trainer", "--epochs", "3", "--lr", "0.05", "--plot", "curves.png"], tmp_path)
    assert "\r" not in out.stdout and out.stderr == ""     # not a terminal: no bar
    assert len(losses) == 3 and losses[2] < losses[0]
    assert acc > 0.8
    assert (tmp_path / "curves.png").read_bytes()[:8] == PNG_SIGNATURE
    # The hand-written loop, same seed: the same training, so the same test accuracy (its
    # printed loss is a mean over batches rather than samples, hence approx).
    # (In this process, to keep the test short.)
    from pyautodiff.examples.mnist_mlp import main
    main(["--epochs", "3", "--lr", "0.05", "--plot", str(tmp_path / "loop.png")])
    stdout = capsys.readouterr().out
    loop_losses = [float(line.split("Loss:")[1]) for line in stdout.splitlines() if line.startswith("Epoch")]
    assert float(stdout.split("Test accuracy:")[1].split()[0]) == acc
    assert loop_losses == pytest.approx(losses, abs=0.01)
    assert (tmp_path / "loop.png").read_bytes()[:8] == PNG_SIGNATURE
