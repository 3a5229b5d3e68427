"""Recurrent layers (nn.RNN, LSTM, GRU and their cells): parameter names, shapes and
init as PyTorch's; values and gradients against PyTorch with the same weights (skipped
without it) and against a NumPy transcription of the gate equations; float64 gradients
against finite differences; bad calls."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
from pyautodiff.autograd import gradcheck


def sig(x):
    return 1 / (1 + np.exp(-x))


def numpy_layer(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """One layer and direction over x (L, N, I), the equations of PyTorch's documentation."""
    outs = [None] * len(x)
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        ih = x[t] @ w_ih.T + b_ih
        hh = h @ w_hh.T + b_hh
        if mode == "LSTM":
            i, f, g, o = np.split(ih + hh, 4, axis=1)
            c = sig(f) * c + sig(i) * np.tanh(g)
            h = sig(o) * np.tanh(c)
        elif mode == "GRU":
            r = sig(ih[:, :len(h[0])] + hh[:, :len(h[0])])
            z = sig(np.split(ih, 3, 1)[1] + np.split(hh, 3, 1)[1])
            n = np.tanh(np.split(ih, 3, 1)[2] + r * np.split(hh, 3, 1)[2])
            h = (1 - z) * n + z * h
        else:
            h = np.tanh(ih + hh) if mode == "tanh" else np.maximum(ih + hh, 0)
        outs[t] = h
    return np.stack(outs), h, c


def params_np(m, layer, suffix=""):
    names = [f"{w}_l{layer}{suffix}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    return [getattr(m, n).detach().numpy().astype(np.float64) for n in names]


@pytest.mark.parametrize("cls,mode,gates", [(nn.RNN, "tanh", 1), (nn.LSTM, "LSTM", 4), (nn.GRU, "GRU", 3)])
def test_parameters_named_shaped_and_initialised_as_pytorch(cls, mode, gates):
    m = cls(5, 7, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    want = []
    for layer in range(2):
        for sfx in ("", "_reverse"):
            want += [f"weight_ih_l{layer}{sfx}", f"weight_hh_l{layer}{sfx}", f"bias_ih_l{layer}{sfx}",
                     f"bias_hh_l{layer}{sfx}"]
    assert names == want
    assert tuple(m.weight_ih_l0.shape) == (gates * 7, 5)
    assert tuple(m.weight_ih_l1.shape) == (gates * 7, 14)   # both directions of layer 0 feed it
    assert tuple(m.weight_hh_l1_reverse.shape) == (gates * 7, 7)
    assert tuple(m.bias_hh_l0.shape) == (gates * 7,)
    bound = 1 / math.sqrt(7)
    v = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(v).max() <= bound and np.abs(v).max() > 0.95 * bound
    assert abs(v.mean()) < 0.1 * bound and abs(v.std() - bound / math.sqrt(3)) < 0.1 * bound
    assert len(m.all_weights) == 4 and len(m.all_weights[0]) == 4
    no_bias = cls(5, 7, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]


@pytest.mark.parametrize("cls,mode", [(nn.RNN, "tanh"), (nn.LSTM, "LSTM"), (nn.GRU, "GRU")])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True)])
def test_values_against_the_gate_equations(cls, mode, layers, bidirectional):
    m = cls(4, 6, num_layers=layers, bidirectional=bidirectional, dtype=torch.float64)
    x = np.random.randn(5, 3, 4)
    D = 2 if bidirectional else 1
    h0 = np.random.randn(layers * D, 3, 6)
    c0 = np.random.randn(layers * D, 3, 6)
    hx = (torch.tensor(h0), torch.tensor(c0)) if mode == "LSTM" else torch.tensor(h0)
    out, hidden = m(torch.tensor(x), hx)
    inp, hn, cn = x, [], []
    for layer in range(layers):
        outs = []
        for d in range(D):
            k = layer * D + d
            o, h, c = numpy_layer(mode, inp, h0[k], c0[k], *params_np(m, layer, "_reverse" if d else ""),
                                  reverse=d == 1)
            outs.append(o)
            hn.append(h)
            cn.append(c)
        inp = np.concatenate(outs, 2)
    np.testing.assert_allclose(out.detach().numpy(), inp, rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(hidden[0].detach().numpy(), np.stack(hn), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(hidden[1].detach().numpy(), np.stack(cn), rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(hidden.detach().numpy(), np.stack(hn), rtol=1e-10, atol=1e-12)


def _copy_weights(ours, theirs, pt):
    with pt.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(pt.from_numpy(getattr(ours, name).detach().numpy().copy()))


CONFIGS = [dict(), dict(num_layers=2), dict(bidirectional=True), dict(batch_first=True),
           dict(num_layers=2, bidirectional=True, batch_first=True), dict(bias=False)]


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("cfg", CONFIGS)
def test_against_pytorch_values_and_gradients(pt, name, cfg):
    ours = getattr(nn, name)(3, 5, **cfg)
    theirs = getattr(pt.nn, name)(3, 5, **cfg)
    _copy_weights(ours, theirs, pt)
    bf = cfg.get("batch_first", False)
    x = np.random.randn(*((2, 6, 3) if bf else (6, 2, 3))).astype(np.float32)
    D = 2 if cfg.get("bidirectional") else 1
    h0 = np.random.randn(cfg.get("num_layers", 1) * D, 2, 5).astype(np.float32)
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    if name == "LSTM":
        c0 = np.random.randn(*h0.shape).astype(np.float32)
        ha, hb = (torch.tensor(h0), torch.tensor(c0)), (pt.tensor(h0), pt.tensor(c0))
    else:
        ha, hb = torch.tensor(h0, requires_grad=True), pt.tensor(h0, requires_grad=True)
    oa, hna = ours(xa, ha)
    ob, hnb = theirs(xb, hb)
    np.testing.assert_allclose(oa.detach().numpy(), ob.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = np.random.randn(*oa.shape).astype(np.float32)
    la = (oa * torch.tensor(w)).sum() + (hna[0] if name == "LSTM" else hna).sum()
    lb = (ob * pt.tensor(w)).sum() + (hnb[0] if name == "LSTM" else hnb).sum()
    la.backward()
    lb.backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-4, atol=1e-5)
    if name != "LSTM":
        np.testing.assert_allclose(ha.grad.numpy(), hb.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (n, p), (n2, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == n2
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input_and_default_state(pt, name):
    ours = getattr(nn, name)(3, 4)
    theirs = getattr(pt.nn, name)(3, 4)
    _copy_weights(ours, theirs, pt)
    x = np.random.randn(5, 3).astype(np.float32)
    oa, ha = ours(torch.tensor(x))
    ob, hb = theirs(pt.tensor(x))
    assert tuple(oa.shape) == tuple(ob.shape) == (5, 4)
    np.testing.assert_allclose(oa.detach().numpy(), ob.detach().numpy(), rtol=1e-5, atol=1e-6)
    if name == "LSTM":
        assert tuple(ha[0].shape) == tuple(ha[1].shape) == (1, 4)
        np.testing.assert_allclose(ha[1].detach().numpy(), hb[1].detach().numpy(), rtol=1e-5, atol=1e-6)
    else:
        assert tuple(ha.shape) == (1, 4)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_against_pytorch(pt, name):
    ours = getattr(nn, name)(3, 4)
    theirs = getattr(pt.nn, name)(3, 4)
    _copy_weights(ours, theirs, pt)
    assert [n for n, _ in ours.named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    x = np.random.randn(2, 3).astype(np.float32)
    h = np.random.randn(2, 4).astype(np.float32)
    if name == "LSTMCell":
        c = np.random.randn(2, 4).astype(np.float32)
        a = ours(torch.tensor(x), (torch.tensor(h), torch.tensor(c)))
        b = theirs(pt.tensor(x), (pt.tensor(h), pt.tensor(c)))
        for u, v in zip(a, b):
            np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=1e-5, atol=1e-6)
    else:
        a = ours(torch.tensor(x), torch.tensor(h))
        b = theirs(pt.tensor(x), pt.tensor(h))
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)
        unbatched = ours(torch.tensor(x[0]))      # no state: zeros
        np.testing.assert_allclose(unbatched.detach().numpy(),
                                   theirs(pt.tensor(x[0])).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_gradients_against_finite_differences(cls):
    m = cls(2, 3, num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.tensor(np.random.randn(3, 2, 2), requires_grad=True)
    w0 = torch.tensor(m.weight_ih_l0.detach().numpy().copy(), requires_grad=True)
    w1 = torch.tensor(m.weight_hh_l1_reverse.detach().numpy().copy(), requires_grad=True)

    def fn2(x, w0, w1):
        saved0, saved1 = m.weight_ih_l0, m.weight_hh_l1_reverse
        m._parameters["weight_ih_l0"], m._parameters["weight_hh_l1_reverse"] = w0, w1
        try:
            return m(x)[0]
        finally:
            m._parameters["weight_ih_l0"], m._parameters["weight_hh_l1_reverse"] = saved0, saved1

    assert gradcheck(fn2, (x, w0, w1))


def test_lstm_cell_gradients_against_finite_differences():
    cell = nn.LSTMCell(2, 3, dtype=torch.float64)
    x = torch.tensor(np.random.randn(2, 2), requires_grad=True)
    h = torch.tensor(np.random.randn(2, 3), requires_grad=True)
    c = torch.tensor(np.random.randn(2, 3), requires_grad=True)
    assert gradcheck(lambda x, h, c: cell(x, (h, c)), (x, h, c))


def test_training_an_lstm_lowers_the_loss():
    torch.manual_seed(0)
    lstm = nn.LSTM(1, 8, batch_first=True)
    head = nn.Linear(8, 1)
    opt = torch.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.02)
    t = np.linspace(0, 4 * np.pi, 41)
    seqs = np.stack([np.sin(t[i:i + 20] + p) for i, p in zip(range(16), np.linspace(0, 1, 16))])
    x = torch.tensor(seqs[:, :-1, None], dtype=torch.float32)
    y = torch.tensor(seqs[:, -1:], dtype=torch.float32)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        out, _ = lstm(x)
        loss = nn.functional.mse_loss(head(out[:, -1]), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_dropout_between_layers_only_when_training():
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = torch.randn(5, 2, 3)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    m.train()
    torch.manual_seed(1)
    c, _ = m(x)
    torch.manual_seed(2)
    d, _ = m(x)
    assert not np.array_equal(c.detach().numpy(), d.detach().numpy())
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last"):
        nn.LSTM(3, 4, dropout=0.2)


def test_bad_calls():
    m = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size. Expected 3, got 5"):
        m(torch.randn(2, 1, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 1, 4\), got \[1, 1, 4\]"):
        m(torch.randn(2, 1, 3), (torch.zeros(1, 1, 4), torch.zeros(2, 1, 4)))
    with pytest.raises(TypeError, match="hx must be a tuple"):
        m(torch.randn(2, 1, 3), torch.zeros(2, 1, 4))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        m(torch.randn(2, 1, 3, 1))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        nn.GRU(3, 4)(torch.randn(5, 2, 3), torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        nn.LSTM(3, 4, proj_size=-1)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 2, 4\), got \[1, 2, 2\]"):
        nn.LSTM(3, 4, proj_size=2)(torch.randn(5, 2, 3), (torch.zeros(1, 2, 2), torch.zeros(1, 2, 2)))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 2 expected 3"):
        nn.GRUCell(3, 4)(torch.randn(1, 2))
    with pytest.raises(TypeError, match="input must be a Tensor or a PackedSequence, not list"):
        nn.RNN(3, 4)([1, 2, 3])


def test_repr_and_state_dict_round_trip():
    m = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    assert repr(m) == "LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)"
    assert repr(nn.RNN(2, 3, nonlinearity="relu")) == "RNN(2, 3)"   # as PyTorch's
    assert repr(nn.RNNCell(2, 3, nonlinearity="relu")) == "RNNCell(2, 3, nonlinearity=relu)"
    m2 = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    m2.load_state_dict(m.state_dict())
    x = torch.randn(2, 5, 3)
    np.testing.assert_array_equal(m(x)[0].detach().numpy(), m2(x)[0].detach().numpy())


def test_fused_lstm_cell_gradients_when_only_one_output_is_used():
    # the cell's [h' | c'] result gets a gradient on one half only (an expanded one from
    # sum, or a slice of it), or on both from different uses
    cell = nn.LSTMCell(3, 4, dtype=torch.float64)
    x = torch.tensor(np.random.randn(2, 3), requires_grad=True)
    c = torch.tensor(np.random.randn(2, 4), requires_grad=True)
    h = torch.tensor(np.random.randn(2, 4), requires_grad=True)
    assert gradcheck(lambda x, h, c: cell(x, (h, c))[0].sum(), (x, h, c))
    assert gradcheck(lambda x, h, c: cell(x, (h, c))[1][:, 1:3] * 2, (x, h, c))
    assert gradcheck(lambda x, h, c: (lambda hc: hc[0] * hc[1])(cell(x, (h, c))), (x, h, c))
    with pytest.raises(ValueError, match=r"lstm_cell: expected gates \(N, 4H\) and c \(N, H\)"):
        from pyautodiff._ffi import lib
        from pyautodiff._tensor import call
        call(lib.pa_lstm_cell, torch.randn(2, 7)._h, torch.randn(2, 2)._h)


@pytest.mark.parametrize("cfg", [dict(proj_size=3), dict(proj_size=2, num_layers=2, bidirectional=True),
                                 dict(proj_size=3, bias=False, batch_first=True)])
@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")  # PyTorch's
def test_lstm_with_projections_against_pytorch(pt, cfg):
    """proj_size: weight_hr_l{k} (proj, hidden) after the biases, h of size proj_size, c of
    hidden_size; values and gradients as PyTorch's, padded and packed."""
    from pyautodiff.nn.utils.rnn import pack_padded_sequence

    ours, theirs = nn.LSTM(4, 5, **cfg), pt.nn.LSTM(4, 5, **cfg)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert [[tuple(w.shape) for w in ws] for ws in ours.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in theirs.all_weights]
    assert repr(ours) == repr(theirs)
    _copy_weights(ours, theirs, pt)
    bf = cfg.get("batch_first", False)
    x = np.random.randn(*((2, 6, 4) if bf else (6, 2, 4))).astype(np.float32)
    stacked = cfg.get("num_layers", 1) * (2 if cfg.get("bidirectional") else 1)
    h0 = np.random.randn(stacked, 2, cfg["proj_size"]).astype(np.float32)
    c0 = np.random.randn(stacked, 2, 5).astype(np.float32)
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    oa, (ha, ca) = ours(xa, (torch.tensor(h0), torch.tensor(c0)))
    ob, (hb, cb) = theirs(xb, (pt.tensor(h0), pt.tensor(c0)))
    for u, v in ((oa, ob), (ha, hb), (ca, cb)):
        assert tuple(u.shape) == tuple(v.shape)
        np.testing.assert_allclose(u.detach().numpy(), v.detach().numpy(), rtol=1e-5, atol=1e-6)
    (oa.sum() + 2 * ha.sum() + 3 * ca.sum()).backward()
    (ob.sum() + 2 * hb.sum() + 3 * cb.sum()).backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)
    pa_ = pack_padded_sequence(torch.tensor(x), [6, 3], batch_first=bf)
    pb_ = pt.nn.utils.rnn.pack_padded_sequence(pt.tensor(x), [6, 3], batch_first=bf)
    (oa, (ha, _)), (ob, (hb, _)) = ours(pa_), theirs(pb_)
    np.testing.assert_allclose(oa.data.detach().numpy(), ob.data.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ha.detach().numpy(), hb.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_lstm_with_projections_gradients_against_finite_differences():
    m = nn.LSTM(2, 3, proj_size=2, num_layers=2, bidirectional=True, dtype=torch.float64)
    x = torch.tensor(np.random.randn(3, 2, 2), requires_grad=True)
    assert gradcheck(lambda x: m(x)[0], (x,))


# ---- the fused layers (pa_lstm_layer, pa_gru_layer, pa_rnn_layer): one C op per layer
# and direction ------------------------------------------------------------------------

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _fused(mode, ih, h0, c0, w_hh, b_hh, reverse):
    """The layer op of `mode`: LSTM's (T + 1, N, H) result (the h of each time index, then
    the final c), the others' (T, N, H)."""
    from pyautodiff._ffi import ffi, lib
    from pyautodiff._tensor import call
    b = b_hh._h if b_hh is not None else ffi.NULL
    if mode == "LSTM":
        return call(lib.pa_lstm_layer, ih._h, h0._h, c0._h, w_hh._h, b, int(reverse))
    if mode == "GRU":
        return call(lib.pa_gru_layer, ih._h, h0._h, w_hh._h, b, int(reverse))
    return call(lib.pa_rnn_layer, ih._h, h0._h, w_hh._h, b, int(mode == "RNN_RELU"), int(reverse))


@pytest.mark.parametrize("mode", list(_GATES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps", [1, 4])
def test_fused_layer_values_equal_the_composed_steps(mode, reverse, steps):
    # the fused op rounds as the per-step composition (linear, + ih, the gates) does
    from pyautodiff.nn.modules.rnn import _rnn_step
    rng = np.random.default_rng(3)
    g = 5 * _GATES[mode]
    ih = torch.tensor(rng.standard_normal((steps, 3, g)).astype(np.float32))
    h0, c0 = (torch.tensor(rng.standard_normal((3, 5)).astype(np.float32)) for _ in range(2))
    w_hh = torch.tensor(rng.standard_normal((g, 5)).astype(np.float32))
    b_hh = torch.tensor(rng.standard_normal(g).astype(np.float32))
    hs = _fused(mode, ih, h0, c0, w_hh, b_hh, reverse)
    assert tuple(hs.shape) == (steps + (mode == "LSTM"), 3, 5)
    h, c = h0, (c0 if mode == "LSTM" else None)
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        h, c = _rnn_step(mode, ih[t], h, c, w_hh, b_hh)
        np.testing.assert_array_equal(hs[t].numpy(), h.numpy())
    if mode == "LSTM":
        np.testing.assert_array_equal(hs[steps].numpy(), c.numpy())


@pytest.mark.parametrize("mode", list(_GATES))
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_layer_gradients_against_finite_differences(mode, reverse, bias):
    rng = np.random.default_rng(4)
    g = 2 * _GATES[mode]
    shapes = [(3, 2, g), (2, 2)] + ([(2, 2)] if mode == "LSTM" else []) + [(g, 2)] + ([(g,)] if bias else [])
    args = [torch.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    weights = torch.tensor(rng.standard_normal((3 + (mode == "LSTM"), 2, 2)))

    def fn(*a):
        ih, h0, rest = a[0], a[1], list(a[2:])
        c0 = rest.pop(0) if mode == "LSTM" else None
        w_hh, b_hh = rest[0], (rest[1] if bias else None)
        # every part of the result: the outputs (and LSTM's final c)
        return (_fused(mode, ih, h0, c0, w_hh, b_hh, reverse) * weights).sum()

    assert gradcheck(fn, tuple(args))


def test_lstm_layer_bad_calls():
    ih, s, w, b = torch.randn(3, 2, 8), torch.randn(2, 2), torch.randn(8, 2), torch.randn(8)
    with pytest.raises(ValueError, match=r"lstm_layer: expected ih \(T, N, 4H\) with T >= 1 and "
                                         r"w_hh \(4H, H\), got \(3, 2, 8\) and \(8, 3\)"):
        _fused("LSTM", ih, s, s, torch.randn(8, 3), b, False)
    with pytest.raises(ValueError, match=r"lstm_layer: expected ih \(T, N, 4H\) with T >= 1"):
        _fused("LSTM", torch.randn(0, 2, 8), s, s, w, b, False)
    with pytest.raises(ValueError, match=r"lstm_layer: expected c0 of shape \(2, 2\), got \(2, 3\)"):
        _fused("LSTM", ih, s, torch.randn(2, 3), w, b, False)
    with pytest.raises(ValueError, match=r"lstm_layer: expected b_hh of shape \(8,\), got \(4,\)"):
        _fused("LSTM", ih, s, s, w, torch.randn(4), False)
    with pytest.raises(TypeError, match="lstm_layer: expected h0 to have dtype float32"):
        _fused("LSTM", ih, s.double(), s, w, b, False)


def test_gru_layer_bad_calls():
    ih, h, w, b = torch.randn(3, 2, 6), torch.randn(2, 2), torch.randn(6, 2), torch.randn(6)
    with pytest.raises(ValueError, match=r"gru_layer: expected ih \(T, N, 3H\) with T >= 1 and "
                                         r"w_hh \(3H, H\), got \(3, 2, 6\) and \(6, 3\)"):
        _fused("GRU", ih, h, None, torch.randn(6, 3), b, False)
    with pytest.raises(ValueError, match=r"gru_layer: expected h0 of shape \(2, 2\), got \(3, 2\)"):
        _fused("GRU", ih, torch.randn(3, 2), None, w, b, False)
    with pytest.raises(ValueError, match=r"gru_layer: expected b_hh of shape \(6,\), got \(2,\)"):
        _fused("GRU", ih, h, None, w, torch.randn(2), False)
    with pytest.raises(TypeError, match="gru_layer: expected w_hh to have dtype float32"):
        _fused("GRU", ih, h, None, w.double(), b, False)


def test_rnn_layer_bad_calls():
    ih, h, w, b = torch.randn(3, 2, 4), torch.randn(2, 4), torch.randn(4, 4), torch.randn(4)
    with pytest.raises(ValueError, match=r"rnn_layer: expected ih \(T, N, H\) with T >= 1 and "
                                         r"w_hh \(H, H\), got \(3, 2, 4\) and \(4, 3\)"):
        _fused("RNN_TANH", ih, h, None, torch.randn(4, 3), b, False)
    with pytest.raises(ValueError, match=r"rnn_layer: expected h0 of shape \(2, 4\), got \(2, 3\)"):
        _fused("RNN_TANH", ih, torch.randn(2, 3), None, w, b, False)
    with pytest.raises(ValueError, match=r"rnn_layer: expected b_hh of shape \(4,\), got \(3,\)"):
        _fused("RNN_RELU", ih, h, None, w, torch.randn(3), False)


@pytest.mark.parametrize("name,kw", [("LSTM", {}), ("GRU", {}), ("RNN", dict(nonlinearity="relu"))])
def test_fused_layers_state_gradients_against_pytorch(pt, name, kw):
    # 2 layers, both directions, given initial states: outputs, final states and every
    # gradient (input, states, parameters) as PyTorch's
    kw = dict(kw, num_layers=2, bidirectional=True)
    ours, theirs = getattr(nn, name)(3, 6, **kw), getattr(pt.nn, name)(3, 6, **kw)
    _copy_weights(ours, theirs, pt)
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((7, 2, 3), (4, 2, 6), (4, 2, 6))]
    arrays = arrays if name == "LSTM" else arrays[:2]
    results = []
    for lib in (torch, pt):
        leaves = [lib.tensor(v, requires_grad=True) for v in arrays]
        model = ours if lib is torch else theirs
        out, states = model(leaves[0], tuple(leaves[1:]) if name == "LSTM" else leaves[1])
        states = states if name == "LSTM" else (states,)
        (out.sum() + sum((s * (k + 2)).sum() for k, s in enumerate(states))).backward()
        results.append([out.detach().numpy()] + [s.detach().numpy() for s in states] +
                       [t.grad.numpy() for t in leaves])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=n)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_fused_layers_on_an_empty_batch(name):
    m = getattr(nn, name)(3, 4, bidirectional=True)
    x = torch.zeros(5, 0, 3, requires_grad=True)
    out, state = m(x)
    assert tuple(out.shape) == (5, 0, 8)
    assert tuple((state[0] if name == "LSTM" else state).shape) == (2, 0, 4)
    out.sum().backward()
    assert tuple(x.grad.shape) == (5, 0, 3)
    assert all(np.all(p.grad.numpy() == 0) for p in m.parameters())
