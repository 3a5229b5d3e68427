"""nn.utils.rnn packing (PackedSequence, pack_padded_sequence, pad_packed_sequence, ...)
and the recurrent layers over packed input: layouts against a NumPy model of the packing,
values and gradients against PyTorch, gradients against finite differences, errors."""
import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
from pyautodiff.autograd import gradcheck
from pyautodiff.nn.utils.rnn import (PackedSequence, invert_permutation, pack_padded_sequence,
                                     pack_sequence, pad_packed_sequence, pad_sequence, unpack_sequence,
                                     unpad_sequence)


def packed_reference(x, lengths):
    """(data, batch_sizes) of time-major x (T, B, F) whose columns are sorted longest first."""
    sizes = [int(sum(n > t for n in lengths)) for t in range(max(lengths))]
    return np.concatenate([x[t, :n] for t, n in enumerate(sizes)]), sizes


def test_pack_padded_sequence_layout_and_round_trip():
    x = np.random.randn(5, 3, 2).astype(np.float32)
    lengths = [5, 3, 2]
    p = pack_padded_sequence(torch.tensor(x), lengths)
    data, sizes = packed_reference(x, lengths)
    assert isinstance(p, PackedSequence) and isinstance(p, tuple)
    np.testing.assert_array_equal(p.data.numpy(), data)
    assert p.batch_sizes.tolist() == sizes == [3, 3, 2, 1, 1] and p.batch_sizes.dtype == torch.int64
    assert p.sorted_indices is None and p.unsorted_indices is None
    padded, lens = pad_packed_sequence(p)
    mask = np.arange(5)[:, None] < np.array(lengths)[None, :]
    np.testing.assert_array_equal(padded.numpy(), np.where(mask[..., None], x, 0))
    assert lens.tolist() == lengths
    padded, _ = pad_packed_sequence(p, batch_first=True, padding_value=-1.0, total_length=7)
    assert tuple(padded.shape) == (3, 7, 2)
    np.testing.assert_array_equal(padded.numpy()[1, 3:], -1)
    np.testing.assert_array_equal(padded.numpy()[0, :5], x[:, 0])


def test_unsorted_batch_is_sorted_stably_and_restored():
    x = np.random.randn(5, 5, 4).astype(np.float32)           # batch_first: (B, T, F)
    lengths = torch.tensor([3, 5, 3, 5, 2])
    p = pack_padded_sequence(torch.tensor(x), lengths, batch_first=True, enforce_sorted=False)
    assert p.sorted_indices.tolist() == [1, 3, 0, 2, 4]        # longest first, ties in order
    assert p.unsorted_indices.tolist() == [2, 0, 3, 1, 4]
    assert invert_permutation(p.sorted_indices).tolist() == p.unsorted_indices.tolist()
    order = [1, 3, 0, 2, 4]
    data, sizes = packed_reference(x[order].transpose(1, 0, 2), [5, 5, 3, 3, 2])
    np.testing.assert_array_equal(p.data.numpy(), data)
    assert p.batch_sizes.tolist() == sizes
    seqs = unpack_sequence(p)
    for s, xi, n in zip(seqs, x, lengths.tolist()):
        np.testing.assert_array_equal(s.numpy(), xi[:n])
    padded, lens = pad_packed_sequence(p, batch_first=True)
    assert lens.tolist() == [3, 5, 3, 5, 2]
    np.testing.assert_array_equal(padded.numpy()[0, :3], x[0, :3])


def test_pack_sequence_unpad_sequence_and_gradients_flow_through_packing():
    a = torch.randn(4, 2, requires_grad=True)
    b = torch.randn(2, 2, requires_grad=True)
    p = pack_sequence([b, a], enforce_sorted=False)
    assert p.batch_sizes.tolist() == [2, 2, 1, 1]
    (p.data * torch.arange(12.0).reshape(6, 2)).sum().backward()
    # a is sequence 0 after sorting: its rows sit at 0, 2, 4, 5 of the packed data
    np.testing.assert_array_equal(a.grad.numpy(), np.arange(12.0).reshape(6, 2)[[0, 2, 4, 5]])
    np.testing.assert_array_equal(b.grad.numpy(), np.arange(12.0).reshape(6, 2)[[1, 3]])
    padded = pad_sequence([a.detach(), b.detach()], batch_first=True)
    parts = unpad_sequence(padded, [4, 2], batch_first=True)
    np.testing.assert_array_equal(parts[1].numpy(), b.detach().numpy())
    parts = unpad_sequence(pad_sequence([a.detach(), b.detach()]), torch.tensor([4, 2]))
    np.testing.assert_array_equal(parts[0].numpy(), a.detach().numpy())


def test_packed_sequence_construction_and_conversion():
    p = pack_sequence([torch.ones(3, 2), torch.ones(1, 2)])
    q = PackedSequence((p.data, p.batch_sizes))
    assert q.batch_sizes.tolist() == p.batch_sizes.tolist() and q.sorted_indices is None
    data, sizes, order, inverse = p
    assert data is p.data and order is None and inverse is None
    assert p.double().data.dtype == torch.float64 and p.double().batch_sizes is p.batch_sizes
    assert p.to(torch.float64).data.dtype == torch.float64 and p.float() is p
    r = PackedSequence(p.data, p.batch_sizes, torch.tensor([1, 0]))
    assert r.unsorted_indices.tolist() == [1, 0]
    with pytest.raises(AssertionError, match="list or tuple of length 2"):
        PackedSequence(p.data)


def test_packing_errors_name_the_fault():
    x = torch.randn(5, 3, 2)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_padded_sequence(x, [3, 5, 2])
    with pytest.raises(RuntimeError, match=r"len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)"):
        pack_padded_sequence(x, [5, 3])
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(x, [5, 3, 0])
    with pytest.raises(RuntimeError, match="longest length, 6, exceeds the input's 5 time steps"):
        pack_padded_sequence(x, [6, 3, 2])
    with pytest.raises(RuntimeError, match="1D CPU int64 tensor, but got 2D"):
        pack_padded_sequence(x, torch.tensor([[5, 3, 2]]))
    p = pack_padded_sequence(x, [5, 3, 2])
    with pytest.raises(ValueError, match="total_length=3 and max sequence length being 5"):
        pad_packed_sequence(p, total_length=3)
    lstm = nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match="input_size. Expected 3, got 2"):
        lstm(p)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 3, 4\), got \[1, 2, 4\]"):
        nn.LSTM(2, 4)(p, (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))


def _copy_weights(ours, theirs, pt):
    with pt.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(pt.from_numpy(getattr(ours, name).detach().numpy().copy()))


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", [dict(), dict(num_layers=2, bidirectional=True), dict(bidirectional=True)])
@pytest.mark.parametrize("sorted_", [True, False])
def test_packed_layers_against_pytorch(pt, name, cfg, sorted_):
    from torch.nn.utils import rnn as prnn

    ours, theirs = getattr(nn, name)(3, 4, **cfg), getattr(pt.nn, name)(3, 4, **cfg)
    _copy_weights(ours, theirs, pt)
    lengths = [6, 4, 4, 1] if sorted_ else [4, 6, 1, 4]
    x = np.random.randn(6, 4, 3).astype(np.float32)
    D = 2 if cfg.get("bidirectional") else 1
    h0 = np.random.randn(cfg.get("num_layers", 1) * D, 4, 4).astype(np.float32)
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    pa = pack_padded_sequence(xa, lengths, enforce_sorted=sorted_)
    pb = prnn.pack_padded_sequence(xb, lengths, enforce_sorted=sorted_)
    np.testing.assert_array_equal(pa.data.detach().numpy(), pb.data.detach().numpy())
    if name == "LSTM":
        c0 = np.random.randn(*h0.shape).astype(np.float32)
        ha = (torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True))
        hb = (pt.tensor(h0, requires_grad=True), pt.tensor(c0, requires_grad=True))
    else:
        ha, hb = torch.tensor(h0, requires_grad=True), pt.tensor(h0, requires_grad=True)
    oa, hna = ours(pa, ha)
    ob, hnb = theirs(pb, hb)
    assert isinstance(oa, PackedSequence) and oa.batch_sizes.tolist() == ob.batch_sizes.tolist()
    np.testing.assert_allclose(oa.data.detach().numpy(), ob.data.detach().numpy(), rtol=1e-5, atol=1e-6)
    states_a = hna if name == "LSTM" else (hna,)
    states_b = hnb if name == "LSTM" else (hnb,)
    for u, v in zip(states_a, states_b):
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=1e-5, atol=1e-6)
    padded_a, lens_a = pad_packed_sequence(oa)
    padded_b, lens_b = prnn.pad_packed_sequence(ob)
    np.testing.assert_allclose(padded_a.detach().numpy(), padded_b.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert lens_a.tolist() == lens_b.tolist()
    w = np.random.randn(*padded_a.shape).astype(np.float32)
    la = (padded_a * torch.tensor(w)).sum() + sum((s * (i + 2)).sum() for i, s in enumerate(states_a))
    lb = (padded_b * pt.tensor(w)).sum() + sum((s * (i + 2)).sum() for i, s in enumerate(states_b))
    la.backward()
    lb.backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-4, atol=1e-5)
    for u, v in zip(ha if name == "LSTM" else (ha,), hb if name == "LSTM" else (hb,)):
        np.testing.assert_allclose(u.grad.numpy(), v.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_packed_layer_is_the_padded_layer_on_each_sequence_alone(cls):
    """Each sequence's outputs and final state equal running the layer on it alone."""
    m = cls(2, 3, bidirectional=True, dtype=torch.float64)
    seqs = [torch.tensor(np.random.randn(n, 2)) for n in (2, 5, 3)]
    out, hn = m(pack_sequence(seqs, enforce_sorted=False))
    padded, lengths = pad_packed_sequence(out)
    h = hn[0] if cls is nn.LSTM else hn
    for b, s in enumerate(seqs):
        alone, hb = m(s.unsqueeze(1))
        hb = hb[0] if cls is nn.LSTM else hb
        np.testing.assert_allclose(padded.detach().numpy()[:lengths[b].item(), b], alone.detach().numpy()[:, 0],
                                   rtol=1e-12)
        np.testing.assert_allclose(h.detach().numpy()[:, b], hb.detach().numpy()[:, 0], rtol=1e-12)
        assert np.all(padded.detach().numpy()[lengths[b].item():, b] == 0)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_packed_gradients_against_finite_differences(cls):
    m = cls(2, 2, num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.tensor(np.random.randn(4, 3, 2), requires_grad=True)
    h0 = torch.tensor(np.random.randn(4, 3, 2), requires_grad=True)

    def fn(x, h0):
        packed = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        out, hn = m(packed, (h0, h0 * 0.5) if cls is nn.LSTM else h0)
        return out.data, (hn[1] if cls is nn.LSTM else hn)

    assert gradcheck(fn, (x, h0))


def test_training_an_lstm_classifier_on_packed_batches():
    """A sequence classifier with padded, packed batches learns: its loss falls."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    lstm, head = nn.LSTM(1, 8, batch_first=True), nn.Linear(8, 2)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.05)
    lengths = rng.integers(2, 9, 32)
    x = np.zeros((32, 8, 1), np.float32)
    for b, n in enumerate(lengths):
        x[b, :n, 0] = rng.standard_normal(n)
    y = torch.tensor((x.sum((1, 2)) > 0).astype(np.int64))     # the sign of the sequence's sum
    losses = []
    for _ in range(60):
        _, (h, _) = lstm(pack_padded_sequence(torch.tensor(x), lengths.tolist(), batch_first=True,
                                              enforce_sorted=False))
        loss = nn.functional.cross_entropy(head(h[-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
