"""pyautodiff.save / load: round trips of model and optimizer state dicts, interchange
with PyTorch through safetensors, atomic saves, and a battery of hostile files."""
import json
import math
import os
import struct

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim

pytest.importorskip("safetensors")


def _model():
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))


def _write_raw(path, header, data=b"", header_len=None):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(raw) if header_len is None else header_len
    path.write_bytes(struct.pack("<Q", n) + raw + data)
    return path


def test_model_state_dict_round_trip(tmp_path):
    model = _model()
    path = tmp_path / "model.safetensors"
    torch.save(model.state_dict(), path)
    loaded = torch.load(path)
    assert list(loaded) == list(model.state_dict())
    other = _model()
    other.load_state_dict(loaded)
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_zero_dim_tensors_keep_their_shape(tmp_path):
    # BatchNorm's num_batches_tracked is 0-d: a model holding one must reload.
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(torch.randn(5, 3))
    path = tmp_path / "bn.safetensors"
    torch.save(model.state_dict(), path)
    loaded = torch.load(path)
    assert loaded["1.num_batches_tracked"].shape == () and loaded["1.num_batches_tracked"].item() == 1
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    other.load_state_dict(loaded)
    assert other[1].num_batches_tracked.item() == 1
    torch.save({"s": torch.tensor(2.5, dtype=torch.float64), "a": np.array(3.0, dtype=np.float32)}, path)
    got = torch.load(path)
    assert got["s"].shape == () and got["s"].item() == 2.5 and got["s"].dtype == torch.float64
    assert got["a"].shape == () and got["a"].item() == 3.0


def test_optimizer_state_dict_round_trip(tmp_path):
    model = _model().double()
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(3, 4, dtype=torch.float64)).pow(2).sum().backward()
        opt.step()
    sd = opt.state_dict()
    torch.save(sd, tmp_path / "opt.safetensors")
    loaded = torch.load(tmp_path / "opt.safetensors")
    assert loaded["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert sorted(loaded["state"]) == [0, 1, 2, 3]  # int keys stay ints
    assert loaded["state"][0]["step"] == 2
    np.testing.assert_array_equal(loaded["state"][3]["exp_avg_sq"].numpy(), sd["state"][3]["exp_avg_sq"].numpy())
    clone = _model().double()
    clone.load_state_dict(model.state_dict())
    opt2 = optim.Adam(clone.parameters(), lr=0.5)
    opt2.load_state_dict(loaded)
    x = torch.randn(3, 4, dtype=torch.float64)
    for m, o in ((model, opt), (clone, opt2)):
        o.zero_grad()
        m(x).pow(2).sum().backward()
        o.step()
    for a, b in zip(model.parameters(), clone.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_plain_values_and_scheduler_state(tmp_path):
    obj = {"epoch": 3, "best": math.inf, "name": "run-1", "flags": [True, None, 2.5], "nested": {"a": {"b": 1}},
           "arr": np.arange(6, dtype=np.int64).reshape(2, 3), "mask": torch.tensor([True, False])}
    torch.save(obj, tmp_path / "x.safetensors")
    got = torch.load(tmp_path / "x.safetensors")
    assert got["epoch"] == 3 and got["best"] == math.inf and got["name"] == "run-1"
    assert got["flags"] == [True, None, 2.5] and got["nested"] == {"a": {"b": 1}}
    assert got["arr"].tolist() == [[0, 1, 2], [3, 4, 5]] and got["mask"].dtype == torch.bool
    sched = optim.lr_scheduler.ReduceLROnPlateau(optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1))
    torch.save(sched.state_dict(), tmp_path / "s.safetensors")
    assert torch.load(tmp_path / "s.safetensors") == sched.state_dict()


def test_save_rejects_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="cannot store a value of type object"):
        torch.save({"x": object()}, tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="same name 'a.b'"):
        torch.save({"a": {"b": torch.zeros(1)}, "a.b": torch.zeros(1)}, tmp_path / "b.safetensors")
    with pytest.raises(TypeError, match="dict keys"):
        torch.save({(1, 2): 1}, tmp_path / "c.safetensors")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    torch.save({"w": torch.ones(3)}, path)
    original = path.read_bytes()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        torch.save({"w": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # the temporary file is gone
    assert torch.load(path)["w"].tolist() == [1.0, 1.0, 1.0]


def test_pytorch_interchange(tmp_path, pt):
    from safetensors.torch import load_file, save_file

    ref = pt.nn.Sequential(pt.nn.Linear(4, 6), pt.nn.ReLU(), pt.nn.Linear(6, 2))
    save_file(ref.state_dict(), str(tmp_path / "torch.safetensors"))
    model = _model()
    model.load_state_dict(torch.load(tmp_path / "torch.safetensors"))
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(model(torch.tensor(x)).detach().numpy(), ref(pt.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # And the reverse: our file into PyTorch.
    model2 = _model()
    torch.save(model2.state_dict(), tmp_path / "ours.safetensors")
    ref.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    np.testing.assert_allclose(model2(torch.tensor(x)).detach().numpy(), ref(pt.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    # Other dtypes PyTorch writes are widened to ones pyautodiff holds.
    save_file({"h": pt.tensor([1.5, 2.0], dtype=pt.float16), "i": pt.tensor([1, -2], dtype=pt.int32)},
              str(tmp_path / "mixed.safetensors"))
    got = torch.load(tmp_path / "mixed.safetensors")
    assert got["h"].dtype == torch.float32 and got["h"].tolist() == [1.5, 2.0]
    assert got["i"].dtype == torch.int64 and got["i"].tolist() == [1, -2]
    # 0-d tensors both ways.
    save_file({"s": pt.tensor(3.0)}, str(tmp_path / "scalar.safetensors"))
    assert torch.load(tmp_path / "scalar.safetensors")["s"].shape == ()
    torch.save({"s": torch.tensor(4.0)}, tmp_path / "ours_scalar.safetensors")
    assert load_file(str(tmp_path / "ours_scalar.safetensors"))["s"].shape == ()


def _valid_entry(**overrides):
    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    entry.update(overrides)
    return entry


HOSTILE = [
    ("too_short", lambda p: p.write_bytes(b"\x01\x02"), "fewer than the 8"),
    ("empty", lambda p: p.write_bytes(b""), "fewer than the 8"),
    ("header_longer_than_file", lambda p: _write_raw(p, {"w": _valid_entry()}, b"\0" * 8, header_len=10**6),
     "larger than the rest of the file"),
    ("header_length_huge", lambda p: _write_raw(p, b"{}", header_len=2**64 - 1), "larger than the rest"),
    ("not_json", lambda p: _write_raw(p, b"{this is not json}"), "not valid JSON"),
    ("not_an_object", lambda p: _write_raw(p, b"[1, 2, 3]"), "not a JSON object"),
    ("not_utf8", lambda p: _write_raw(p, b"{\xff\xfe}"), "not UTF-8"),
    ("pickle_instead", lambda p: p.write_bytes(b"\x80\x04\x95" + b"\0" * 40), "larger than the rest"),
    ("duplicate_key", lambda p: _write_raw(p, b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                                              b'"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}',
                                           b"\0" * 8), "repeats a key"),
    ("nan_constant", lambda p: _write_raw(p, b'{"w": NaN}'), "non-JSON constant"),
    ("deep_nesting", lambda p: _write_raw(p, b"{" + b'"a":[' * 100000 + b"]" * 100000 + b"}"), "not valid JSON"),
    ("wrong_dtype", lambda p: _write_raw(p, {"w": _valid_entry(dtype="F33")}, b"\0" * 8), "unknown dtype 'F33'"),
    ("dtype_not_string", lambda p: _write_raw(p, {"w": _valid_entry(dtype=7)}, b"\0" * 8), "unknown dtype 7"),
    ("bf16", lambda p: _write_raw(p, {"w": _valid_entry(dtype="BF16", data_offsets=[0, 4])}, b"\0" * 4),
     "BF16, which pyautodiff cannot hold"),
    ("negative_shape", lambda p: _write_raw(p, {"w": _valid_entry(shape=[-2])}, b"\0" * 8), "invalid shape"),
    ("shape_not_ints", lambda p: _write_raw(p, {"w": _valid_entry(shape=["2"])}, b"\0" * 8), "invalid shape"),
    ("too_many_dims", lambda p: _write_raw(p, {"w": _valid_entry(shape=[1] * 9, data_offsets=[0, 4])}, b"\0" * 4),
     "9 dims"),
    ("missing_field", lambda p: _write_raw(p, {"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8),
     "exactly the fields"),
    ("extra_field", lambda p: _write_raw(p, {"w": _valid_entry(code="import os")}, b"\0" * 8), "exactly the fields"),
    ("offsets_out_of_range", lambda p: _write_raw(p, {"w": _valid_entry(data_offsets=[0, 800])}, b"\0" * 8),
     "outside the 8 bytes"),
    ("offsets_reversed", lambda p: _write_raw(p, {"w": _valid_entry(data_offsets=[8, 0])}, b"\0" * 8), "outside"),
    ("offsets_negative", lambda p: _write_raw(p, {"w": _valid_entry(data_offsets=[-8, 0])}, b"\0" * 8), "outside"),
    ("size_lies", lambda p: _write_raw(p, {"w": _valid_entry(shape=[3])}, b"\0" * 8), "needs 12 bytes"),
    ("huge_shape", lambda p: _write_raw(p, {"w": _valid_entry(shape=[2**62, 2**62])}, b"\0" * 8), "needs"),
    ("overlapping", lambda p: _write_raw(p, {"a": _valid_entry(), "b": _valid_entry(data_offsets=[4, 12])},
                                         b"\0" * 12), "overlap or leave a gap"),
    ("gap", lambda p: _write_raw(p, {"a": _valid_entry(data_offsets=[4, 12])}, b"\0" * 12), "overlap or leave a gap"),
    ("truncated_data", lambda p: _write_raw(p, {"a": _valid_entry(shape=[4], data_offsets=[0, 16])}, b"\0" * 8),
     "outside the 8 bytes"),
    ("trailing_bytes", lambda p: _write_raw(p, {"a": _valid_entry()}, b"\0" * 12), "cover 8 bytes"),
    ("metadata_not_strings", lambda p: _write_raw(p, {"__metadata__": {"a": 1}}), "__metadata__"),
    ("structure_not_json", lambda p: _write_raw(p, {"__metadata__": {"pyautodiff.structure": "{oops"}}),
     "not valid JSON"),
    ("structure_unknown_tensor", lambda p: _write_raw(p, {"__metadata__": {"pyautodiff.structure": json.dumps(
        {"version": 1, "tree": {"t": "missing"}})}}), "does not hold"),
    ("structure_unknown_kind", lambda p: _write_raw(p, {"__metadata__": {"pyautodiff.structure": json.dumps(
        {"version": 1, "tree": {"pickle": "cos\nsystem"}})}}), "unknown kind"),
    ("structure_bad_version", lambda p: _write_raw(p, {"__metadata__": {"pyautodiff.structure": json.dumps(
        {"version": 99, "tree": {"v": 1}})}}), "unknown version"),
    ("structure_too_deep", lambda p: _write_raw(p, {"__metadata__": {"pyautodiff.structure": json.dumps(
        {"version": 1, "tree": json.loads('{"l": [' * 80 + '{"v": 1}' + "]}" * 80)})}}), "nested more than"),
    ("structure_misses_tensor", lambda p: _write_raw(p, {"w": _valid_entry(), "__metadata__": {
        "pyautodiff.structure": json.dumps({"version": 1, "tree": {"d": []}})}}, b"\0" * 8), "not in its structure"),
]


@pytest.mark.parametrize("name,make,message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_are_rejected_clearly(tmp_path, name, make, message):
    path = tmp_path / f"{name}.safetensors"
    make(path)
    with pytest.raises(ValueError) as info:
        torch.load(path)
    assert str(path) in str(info.value) and message in str(info.value), str(info.value)


def test_truncations_of_a_real_file_are_all_rejected(tmp_path):
    path = tmp_path / "good.safetensors"
    torch.save({"model": _model().state_dict(), "epoch": 1}, path)
    data = path.read_bytes()
    bad = tmp_path / "bad.safetensors"
    for cut in sorted(set(list(range(0, 64)) + list(range(64, len(data), 97)) + [len(data) - 1])):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="bad.safetensors"):
            torch.load(bad)
    # A flipped byte in the header is rejected too, never misread.
    header_len = struct.unpack("<Q", data[:8])[0]
    rng = np.random.default_rng(0)
    for pos in rng.integers(8, 8 + header_len, 40):
        corrupted = bytearray(data)
        corrupted[pos] ^= 0x5A
        bad.write_bytes(bytes(corrupted))
        try:
            torch.load(bad)
        except ValueError as e:
            assert "bad.safetensors" in str(e)
