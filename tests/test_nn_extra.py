"""cosine_similarity, pairwise_distance, cross_entropy with class probabilities,
nn.utils.rnn.pad_sequence and Embedding.from_pretrained: values against NumPy, float64
gradients against finite differences, PyTorch when installed, errors."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck

F = torch.nn.functional
RNG = np.random.default_rng(11)
A, B = RNG.standard_normal((4, 5)), RNG.standard_normal((4, 5))
P = np.abs(RNG.standard_normal((4, 5)))
P /= P.sum(1, keepdims=True)


def t64(a, grad=False):
    return torch.tensor(np.array(a, dtype=np.float64), requires_grad=grad)


def _cos(a, b, axis):
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.sqrt((a * a).sum(axis, keepdims=True)), 1e-8)
    nb = np.maximum(np.sqrt((b * b).sum(axis, keepdims=True)), 1e-8)
    return ((a / na) * (b / nb)).sum(axis)


def _log_softmax(x, axis):
    m = x.max(axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis, keepdims=True))


CASES = [
    ("cosine", lambda T, x, y: T.nn.functional.cosine_similarity(x, y), lambda a, b: _cos(a, b, 1)),
    ("cosine_broadcast_dim0", lambda T, x, y: T.nn.functional.cosine_similarity(x, y[:1], dim=0),
     lambda a, b: _cos(a, b[:1], 0)),
    ("cosine_zero_row", lambda T, x, y: T.nn.functional.cosine_similarity(x * (T.arange(5.0, dtype=T.float64) > 0), y),
     lambda a, b: _cos(a * (np.arange(5) > 0), b, 1)),
    ("pairwise", lambda T, x, y: T.nn.functional.pairwise_distance(x, y),
     lambda a, b: np.sqrt(((a - b + 1e-6) ** 2).sum(-1))),
    ("pairwise_p1_keepdim", lambda T, x, y: T.nn.functional.pairwise_distance(x, y, p=1.0, keepdim=True),
     lambda a, b: np.abs(a - b + 1e-6).sum(-1, keepdims=True)),
    ("xent_probs", lambda T, x, y: T.nn.functional.cross_entropy(x, y.softmax(1)),
     lambda a, b: -(_softmax(b) * _log_softmax(a, 1)).sum(1).mean()),
    ("xent_probs_weight_smooth_none", lambda T, x, y: T.nn.functional.cross_entropy(
        x, y.softmax(1), weight=T.arange(1.0, 6.0, dtype=T.float64), label_smoothing=0.2, reduction="none"),
     lambda a, b: -((_softmax(b) * 0.8 + 0.04) * _log_softmax(a, 1) * np.arange(1.0, 6.0)).sum(1)),
    ("xent_probs_4d_sum", lambda T, x, y: T.nn.functional.cross_entropy(
        x.reshape(1, 5, 2, 2), y.reshape(1, 5, 2, 2).softmax(1), reduction="sum"),
     lambda a, b: -(_softmax(b.reshape(1, 5, 2, 2), 1) * _log_softmax(a.reshape(1, 5, 2, 2), 1)).sum()),
    ("pad_sequence", lambda T, x, y: T.nn.utils.rnn.pad_sequence([x[:2], y[:3], x[:1]], batch_first=True,
                                                                padding_value=-1.0),
     lambda a, b: np.stack([np.concatenate([a[:2], -np.ones((1, 5))]), b[:3],
                            np.concatenate([a[:1], -np.ones((2, 5))])])),
    ("pad_sequence_left", lambda T, x, y: T.nn.utils.rnn.pad_sequence([x[:2], y[:3]], padding_side="left"),
     lambda a, b: np.stack([np.concatenate([np.zeros((1, 5)), a[:2]]), b[:3]], 1)),
]


def _softmax(x, axis=1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_values_match_numpy(name, fn, ref):
    got = fn(torch, t64(A), t64(B)).numpy()
    np.testing.assert_allclose(got, ref(A, B), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_gradients_match_finite_differences(name, fn, ref):
    assert gradcheck(lambda x, y: fn(torch, x, y), (t64(A, True), t64(B, True)), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("name,fn,ref", CASES, ids=[c[0] for c in CASES])
def test_values_and_gradients_match_pytorch(name, fn, ref, pt):
    results = []
    for lib_ in (torch, pt):
        x, y = lib_.tensor(A, requires_grad=True), lib_.tensor(B, requires_grad=True)
        out = fn(lib_, x, y)
        out.sum().backward()
        results.append([out.detach().numpy(), x.grad.numpy(), y.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_embedding_from_pretrained_shares_the_table_and_freezes_it():
    table = torch.tensor(A)
    emb = torch.nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.weight.shape == (4, 5)
    np.testing.assert_array_equal(emb(torch.tensor([2, 0])).numpy(), A[[2, 0]])
    with torch.no_grad():
        table[0, 0] = 7.0
    assert emb.weight[0, 0].item() == 7.0  # the same memory, as PyTorch
    trainable = torch.nn.Embedding.from_pretrained(torch.tensor(A), freeze=False, padding_idx=1)
    trainable(torch.tensor([1, 3])).sum().backward()
    assert trainable.weight.grad[1].abs().sum().item() == 0 and trainable.weight.grad[3].sum().item() == 5
    with pytest.raises(ValueError, match="Embeddings parameter is expected to be 2-dimensional"):
        torch.nn.Embedding.from_pretrained(torch.ones(3))


ERRORS = [
    ("xent_probs_shape", lambda: F.cross_entropy(torch.ones(2, 3), torch.ones(2, 4) / 4), TypeError,
     "cross_entropy: expected int64 class indices as target"),
    ("xent_probs_dtype", lambda: F.cross_entropy(torch.ones(2, 3), torch.ones(2, 3, dtype=torch.float64)), TypeError,
     "same floating dtype"),
    ("pad_side", lambda: torch.nn.utils.rnn.pad_sequence([torch.ones(2)], padding_side="up"), ValueError,
     "padding_side"),
    ("pad_shapes", lambda: torch.nn.utils.rnn.pad_sequence([torch.ones(2, 3), torch.ones(2, 4)]), RuntimeError,
     "pad_sequence: every sequence must have shape"),
    ("cosine_int", lambda: F.cosine_similarity(torch.ones(2, dtype=torch.int64), torch.ones(2)), NotImplementedError,
     "cosine_similarity"),
]


@pytest.mark.parametrize("name,call,exc,pattern", ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_calls_raise_clear_errors(name, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()
