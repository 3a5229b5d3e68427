"""Matrix decompositions (pyautodiff/_linalg_decomp.py): values and gradients against
PyTorch (skipped without it), gradients against finite differences in float64, values
against NumPy, result types and errors."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.autograd import gradcheck


def spd(T, x):
    """A symmetric positive-definite matrix (batch) made from x."""
    return x @ x.transpose(-2, -1) + 3 * T.eye(x.shape[-1], dtype=x.dtype)


def sym(T, x):
    return x + x.transpose(-2, -1)


def eig_invariant(T, res):
    """Eigen/singular vectors enter squared: their signs are LAPACK's choice."""
    w, v = res
    return T.cat([w.flatten(), (v * v).flatten()])


def svd_invariant(T, res, k=None):
    u, s, vh = res
    if k is not None:
        u, vh = u[..., :, :k], vh[..., :k, :]
    return T.cat([s.flatten(), (u * u).flatten(), (vh * vh).flatten(), (u @ T.diag_embed(s) @ vh).flatten()])


def tri_solve(T, x, **kw):
    a = x[..., :, :4] + 3 * T.eye(4, dtype=x.dtype)
    return T.linalg.solve_triangular(a, x[..., :, 4:], **kw)


# (name, fn(T, x), shape): differentiable functions of one float tensor
GRAD_CASES = [
    ("cholesky", lambda T, x: T.linalg.cholesky(spd(T, x)), (4, 4)),
    ("cholesky_upper_batched", lambda T, x: T.linalg.cholesky(spd(T, x), upper=True), (2, 3, 3)),
    ("cholesky_legacy", lambda T, x: T.cholesky(spd(T, x)), (3, 3)),
    ("cholesky_solve", lambda T, x: T.cholesky_solve(x[:, :2], T.linalg.cholesky(spd(T, x))), (4, 4)),
    ("cholesky_solve_upper", lambda T, x: T.cholesky_solve(x[:, 1:], T.linalg.cholesky(spd(T, x), upper=True), True),
     (3, 3)),
    ("cholesky_inverse", lambda T, x: T.cholesky_inverse(T.linalg.cholesky(spd(T, x))), (3, 3)),
    ("qr_tall", lambda T, x: T.cat([t.flatten() for t in T.linalg.qr(x)]), (5, 3)),
    ("qr_square_complete", lambda T, x: T.cat([t.flatten() for t in T.linalg.qr(x, mode="complete")]), (4, 4)),
    ("qr_wide", lambda T, x: T.cat([t.flatten() for t in T.linalg.qr(x)]), (3, 5)),
    ("qr_batched_R_only_used", lambda T, x: T.linalg.qr(x).R, (2, 4, 3)),
    ("qr_legacy", lambda T, x: T.qr(x)[0], (4, 3)),
    ("eigh", lambda T, x: eig_invariant(T, T.linalg.eigh(sym(T, x))), (4, 4)),
    ("eigh_upper_batched", lambda T, x: eig_invariant(T, T.linalg.eigh(sym(T, x), UPLO="U")), (2, 3, 3)),
    ("eigvalsh", lambda T, x: T.linalg.eigvalsh(sym(T, x)), (4, 4)),
    ("svd_tall", lambda T, x: svd_invariant(T, T.linalg.svd(x, full_matrices=False)), (5, 3)),
    ("svd_wide", lambda T, x: svd_invariant(T, T.linalg.svd(x, full_matrices=False)), (3, 5)),
    ("svd_full_matrices", lambda T, x: svd_invariant(T, T.linalg.svd(x), k=3), (5, 3)),
    ("svd_batched", lambda T, x: svd_invariant(T, T.linalg.svd(x, full_matrices=False)), (2, 3, 4)),
    ("svd_legacy", lambda T, x: (lambda r: T.cat([r.S, (r.U * r.U).flatten(), (r.V * r.V).flatten()]))(T.svd(x)),
     (4, 3)),
    ("svdvals", lambda T, x: T.linalg.svdvals(x), (3, 5)),
    ("matrix_norm_2", lambda T, x: T.linalg.matrix_norm(x, 2), (2, 3, 4)),
    ("matrix_norm_nuc_keepdim", lambda T, x: T.linalg.matrix_norm(x, "nuc", dim=(0, 2), keepdim=True), (3, 2, 4)),
    ("matrix_norm_-2", lambda T, x: T.linalg.matrix_norm(x, -2), (4, 3)),
    ("cond", lambda T, x: T.linalg.cond(x), (4, 4)),
    ("slogdet", lambda T, x: T.linalg.slogdet(x + 3 * T.eye(4, dtype=x.dtype)).logabsdet, (2, 4, 4)),
    ("logdet", lambda T, x: T.logdet(spd(T, x)), (3, 3)),
    ("pinv_tall", lambda T, x: T.linalg.pinv(x), (5, 3)),
    ("pinv_wide_batched", lambda T, x: T.linalg.pinv(x), (2, 3, 5)),
    ("pinv_hermitian", lambda T, x: T.linalg.pinv(spd(T, x), hermitian=True), (3, 3)),
    ("pinverse", lambda T, x: T.pinverse(x), (4, 3)),
    ("lstsq", lambda T, x: T.linalg.lstsq(x[:, :3], x[:, 3:]).solution, (6, 5)),
    ("solve_triangular_lower", lambda T, x: tri_solve(T, x, upper=False), (4, 6)),
    ("solve_triangular_upper_unit", lambda T, x: tri_solve(T, x, upper=True, unitriangular=True), (4, 6)),
    ("solve_triangular_right", lambda T, x: T.linalg.solve_triangular(
        x[:4] + 3 * T.eye(4, dtype=x.dtype), x[4:], upper=True, left=False), (6, 4)),
]


def _draw(shape, dtype, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(dtype)


@pytest.mark.parametrize("name,fn,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradients_against_finite_differences(name, fn, shape):
    x = torch.tensor(_draw(shape, np.float64), requires_grad=True)
    assert gradcheck(lambda x: fn(torch, x), (x,))


@pytest.mark.parametrize("name,fn,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_against_pytorch(against_pytorch, name, fn, shape):
    against_pytorch(fn, [_draw(shape, np.float32)], 1e-4, 1e-5, 1e-3, 1e-4)


@pytest.mark.parametrize("op", ["eigh", "cholesky", "svd", "qr"])
def test_raw_gradient_conventions_match_pytorch(pt, op):
    # The gradient with respect to the matrix itself, not through a symmetrising
    # composition: PyTorch symmetrises eigh's and cholesky's.
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (4, 4))
    s = (x @ x.T + 3 * np.eye(4)) if op == "cholesky" else (x + x.T if op == "eigh" else x)
    sa, sb = torch.tensor(s, requires_grad=True), pt.tensor(s, requires_grad=True)
    ga = [torch.tensor(rng.standard_normal((4, 4))) for _ in range(2)]
    gb = [pt.tensor(g.numpy()) for g in ga]

    def loss(T, m, g):
        if op == "eigh":
            w, v = T.linalg.eigh(m)
            return (w * g[0][0]).sum() + (v * v * g[1]).sum()
        if op == "cholesky":
            return (T.linalg.cholesky(m) * g[0]).sum()
        if op == "svd":
            u, sv, vh = T.linalg.svd(m)
            return (sv * g[0][0]).sum() + (u * u * g[1]).sum() + (vh * vh * g[0]).sum()
        q, r = T.linalg.qr(m)
        return (q * g[0]).sum() + (r * g[1]).sum()

    loss(torch, sa, ga).backward()
    loss(pt, sb, gb).backward()
    np.testing.assert_allclose(sa.grad.numpy(), sb.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_values_against_numpy_and_result_types():
    a = _draw((5, 3), np.float64)
    q, r = torch.linalg.qr(torch.tensor(a))
    nq, nr = np.linalg.qr(a)
    np.testing.assert_array_equal(q.numpy(), nq)
    np.testing.assert_array_equal(r.numpy(), nr)
    res = torch.linalg.qr(torch.tensor(a), mode="r")
    assert res.Q.shape == (0,) and np.array_equal(res.R.numpy(), nr)
    res = torch.linalg.svd(torch.tensor(a))
    assert (res.U.shape, res.S.shape, res.Vh.shape) == ((5, 5), (3,), (3, 3))
    eig = torch.linalg.eigh(torch.tensor(a.T @ a))
    assert eig.eigenvalues.shape == (3,) and eig.eigenvectors.shape == (3, 3)
    np.testing.assert_allclose(eig.eigenvalues.numpy(), np.linalg.eigvalsh(a.T @ a), rtol=1e-14)
    sign, logabs = torch.linalg.slogdet(torch.tensor(a[:3]))
    ns, nl = np.linalg.slogdet(a[:3])
    assert sign.item() == ns and logabs.item() == pytest.approx(nl, rel=1e-14)
    x = torch.tensor(a[:3], dtype=torch.float32)
    assert torch.linalg.svdvals(x).dtype == torch.float32 and torch.linalg.pinv(x).dtype == torch.float32
    assert torch.linalg.matrix_rank(torch.tensor(a)).item() == 3
    low = np.outer(np.arange(1.0, 5.0), np.arange(1.0, 4.0))  # rank 1
    assert torch.linalg.matrix_rank(torch.tensor(low)).item() == 1
    assert torch.linalg.matrix_rank(torch.tensor(low), atol=100.0).item() == 0
    sol = torch.linalg.lstsq(torch.tensor(a), torch.tensor(a[:, :1]))
    np.testing.assert_allclose(sol.solution.numpy(), np.linalg.lstsq(a, a[:, :1], rcond=None)[0], atol=1e-12)
    assert sol.rank.item() == 3 and sol.residuals.shape == (0,)
    vec = torch.linalg.lstsq(torch.tensor(a), torch.tensor(a[:, 0])).solution
    np.testing.assert_allclose(vec.numpy(), [1, 0, 0], atol=1e-12)


def test_cholesky_of_a_non_positive_definite_matrix_raises_with_the_minor():
    a = torch.tensor([[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(torch.linalg.LinAlgError, match="leading minor of order 2 is not positive-definite"):
        torch.linalg.cholesky(a)
    batch = torch.stack([torch.eye(3), a])
    with pytest.raises(RuntimeError, match=r"\(Batch element 1\).*order 2"):
        torch.linalg.cholesky(batch)
    L, info = torch.linalg.cholesky_ex(batch)
    assert info.tolist() == [0, 2]
    np.testing.assert_array_equal(L[0].numpy(), np.eye(3))
    with pytest.raises(torch.linalg.LinAlgError):
        torch.linalg.cholesky_ex(batch, check_errors=True)


def test_inv_ex_and_singular_errors():
    a = torch.tensor([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 0.0], [0.0, 4.0]]])
    inverse, info = torch.linalg.inv_ex(a)
    assert info.tolist() == [1, 0]
    np.testing.assert_allclose(inverse[1].numpy(), [[0.5, 0.0], [0.0, 0.25]])
    with pytest.raises(torch.linalg.LinAlgError, match="singular"):
        torch.linalg.inv(a)
    assert issubclass(torch.linalg.LinAlgError, RuntimeError)


def test_bad_inputs_name_the_op():
    with pytest.raises(RuntimeError, match="linalg.cholesky: A must be batches of square matrices"):
        torch.linalg.cholesky(torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="linalg.svd: The input tensor A must have at least 2 dimensions"):
        torch.linalg.svd(torch.ones(3))
    with pytest.raises(RuntimeError, match="linalg.eigh: Expected a floating point tensor as input. Got int64"):
        torch.linalg.eigh(torch.ones(2, 2, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="UPLO argument to be 'L' or 'U'"):
        torch.linalg.eigh(torch.eye(2), UPLO="X")
    with pytest.raises(RuntimeError, match="unrecognized mode 'thin'"):
        torch.linalg.qr(torch.eye(2), mode="thin")
    with pytest.raises(torch.linalg.LinAlgError, match="linalg.svd: .*non-finite"):
        torch.linalg.svd(torch.tensor([[1.0, float("nan")], [0.0, 1.0]]))
    with pytest.raises(RuntimeError, match="solve_triangular: shapes"):
        torch.linalg.solve_triangular(torch.eye(3), torch.ones(2, 2), upper=True)
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        torch.linalg.matrix_norm(torch.eye(2), 3)


def test_qr_backward_refusals_match_pytorch():
    x = torch.tensor(_draw((4, 3), np.float64), requires_grad=True)
    with pytest.raises(RuntimeError, match="not computed when mode='r'"):
        torch.linalg.qr(x, mode="r").R.sum().backward()
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        torch.linalg.qr(x, mode="complete").Q.sum().backward()


def test_unused_results_get_zero_gradient_and_no_grad_records_nothing():
    x = torch.tensor(_draw((4, 4), np.float64), requires_grad=True)
    u, s, vh = torch.linalg.svd(x)
    s.sum().backward()  # only S used: the gradient is U V^T
    np.testing.assert_allclose(x.grad.numpy(), (u[:, :4] @ vh).detach().numpy(), rtol=1e-12, atol=1e-12)
    with torch.no_grad():
        q, r = torch.linalg.qr(x)
    assert not q.requires_grad and not r.requires_grad
    assert not torch.linalg.eigh(x.detach() + x.detach().T).eigenvalues.requires_grad


def test_solve_triangular_reads_one_triangle_and_handles_a_zero_pivot():
    a = np.triu(_draw((3, 3), np.float64)) + 2 * np.eye(3)
    junk = a + np.tril(np.full((3, 3), 7.0), -1)  # the other triangle must be ignored
    b = _draw((3, 2), np.float64, seed=4)
    x = torch.linalg.solve_triangular(torch.tensor(junk), torch.tensor(b), upper=True)
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a, b), rtol=1e-12)
    singular = np.triu(np.ones((2, 2)))
    singular[1, 1] = 0
    out = torch.linalg.solve_triangular(torch.tensor(singular), torch.ones(2, 1, dtype=torch.float64), upper=True)
    assert np.isinf(out.numpy()[1, 0])


# ---- regressions from review ----------------------------------------------------------------

def test_only_singular_or_eigen_values_used_gives_a_finite_gradient():
    # unused U/V (or eigenvectors) arrive as zeros; their 0/0 terms for tied values must not
    # turn the gradient into NaN (PyTorch: U V^T, and V V^T for eigh)
    for make in (lambda A: torch.linalg.svd(A).S, lambda A: torch.linalg.eigh(A).eigenvalues,
                 lambda A: torch.svd(A).S, lambda A: torch.linalg.svdvals(A)):
        A = torch.eye(3, dtype=torch.float64, requires_grad=True)
        make(A).sum().backward()
        np.testing.assert_allclose(A.grad.numpy(), np.eye(3), atol=1e-15)
    A = torch.tensor(np.vstack([np.diag([1.0, 2.0, 0.0]), np.zeros((1, 3))]), requires_grad=True)
    torch.linalg.svd(A).S.sum().backward()
    assert np.isfinite(A.grad.numpy()).all()


def test_backward_closures_hold_no_input():
    import gc
    import weakref

    A = torch.tensor(np.tril(_draw((3, 3), np.float64)) + 2 * np.eye(3), requires_grad=True)
    for op in (lambda b: torch.linalg.solve_triangular(A, b, upper=False), lambda b: torch.cholesky_solve(b, A)):
        x = torch.ones(3, 2, dtype=torch.float64, requires_grad=True)
        B = x * 1.0
        out = op(B)
        ref = weakref.ref(B)
        del B, x
        gc.collect()
        assert ref() is None
        out.sum().backward()


def test_empty_matrices():
    for shape in ((0, 0), (2, 0, 0)):
        z = torch.zeros(*shape)
        assert torch.linalg.cholesky(z).shape == shape
        assert torch.linalg.cholesky_ex(z).L.shape == shape
        assert torch.linalg.inv_ex(z).inverse.shape == shape
        assert torch.linalg.cond(z).tolist() == ([0.0, 0.0] if len(shape) == 3 else 0.0)


def test_cholesky_of_non_finite_input_fails_like_lapack():
    nan = float("nan")
    with pytest.raises(torch.linalg.LinAlgError, match="leading minor of order 1"):
        torch.linalg.cholesky(torch.tensor([[nan, 0.0], [0.0, 1.0]]))
    assert torch.linalg.cholesky_ex(torch.tensor([[1.0, nan], [nan, 1.0]])).info.item() == 2


def test_lstsq_drivers_shapes_and_errors(pt):
    a = _draw((5, 3), np.float64)
    b = _draw((5, 2), np.float64, seed=1)
    for driver in ("gelsy", "gels", "gelsd", "gelss"):
        ours, theirs = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver), \
            pt.linalg.lstsq(pt.tensor(a), pt.tensor(b), driver=driver)
        for x, y in zip(ours, theirs):
            assert tuple(x.shape) == tuple(y.shape)
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(RuntimeError, match="input.dim\\(\\) must be greater or equal to other.dim\\(\\)"):
        torch.linalg.lstsq(torch.ones(4, 3), torch.ones(2, 4, 2))
    with pytest.raises(RuntimeError, match="lstsq: Expected input and other to have the same dtype"):
        torch.linalg.lstsq(torch.ones(4, 3), torch.ones(4, 2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="lstsq: input.size\\(-2\\) should match other.size\\(-2\\)"):
        torch.linalg.lstsq(torch.ones(4, 3), torch.ones(5, 2))


def test_rank_tolerances_match_pytorch(pt):
    a = _draw((2, 4, 3), np.float64)
    a[..., 2] = a[..., 0] + a[..., 1]
    atol = [0.0, 0.1]
    assert torch.linalg.matrix_rank(torch.tensor(a), atol=torch.tensor(atol)).tolist() == \
        pt.linalg.matrix_rank(pt.tensor(a), atol=pt.tensor(atol)).tolist()
    np.testing.assert_allclose(torch.linalg.pinv(torch.tensor(a), atol=torch.tensor(atol)).numpy(),
                               pt.linalg.pinv(pt.tensor(a), atol=pt.tensor(atol)).numpy(), rtol=1e-9, atol=1e-12)
    assert torch.linalg.matrix_rank(torch.tensor(a[0]), tol=0.0).item() == \
        pt.linalg.matrix_rank(pt.tensor(a[0]), tol=0.0).item()
    with pytest.raises(TypeError, match="tol cannot be given together with atol"):
        torch.linalg.matrix_rank(torch.tensor(a), tol=0.1, atol=0.1)
    with pytest.raises(RuntimeError, match="matrix_rank: A must be batches of square matrices"):
        torch.linalg.matrix_rank(torch.tensor(a), hermitian=True)


def test_conventions_match_pytorch(pt):
    singular = torch.tensor([[1.0, 2.0], [2.0, 4.0]])
    for p in (1, -1, float("inf"), "fro"):
        assert torch.linalg.cond(singular, p).item() == pt.linalg.cond(pt.tensor(singular.numpy()), p).item()
    u, s, v = torch.svd(torch.ones(4, 2), compute_uv=False)
    assert u.shape == (4, 4) and v.shape == (2, 2)
    res = torch.linalg.inv_ex(torch.eye(2))
    assert res.inverse.shape == (2, 2) and res.info.item() == 0
    assert torch.linalg.qr(torch.ones(2, 3, 3), mode="r").Q.shape == (0,)
    # cholesky_solve's L gradient uses all of input2 (both triangles), as PyTorch's
    full = _draw((3, 3), np.float64) + 3 * np.eye(3)
    b = _draw((3, 2), np.float64, seed=3)
    la, lb = torch.tensor(full, requires_grad=True), pt.tensor(full, requires_grad=True)
    torch.cholesky_solve(torch.tensor(b), la).sum().backward()
    pt.cholesky_solve(pt.tensor(b), lb).sum().backward()
    np.testing.assert_allclose(la.grad.numpy(), lb.grad.numpy(), rtol=1e-10)
    with pytest.raises(RuntimeError, match="Expected b and A to have the same dtype"):
        torch.cholesky_solve(torch.ones(3, 2), la)
    # pinv(hermitian=True): PyTorch's generic gradient formula
    s = _draw((3, 3), np.float64)
    s = s + s.T + 4 * np.eye(3)
    sa, sb = torch.tensor(s, requires_grad=True), pt.tensor(s, requires_grad=True)
    g = _draw((3, 3), np.float64, seed=5)
    (torch.linalg.pinv(sa, hermitian=True) * torch.tensor(g)).sum().backward()
    (pt.linalg.pinv(sb, hermitian=True) * pt.tensor(g)).sum().backward()
    np.testing.assert_allclose(sa.grad.numpy(), sb.grad.numpy(), rtol=1e-9, atol=1e-12)
