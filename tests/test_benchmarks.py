"""The mlp_step benchmark runs end to end (timing cut to one call per contender), and
its JAX contender is held to the thread count or left out with a reason."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
bench = pytest.importorskip("benchmarks.bench_mlp_step")


def test_mlp_step_table(monkeypatch):
    def once(fns):
        for fn in fns.values():
            fn()
        return {name: 1e-3 for name in fns}

    monkeypatch.setattr(bench, "timeit_interleaved", once)
    table = bench.main(["--batches", "4", "8"])
    assert [r[0] for r in table["rows"]] == ["4", "8"]
    assert table["header"][:4] == ["batch", "ours us", "numpy us", "vs numpy"]
    assert all(len(r) == len(table["header"]) for r in table["rows"])


def test_jax_is_skipped_when_it_cannot_match_the_thread_count(monkeypatch):
    monkeypatch.setattr(bench.os, "cpu_count", lambda: 4)
    jax, note = bench.import_jax(2)
    assert jax is None and note == "JAX skipped: XLA cannot be held to 2 of 4 cores"


def test_layers_table_runs(monkeypatch):
    layers = pytest.importorskip("benchmarks.bench_layers")

    def once(fns, **kwargs):
        for fn in fns.values():
            fn()
        return {name: 1e-3 for name in fns}

    common = pytest.importorskip("benchmarks.common")
    monkeypatch.setattr(common, "timeit_interleaved", once)  # (the suites time through common)
    table = layers.main([])
    assert [r[0].split()[0] for r in table["rows"]] == ["LSTM", "GRU", "RNN", "Transformer"]
    assert all(len(r) == len(table["header"]) for r in table["rows"])


def test_layout_table_runs(monkeypatch):
    ops = pytest.importorskip("benchmarks.bench_ops")
    seen = []

    def once(fns):
        results = {name: fn() for name, fn in fns.items()}
        ref = results.pop("numpy")  # every contender computes the same array
        for got in results.values():
            seen.append(got)
            assert (got.numpy() if hasattr(got, "numpy") else got).tolist() == ref.tolist()
        return {name: 1e-3 for name in fns}

    monkeypatch.setattr(ops, "timeit_interleaved", once)
    table = ops.layout([])
    assert [r[0].split()[0] for r in table["rows"]] == ["T.contiguous"] * 3 + ["permute(0,2,1,3)"] + ["where(mask,"] * 4
    assert seen and all(len(r) == len(table["header"]) for r in table["rows"])
