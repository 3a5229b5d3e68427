"""The text_classification and recommender examples, run in-process on small inputs."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import pyautodiff.nn as nn

pytestmark = pytest.mark.skipif(not hasattr(nn, "Embedding"), reason="nn.Embedding is not available")


def test_recommender_synthetic(capsys):
    from pyautodiff.examples import recommender

    assert recommender.main(["--epochs", "4"]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out
    last = out.strip().splitlines()[-1]
    test_rmse, baseline = float(last.split()[2]), float(last.split()[6].rstrip(","))
    assert test_rmse < 0.75 * baseline


@pytest.mark.parametrize("fmt", ["u.data", "ratings.csv"])
def test_recommender_movielens_formats(tmp_path, capsys, fmt):
    from pyautodiff.examples import recommender

    users, items, ratings = recommender.synthetic_ratings(1, n_users=80, n_items=60, n_ratings=2000)
    ratings = np.clip(np.round(ratings), 1, 5)
    path = tmp_path / fmt
    with open(path, "w") as f:
        if fmt == "ratings.csv":
            f.write("userId,movieId,rating,timestamp\n")
        sep = "," if fmt == "ratings.csv" else "\t"
        for u, i, r in zip(users, items, ratings):
            f.write(f"{u + 1}{sep}{i + 7}{sep}{r:g}{sep}881250949\n")
    assert recommender.main(["--data", str(path), "--epochs", "2"]) == 0
    assert "2000 ratings" in capsys.readouterr().out


def test_recommender_bad_file(tmp_path, capsys):
    from pyautodiff.examples import recommender

    bad = tmp_path / "ratings.csv"
    bad.write_text("a,b\n1,2\n")
    assert recommender.main(["--data", str(bad)]) == 2
    assert "expected a header" in capsys.readouterr().err


def test_text_classification_missing_fortunes(tmp_path, capsys):
    from pyautodiff.examples import text_classification

    assert text_classification.main(["--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "apt-get install fortunes" in err and "not found" in err


def test_text_classification_on_small_corpus(tmp_path, capsys):
    from pyautodiff.examples import text_classification

    rng = np.random.default_rng(0)
    words = {"cats": ["meow", "purr", "whiskers", "kitten", "claws"], "code": ["compile", "bug", "kernel", "python", "loop"]}
    for name, vocab in words.items():
        texts = [" ".join(rng.choice(vocab + ["the", "a", "of"], 8)) for _ in range(60)]
        (tmp_path / name).write_text("\n%\n".join(texts) + "\n%\n")
    assert text_classification.main(["--data", str(tmp_path), "--categories", "cats", "code", "--epochs", "6"]) == 0
    out = capsys.readouterr().out
    assert "120 fortunes in 2 categories" in out
    accuracy = float(out.strip().splitlines()[-1].split()[2])
    assert accuracy > 0.9


def test_source_checkout_uses_the_installed_core(tmp_path):
    """`pip install . && python -m pyautodiff.examples.mnist_mlp` in the repository root
    imports the sources (the current directory comes first on sys.path): their missing
    compiled core is taken from the installed package."""
    import shutil
    import subprocess

    import pyautodiff
    import pyautodiff._C as core

    src, site = tmp_path / "src", tmp_path / "site"
    package = Path(pyautodiff.__file__).parent
    shutil.copytree(package, src / "pyautodiff", ignore=shutil.ignore_patterns("_C.*", "__pycache__"))
    (site / "pyautodiff").mkdir(parents=True)
    shutil.copy(core.__file__, site / "pyautodiff")
    libs = package.parent / "pyautodiff.libs"  # a repaired wheel's vendored libgomp ($ORIGIN/../)
    if libs.is_dir():
        shutil.copytree(libs, site / "pyautodiff.libs")
    # (an editable install's import hook would find the development tree first: set aside)
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in "
            "(type(f).__module__ + repr(f)).lower()]; "
            "import pyautodiff, pyautodiff._C as c; print(pyautodiff.__file__); print(c.__file__); "
            "print((pyautodiff.ones(3) * 2).sum().item())")
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-c", code], cwd=src, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0].startswith(str(src)) and lines[1].startswith(str(site)) and lines[2] == "6.0"


def test_a_source_checkout_without_an_installed_core_says_so(monkeypatch):
    from pyautodiff import _ffi

    monkeypatch.setattr(sys, "path", [])
    with pytest.raises(ImportError, match=r"compiled core \(_C\) is not built: install the package first"):
        _ffi._installed_core()
