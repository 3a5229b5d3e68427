"""Attention: F.scaled_dot_product_attention, nn.MultiheadAttention and the Transformer
encoder, against a NumPy transcription of the equations and against PyTorch with the
same weights (skipped without it): outputs, attention weights, gradients, masks; float64
gradients against finite differences; bad calls."""
import math

import numpy as np
import pytest

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
from pyautodiff.autograd import gradcheck


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_sdpa_against_numpy_with_masks():
    q, k, v = (np.random.randn(2, 3, 4, 5) for _ in range(3))
    t = [torch.tensor(a) for a in (q, k, v)]
    scores = q @ k.swapaxes(-1, -2) / math.sqrt(5)
    np.testing.assert_allclose(F.scaled_dot_product_attention(*t).numpy(), softmax(scores) @ v, rtol=1e-12)
    causal = np.tril(np.ones((4, 4), bool))
    want = softmax(np.where(causal, scores, -np.inf)) @ v
    np.testing.assert_allclose(F.scaled_dot_product_attention(*t, is_causal=True).numpy(), want, rtol=1e-12)
    keep = np.random.rand(4, 4) < 0.7
    keep[:, 0] = True                                  # no row all masked
    want = softmax(np.where(keep, scores, -np.inf)) @ v
    got = F.scaled_dot_product_attention(*t, attn_mask=torch.tensor(keep)).numpy()   # bool: True takes part
    np.testing.assert_allclose(got, want, rtol=1e-12)
    bias = np.random.randn(4, 4)
    got = F.scaled_dot_product_attention(*t, attn_mask=torch.tensor(bias), scale=0.3).numpy()
    np.testing.assert_allclose(got, softmax(q @ k.swapaxes(-1, -2) * 0.3 + bias) @ v, rtol=1e-12)


def test_sdpa_gradients_against_finite_differences():
    q, k, v = (torch.tensor(np.random.randn(2, 3, 4), requires_grad=True) for _ in range(3))
    mask = torch.tensor(np.random.randn(3, 3))
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), (q, k, v))
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


def _copy(ours, theirs, pt):
    with pt.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(pt.from_numpy(dict(ours.named_parameters())[name].detach().numpy().copy()))


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # PyTorch's, on a bool and a float mask
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_against_pytorch(pt, batch_first, need_weights):
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    theirs = pt.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    _copy(ours, theirs, pt)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    x = np.random.randn(*shape).astype(np.float32)
    kv = np.random.randn(*((3, 6, 8) if batch_first else (6, 3, 8))).astype(np.float32)
    pad = np.zeros((3, 6), bool)
    pad[0, -2:] = True
    amask = np.random.randn(5, 6).astype(np.float32)
    for self_attn in (True, False):
        xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
        if self_attn:
            args_a, args_b, kw = (xa, xa, xa), (xb, xb, xb), {}
        else:
            ka, kb = torch.tensor(kv, requires_grad=True), pt.tensor(kv, requires_grad=True)
            args_a, args_b = (xa, ka, ka), (xb, kb, kb)
            kw = dict(key_padding_mask=pad, attn_mask=amask)
        kwa = {n: torch.tensor(m) for n, m in kw.items()}
        kwb = {n: pt.tensor(m) for n, m in kw.items()}
        oa, wa = ours(*args_a, need_weights=need_weights, **kwa)
        ob, wb = theirs(*args_b, need_weights=need_weights, **kwb)
        np.testing.assert_allclose(oa.detach().numpy(), ob.detach().numpy(), rtol=1e-4, atol=1e-5)
        if need_weights:
            np.testing.assert_allclose(wa.detach().numpy(), wb.detach().numpy(), rtol=1e-4, atol=1e-6)
        else:
            assert wa is None and wb is None
        w = np.random.randn(*oa.shape).astype(np.float32)
        (oa * torch.tensor(w)).sum().backward()
        (ob * pt.tensor(w)).sum().backward()
        np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-3, atol=1e-5)
        for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=n)
            p.grad = None
            q.grad = None


def test_multihead_attention_weights_per_head_and_unbatched(pt):
    ours, theirs = nn.MultiheadAttention(6, 3), pt.nn.MultiheadAttention(6, 3)
    _copy(ours, theirs, pt)
    x = np.random.randn(4, 2, 6).astype(np.float32)
    a = ours(torch.tensor(x), torch.tensor(x), torch.tensor(x), average_attn_weights=False)[1]
    b = theirs(pt.tensor(x), pt.tensor(x), pt.tensor(x), average_attn_weights=False)[1]
    assert tuple(a.shape) == (2, 3, 4, 4)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-6)
    u = x[:, 0]
    oa, wa = ours(torch.tensor(u), torch.tensor(u), torch.tensor(u))
    ob, wb = theirs(pt.tensor(u), pt.tensor(u), pt.tensor(u))
    assert tuple(oa.shape) == (4, 6) and tuple(wa.shape) == (4, 4)
    np.testing.assert_allclose(oa.detach().numpy(), ob.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_multihead_attention_against_the_equations():
    m = nn.MultiheadAttention(4, 2, dtype=torch.float64)
    x = np.random.randn(3, 1, 4)
    W = m.in_proj_weight.detach().numpy()
    b = m.in_proj_bias.detach().numpy()
    q, k, v = np.split(x[:, 0] @ W.T + b, 3, axis=1)
    heads = []
    for h in range(2):
        s = slice(2 * h, 2 * h + 2)
        heads.append(softmax(q[:, s] @ k[:, s].T / math.sqrt(2)) @ v[:, s])
    want = np.concatenate(heads, 1) @ m.out_proj.weight.detach().numpy().T + m.out_proj.bias.detach().numpy()
    got = m(torch.tensor(x), torch.tensor(x), torch.tensor(x))[0].detach().numpy()[:, 0]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.all(m.in_proj_bias.detach().numpy() == 0) and np.all(m.out_proj.bias.detach().numpy() == 0)
    bound = math.sqrt(6 / (4 + 12))                   # xavier_uniform_ on (3E, E)
    assert np.abs(W).max() <= bound


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_against_pytorch(pt, norm_first, activation):
    layer_a = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation, norm_first=norm_first,
                                         batch_first=True)
    layer_b = pt.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation,
                                            norm_first=norm_first, batch_first=True)
    enc_a, enc_b = nn.TransformerEncoder(layer_a, 2, norm=nn.LayerNorm(8)), \
        pt.nn.TransformerEncoder(layer_b, 2, norm=pt.nn.LayerNorm(8), enable_nested_tensor=False)
    assert [n for n, _ in enc_a.named_parameters()] == [n for n, _ in enc_b.named_parameters()]
    _copy(enc_a, enc_b, pt)
    x = np.random.randn(3, 5, 8).astype(np.float32)
    pad = np.zeros((3, 5), bool)
    pad[1, 3:] = True
    causal = np.triu(np.full((5, 5), -np.inf, np.float32), 1)
    xa, xb = torch.tensor(x, requires_grad=True), pt.tensor(x, requires_grad=True)
    oa = enc_a(xa, mask=torch.tensor(causal), src_key_padding_mask=torch.tensor(pad))
    ob = enc_b(xb, mask=pt.tensor(causal), src_key_padding_mask=pt.tensor(pad))
    np.testing.assert_allclose(oa.detach().numpy(), ob.detach().numpy(), rtol=1e-4, atol=1e-5)
    w = np.random.randn(*oa.shape).astype(np.float32)
    (oa * torch.tensor(w)).sum().backward()
    (ob * pt.tensor(w)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), xb.grad.numpy(), rtol=1e-3, atol=1e-4)
    for (n, p), (_, q) in zip(enc_a.named_parameters(), enc_b.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-4, err_msg=n)


MHA_OPTIONS = [dict(kdim=3, vdim=5), dict(add_bias_kv=True), dict(add_zero_attn=True),
               dict(kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True, batch_first=True),
               dict(kdim=4, vdim=4, bias=False)]


@pytest.mark.filterwarnings("ignore:Support for mismatched")  # PyTorch's, on a bool and a float mask
@pytest.mark.parametrize("cfg", MHA_OPTIONS)
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_options_against_pytorch(pt, cfg, need_weights):
    """kdim/vdim (separate projection weights), add_bias_kv, add_zero_attn: parameters,
    outputs, weights and gradients as PyTorch's, with both masks."""
    ours, theirs = nn.MultiheadAttention(8, 2, **cfg), pt.nn.MultiheadAttention(8, 2, **cfg)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert ours._qkv_same_embed_dim == theirs._qkv_same_embed_dim
    assert (ours.in_proj_weight is None) == (theirs.in_proj_weight is None)
    _copy(ours, theirs, pt)
    bf = cfg.get("batch_first", False)

    def arr(steps, width):
        return np.random.randn(*((3, steps, width) if bf else (steps, 3, width))).astype(np.float32)

    q, k, v = arr(4, 8), arr(6, cfg.get("kdim", 8)), arr(6, cfg.get("vdim", 8))
    amask = np.random.rand(4, 6) > 0.7
    pad = np.random.rand(3, 6) > 0.8
    amask[:, 0] = pad[:, 0] = False
    ins_a = [torch.tensor(t, requires_grad=True) for t in (q, k, v)]
    ins_b = [pt.tensor(t, requires_grad=True) for t in (q, k, v)]
    oa, wa = ours(*ins_a, attn_mask=torch.tensor(amask), key_padding_mask=torch.tensor(pad), need_weights=need_weights)
    ob, wb = theirs(*ins_b, attn_mask=pt.tensor(amask), key_padding_mask=pt.tensor(pad), need_weights=need_weights)
    np.testing.assert_allclose(oa.detach().numpy(), ob.detach().numpy(), rtol=1e-4, atol=1e-5)
    if need_weights:
        np.testing.assert_allclose(wa.detach().numpy(), wb.detach().numpy(), rtol=1e-4, atol=1e-6)
    w = np.random.randn(*oa.shape).astype(np.float32)
    (oa * torch.tensor(w)).sum().backward()
    (ob * pt.tensor(w)).sum().backward()
    for a, b in zip(ins_a, ins_b):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-3, atol=1e-5)
    for (n, p), (_, q_) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q_.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=n)


def test_multihead_attention_options_init_and_gradients_against_finite_differences():
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=2, add_bias_kv=True, add_zero_attn=True, dtype=torch.float64)
    assert m.in_proj_weight is None and tuple(m.k_proj_weight.shape) == (4, 3)
    assert tuple(m.v_proj_weight.shape) == (4, 2) and tuple(m.bias_k.shape) == (1, 1, 4)
    bound = math.sqrt(6 / (4 + 3))  # xavier_uniform_ on (4, 3)
    assert np.abs(m.k_proj_weight.detach().numpy()).max() <= bound
    assert np.all(m.in_proj_bias.detach().numpy() == 0)
    q = torch.tensor(np.random.randn(3, 2, 4), requires_grad=True)
    k = torch.tensor(np.random.randn(5, 2, 3), requires_grad=True)
    v = torch.tensor(np.random.randn(5, 2, 2), requires_grad=True)
    pad = torch.tensor(np.array([[False, False, True, False, False], [False, True, False, False, True]]))
    assert gradcheck(lambda q, k, v: m(q, k, v, key_padding_mask=pad)[0], (q, k, v))
    static = torch.tensor(np.random.randn(4, 5, 2), requires_grad=True)
    out, _ = F.multi_head_attention_forward(
        q, q, q, 4, 2, torch.tensor(np.random.randn(12, 4)), None, None, None, False, 0.0,
        torch.tensor(np.eye(4)), None, static_k=static, static_v=static)
    out.sum().backward()
    assert tuple(out.shape) == (3, 2, 4) and static.grad is not None
    with pytest.raises(AssertionError, match=r"expecting static_k of shape \(4, S, 2\), but got \(4, 5, 3\)"):
        F.multi_head_attention_forward(q, q, q, 4, 2, torch.tensor(np.random.randn(12, 4)), None, None, None,
                                       False, 0.0, torch.tensor(np.eye(4)), None,
                                       static_k=torch.zeros(4, 5, 3, dtype=torch.float64))
    with pytest.raises(AssertionError, match="bias_k and bias_v must be given together"):
        F.multi_head_attention_forward(q, q, q, 4, 2, torch.tensor(np.random.randn(12, 4)), None,
                                       torch.zeros(1, 1, 4, dtype=torch.float64), None, False, 0.0,
                                       torch.tensor(np.eye(4)), None)


def test_transformer_layer_gradients_against_finite_differences():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype=torch.float64)
    x = torch.tensor(np.random.randn(3, 2, 4), requires_grad=True)
    assert gradcheck(lambda x: layer(x), (x,))


def test_dropout_in_training_only_and_a_small_transformer_trains():
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.3, batch_first=True)
    x = torch.randn(4, 6, 8)
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
    layer.train()
    assert not np.array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
    # copy the first token's value to every position
    model = nn.Sequential(nn.TransformerEncoderLayer(8, 2, 32, dropout=0.0, batch_first=True), nn.Linear(8, 8))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    data = torch.randn(32, 5, 8)
    target = data[:, :1].expand(32, 5, 8)
    losses = []
    for _ in range(80):
        opt.zero_grad()
        loss = F.mse_loss(model(data), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


def test_bad_calls():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    x = torch.randn(5, 3, 8)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is \(4, 5\), but should be \(5, 5\)"):
        m(x, x, x, attn_mask=torch.zeros(4, 5))
    with pytest.raises(AssertionError, match=r"expecting key_padding_mask shape of \(3, 5\)"):
        m(x, x, x, key_padding_mask=torch.zeros(5, 3, dtype=torch.bool))
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
        m(torch.randn(5, 3, 6), torch.randn(5, 3, 6), torch.randn(5, 3, 6))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(TypeError, match="query must be a Tensor"):
        m(np.zeros((5, 3, 8)), x, x)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=torch.zeros(5, 5), is_causal=True)


@pytest.mark.filterwarnings("ignore")   # PyTorch's notes on nested tensors and mask types
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_against_pytorch(pt, norm_first):
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0,
              batch_first=True, norm_first=norm_first)
    ours, theirs = nn.Transformer(**kw), pt.nn.Transformer(**kw)
    names = [n for n, _ in ours.named_parameters()]
    assert names == [n for n, _ in theirs.named_parameters()]
    assert "decoder.layers.1.multihead_attn.in_proj_weight" in names and "decoder.norm.weight" in names
    _copy(ours, theirs, pt)
    src = np.random.randn(3, 6, 8).astype(np.float32)
    tgt = np.random.randn(3, 4, 8).astype(np.float32)
    mask_a = nn.Transformer.generate_square_subsequent_mask(4)
    mask_b = pt.nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(mask_a.numpy(), mask_b.numpy())
    pad = np.zeros((3, 6), bool)
    pad[2, 4:] = True
    sa, ta = torch.tensor(src, requires_grad=True), torch.tensor(tgt, requires_grad=True)
    sb, tb = pt.tensor(src, requires_grad=True), pt.tensor(tgt, requires_grad=True)
    a = ours(sa, ta, tgt_mask=mask_a, src_key_padding_mask=torch.tensor(pad),
             memory_key_padding_mask=torch.tensor(pad))
    b = theirs(sb, tb, tgt_mask=mask_b, src_key_padding_mask=pt.tensor(pad), memory_key_padding_mask=pt.tensor(pad))
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = np.random.randn(*a.shape).astype(np.float32)
    (a * torch.tensor(g)).sum().backward()
    (b * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(sa.grad.numpy(), sb.grad.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(ta.grad.numpy(), tb.grad.numpy(), rtol=1e-3, atol=1e-4)
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-3, atol=1e-4, err_msg=n)


def test_transformer_init_and_bad_calls():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()          # xavier-uniform on every matrix
    assert np.abs(w).max() <= math.sqrt(6 / (8 + 16))
    assert np.all(m.encoder.norm.weight.detach().numpy() == 1)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(torch.randn(5, 2, 8), torch.randn(4, 3, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        m(torch.randn(5, 2, 8), torch.randn(4, 2, 6))
