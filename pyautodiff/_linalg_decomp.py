"""The matrix decompositions of torch.linalg and what is built on them: cholesky (and
cholesky_ex, cholesky_solve, cholesky_inverse), qr, eigh, eigvalsh, svd, svdvals, slogdet,
logdet, pinv, lstsq, matrix_rank and solve_triangular.

Values come from NumPy's LAPACK in float64 and are rounded once to the input's dtype (as
`linalg.det inv solve`; see docs/ARCHITECTURE.md, "Where the numerics are").  Gradients
are the analytic formulas PyTorch uses, evaluated in float64 at forward time's values:
    cholesky   gA = sym(L^-T phi(L^T gL) L^-1), phi = lower triangle, diagonal halved
    qr         gA = (gQ + Q copyltu(M)) R^-T, M = R gR^T - gQ^T Q (rows >= cols; a wide A
               splits as [X | Y] with R = [U | V])
    eigh       gA = sym(V (diag(gL) + (V^T gV) / E) V^T), E[i, j] = L[j] - L[i]
    svd        gA = U (skew(U^T gU) / E S + S skew(V^T gV) / E + diag(gS)) V^T, plus the
               terms of gU and gV outside the spans of U and V; E[i, j] = S[j]^2 - S[i]^2
    pinv       gA = -P^T gP P^T + (I - A P) gP^T P P^T + P^T P gP^T (I - P A)
As in PyTorch, the eigenvector and singular-vector gradients are finite only for distinct
eigenvalues / singular values, and sign-dependent losses of the vectors are not
well defined (LAPACK picks the signs).

Several results of one call are views of one recorded tensor, so that one graph node sees
the gradient of each of them (zeros for the ones a loss does not use)."""
from __future__ import annotations

import builtins
from typing import Any, Callable, NamedTuple, Sequence

import numpy as np

from ._ops_extra import _from_numpy, _recorded, _values
from ._tensor import Tensor

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cholesky_solve", "cholesky_inverse", "qr", "eigh",
           "eigvalsh", "svd", "svdvals", "svd_legacy", "slogdet", "logdet", "pinv", "lstsq", "matrix_rank",
           "solve_triangular", "QRResult", "EighResult", "SVDResult", "SVDLegacyResult", "SlogdetResult",
           "LstsqResult", "CholeskyExResult"]


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a decomposition or solve that cannot be completed."""


class QRResult(NamedTuple):
    Q: Tensor
    R: Tensor


class EighResult(NamedTuple):
    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    U: Tensor
    S: Tensor
    Vh: Tensor


class SVDLegacyResult(NamedTuple):
    U: Tensor
    S: Tensor
    V: Tensor


class SlogdetResult(NamedTuple):
    sign: Tensor
    logabsdet: Tensor


class LstsqResult(NamedTuple):
    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


class CholeskyExResult(NamedTuple):
    L: Tensor
    info: Tensor


# ---- helpers ---------------------------------------------------------------------------

def _matrices(op: str, A: Tensor, square: builtins.bool = False) -> np.ndarray:
    """A's values in float64, after PyTorch's checks: at least 2-d, floating, square when asked."""
    if not isinstance(A, Tensor):
        raise TypeError(f"linalg.{op}: expected a Tensor, got {type(A).__name__}")
    if A.dim() < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.{op}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if not A.dtype.is_floating_point:
        raise RuntimeError(f"linalg.{op}: Expected a floating point tensor as input. Got {A.dtype.name}")
    a = _values(A).astype(np.float64)
    if not np.isfinite(a).all() and op in ("svd", "svdvals", "pinv", "lstsq", "matrix_rank", "eigh", "eigvalsh"):
        raise LinAlgError(f"linalg.{op}: The algorithm failed to converge because the input matrix contained "
                          "non-finite values.")
    return a


def _mT(x: np.ndarray) -> np.ndarray:
    return np.swapaxes(x, -1, -2)


def _tracks(*inputs: Tensor) -> builtins.bool:
    from .autograd.grad_mode import is_grad_enabled

    return is_grad_enabled() and builtins.any(isinstance(t, Tensor) and t.requires_grad for t in inputs)


def _node(results: Sequence[np.ndarray], dtype: Any, inputs: Sequence[Tensor],
          backward: Callable[[list[np.ndarray]], Sequence[np.ndarray | None]], batch: tuple[int, ...]) -> list[Tensor]:
    """The float64 `results` rounded to `dtype`, as tensors.  When an input requires grad,
    they are views of one recorded tensor: `backward(grads)` gets the float64 gradient of
    every result (zeros where unused) and returns each input's (or None).  Every result
    has the leading dims `batch`."""
    outs = [np.array(r, dtype=dtype.numpy, order="C") for r in results]  # (0-d stays 0-d)
    if not _tracks(*inputs):
        return [_from_numpy(o) for o in outs]
    batch = tuple(batch)
    flat: list[np.ndarray] = [o.reshape(batch + (-1,)) if o.size else np.zeros(batch + (0,), o.dtype)
                              for o in outs]
    sizes = [f.shape[-1] for f in flat]
    shapes = [o.shape for o in outs]
    specs = [(tuple(t.shape), t.dtype) if t.requires_grad else None for t in inputs]

    def grads_of_inputs(g: Tensor) -> tuple[Tensor | None, ...]:
        gv = _values(g).astype(np.float64)
        parts, start = [], 0
        for size, shape in zip(sizes, shapes):
            parts.append(gv[..., start:start + size].reshape(shape))
            start += size
        got = backward(parts)
        return tuple(None if spec is None or gi is None else _from_numpy(np.asarray(gi).astype(spec[1].numpy))
                     for spec, gi in zip(specs, got))

    packed = _recorded(np.concatenate(flat, axis=-1), list(inputs), grads_of_inputs)
    views, start = [], 0
    for size, shape in zip(sizes, shapes):
        views.append(packed.narrow(-1, start, size).reshape(shape))
        start += size
    return views


def _batch_note(a: np.ndarray, index: int) -> str:
    return f"(Batch element {index}): " if a.ndim > 2 else ""


def _tril_half(x: np.ndarray) -> np.ndarray:
    """The lower triangle of x with its diagonal halved."""
    out = np.tril(x)
    d = np.einsum("...ii->...i", out)
    d *= 0.5
    return out


# ---- cholesky ------------------------------------------------------------------------------

def _cholesky64(a: np.ndarray, upper: builtins.bool) -> tuple[np.ndarray, np.ndarray]:
    """(L or U, info): info[b] = 0, or the order of the first leading minor of matrix b
    that is not positive-definite (its factor is then zeros).  Reads the lower triangle
    (upper=False) or the upper one."""
    src = _mT(a) if upper else a

    def minor(m: np.ndarray) -> int:
        n = m.shape[-1]
        return next((k for k in range(1, n + 1) if not _is_pd(m[:k, :k])), n)

    factor, info = _per_matrix(src, _finite_cholesky, minor)
    return (_mT(factor) if upper else factor), info


def _per_matrix(a: np.ndarray, fn: Callable[[np.ndarray], np.ndarray],
                failure: Callable[[np.ndarray], int]) -> tuple[np.ndarray, np.ndarray]:
    """fn on each matrix of the batch a (same-shape results), without raising: (results,
    info), a failed matrix's result zeros and its info failure(matrix), else 0."""
    flat: np.ndarray = a.reshape((int(np.prod(a.shape[:-2])),) + a.shape[-2:])
    out = np.zeros_like(flat)
    info = np.zeros(flat.shape[0], np.int64)
    for b in range(flat.shape[0]):
        try:
            out[b] = fn(flat[b])
        except np.linalg.LinAlgError:
            info[b] = failure(flat[b])
    return out.reshape(a.shape), info.reshape(a.shape[:-2])


def _is_pd(a: np.ndarray) -> builtins.bool:
    try:
        _finite_cholesky(a)
        return True
    except np.linalg.LinAlgError:
        return False


def _finite_cholesky(a: np.ndarray) -> np.ndarray:
    """NumPy's Cholesky factor, a non-finite one counted as a failure (LAPACK's potrf
    stops at a NaN pivot; NumPy returns NaNs)."""
    factor = np.linalg.cholesky(a)
    if not np.isfinite(factor).all():
        raise np.linalg.LinAlgError("non-finite factor")
    return factor


def _cholesky_backward(L: np.ndarray, gL: np.ndarray) -> np.ndarray:
    phi = _tril_half(_mT(L) @ gL)
    # L^-T phi L^-1 through two triangular solves (as dense solves: L is invertible here)
    x = np.linalg.solve(_mT(L), phi)             # L^-T phi
    g = _mT(np.linalg.solve(_mT(L), _mT(x)))     # (L^-T x^T)^T = x L^-1
    return 0.5 * (g + _mT(g))


def cholesky(A: Tensor, *, upper: builtins.bool = False, out: Any = None) -> Tensor:
    """The Cholesky factor L (A = L L^T) of each symmetric positive-definite matrix, or U
    (A = U^T U) with upper=True; only that triangle of A is read."""
    _no_out("cholesky", out)
    a = _matrices("cholesky", A, square=True)
    factor, info = _cholesky64(a, upper)
    bad = np.flatnonzero(info.ravel())
    if bad.size:
        b = int(bad[0])
        raise LinAlgError(f"linalg.cholesky: {_batch_note(a, b)}The factorization could not be completed because "
                          f"the input is not positive-definite (the leading minor of order {int(info.ravel()[b])} "
                          "is not positive-definite).")

    def backward(g: list[np.ndarray]) -> list[np.ndarray]:
        L = _mT(factor) if upper else factor
        gL = _mT(g[0]) if upper else g[0]
        return [_cholesky_backward(L, gL)]

    return _node([factor], A.dtype, [A], backward, a.shape[:-2])[0]


def cholesky_ex(A: Tensor, *, upper: builtins.bool = False, check_errors: builtins.bool = False,
                out: Any = None) -> CholeskyExResult:
    """(L, info) without raising: info is 0 where the factorization succeeded, else the order
    of the first leading minor that is not positive-definite (int64 here, int32 in PyTorch);
    the factor of such a matrix is zeros here (PyTorch leaves LAPACK's partial result)."""
    _no_out("cholesky_ex", out)
    if check_errors:
        L = cholesky(A, upper=upper)
        return CholeskyExResult(L, _from_numpy(np.zeros(tuple(A.shape[:-2]), np.int64)))
    a = _matrices("cholesky_ex", A, square=True)
    factor, info = _cholesky64(a, upper)

    def backward(g: list[np.ndarray]) -> list[np.ndarray]:
        L = _mT(factor) if upper else factor
        gL = _mT(g[0]) if upper else g[0]
        ok = (info == 0)[..., None, None]
        safe = np.where(ok, L, np.eye(L.shape[-1]))
        return [np.where(ok, _cholesky_backward(safe, gL), 0.0)]

    return CholeskyExResult(_node([factor], A.dtype, [A], backward, a.shape[:-2])[0],
                            _from_numpy(info.astype(np.int64)))


def cholesky_solve(B: Tensor, L: Tensor, upper: builtins.bool = False, *, out: Any = None) -> Tensor:
    """X with A X = B where A = L L^T (or U^T U with upper=True), as torch.cholesky_solve;
    only the given triangle of L is read."""
    _no_out("cholesky_solve", out)
    lv = _matrices("cholesky_solve", L, square=True)
    bv = _matrices("cholesky_solve", B)
    if L.dtype != B.dtype:
        raise RuntimeError(f"cholesky_solve: Expected b and A to have the same dtype, but found b of type "
                           f"{B.dtype.name} and A of type {L.dtype.name} instead.")
    tri = np.triu(lv) if upper else np.tril(lv)
    a = _mT(tri) @ tri if upper else tri @ _mT(tri)
    try:
        x = np.linalg.solve(a, bv)
    except (np.linalg.LinAlgError, ValueError) as e:
        raise RuntimeError(f"cholesky_solve: cannot solve with B of shape {tuple(B.shape)} and L of shape "
                           f"{tuple(L.shape)}: {e}") from None
    dtype = L.dtype
    b_shape = tuple(B.shape)

    def backward(g: list[np.ndarray]) -> list[np.ndarray | None]:
        gb = np.linalg.solve(a, g[0])                      # A^-1 g (A symmetric)
        common = -gb @ _mT(x)
        common = common + _mT(common)
        # -(gB X^T + X gB^T) L, or -U (...) for upper, with all of L (both triangles), as PyTorch's
        gl = lv @ common if upper else common @ lv
        return [_sum_to(gb, b_shape), gl]

    return _node([x], dtype, [B, L], backward, x.shape[:-2])[0]


def cholesky_inverse(L: Tensor, upper: builtins.bool = False, *, out: Any = None) -> Tensor:
    """(L L^T)^-1 (or (U^T U)^-1), as torch.cholesky_inverse."""
    from ._creation import eye

    n = L.shape[-1] if L.dim() >= 2 else 0
    ident = eye(n, dtype=L.dtype).expand(*L.shape) if L.dim() >= 2 else L
    return cholesky_solve(ident, L, upper, out=out)


# ---- qr ----------------------------------------------------------------------------------

def _copyltu(m: np.ndarray) -> np.ndarray:
    """The symmetric matrix with m's lower triangle (diagonal included)."""
    low = np.tril(m, -1)
    return low + _mT(low) + np.einsum("...ii->...i", m)[..., None] * np.eye(m.shape[-1])


def _qr_backward_tall(Q: np.ndarray, R: np.ndarray, gQ: np.ndarray, gR: np.ndarray) -> np.ndarray:
    """Rows >= cols (R square, invertible): (gQ + Q copyltu(M)) R^-T with M = R gR^T - gQ^T Q."""
    m = R @ _mT(gR) - _mT(gQ) @ Q
    b = gQ + Q @ _copyltu(m)
    return _mT(np.linalg.solve(R, _mT(b)))  # b R^-T


def qr(A: Tensor, mode: str = "reduced", *, out: Any = None) -> QRResult:
    """A = Q R with Q orthonormal columns and R upper triangular (LAPACK's signs: those of
    PyTorch's CPU results).  mode 'reduced', 'complete' or 'r' (Q is then empty)."""
    _no_out("qr", out)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    a = _matrices("qr", A)
    m, n = a.shape[-2], a.shape[-1]
    q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
    if mode == "r":
        q = np.zeros((0,))

    def backward(g: list[np.ndarray]) -> list[np.ndarray]:
        if mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        gQ, gR = g
        if m >= n:
            return [_qr_backward_tall(q, r, gQ, gR)]
        # wide: A = [X | Y], R = [U | V], X = Q U, V = Q^T Y
        u, gu, gv = r[..., :, :m], gR[..., :, :m], gR[..., :, m:]
        y = a[..., :, m:]
        gx = _qr_backward_tall(q, u, gQ + y @ _mT(gv), gu)
        gy = q @ gv
        return [np.concatenate([gx, gy], axis=-1)]

    if mode == "r":  # (Q is empty and has no batch dims: R alone is recorded)
        return QRResult(_from_numpy(q.astype(A.dtype.numpy)), _node([r], A.dtype, [A], backward, a.shape[:-2])[0])
    Q, R = _node([q, r], A.dtype, [A], backward, a.shape[:-2])
    return QRResult(Q, R)


# ---- eigh ----------------------------------------------------------------------------------

def _check_uplo(op: str, UPLO: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"linalg.{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> EighResult:  # noqa: N803 - PyTorch's name
    """The eigenvalues (ascending) and orthonormal eigenvectors (columns) of each symmetric
    matrix; only its lower (UPLO='L') or upper triangle is read."""
    _no_out("eigh", out)
    _check_uplo("eigh", UPLO)
    a = _matrices("eigh", A, square=True)
    w, v = np.linalg.eigh(a, UPLO="U" if UPLO == "U" else "L")

    def backward(g: list[np.ndarray]) -> list[np.ndarray]:
        gw, gv = g
        e = w[..., None, :] - w[..., :, None]          # e[i, j] = w[j] - w[i]
        n = w.shape[-1]
        eye = np.eye(n, dtype=bool)
        inner = np.zeros(v.shape)
        if gv.any():  # (unused eigenvectors come as zeros: 0/0 for tied eigenvalues left out)
            with np.errstate(divide="ignore", invalid="ignore"):
                inner = np.where(eye, 0.0, (_mT(v) @ gv) / np.where(eye, 1.0, e))
        inner = inner + gw[..., None] * np.eye(n)
        ga = v @ inner @ _mT(v)
        return [0.5 * (ga + _mT(ga))]  # symmetrised, as PyTorch's

    w_t, v_t = _node([w, v], A.dtype, [A], backward, a.shape[:-2])
    return EighResult(w_t, v_t)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Tensor:  # noqa: N803
    """The eigenvalues (ascending) of each symmetric matrix; gradient V diag(g) V^T."""
    _no_out("eigvalsh", out)
    _check_uplo("eigvalsh", UPLO)
    a = _matrices("eigvalsh", A, square=True)
    w, v = np.linalg.eigh(a, UPLO="U" if UPLO == "U" else "L")
    return _node([w], A.dtype, [A], lambda g: [(v * g[0][..., None, :]) @ _mT(v)], a.shape[:-2])[0]


# ---- svd -----------------------------------------------------------------------------------

def _svd_backward(u: np.ndarray, s: np.ndarray, vh: np.ndarray, gU: np.ndarray | None, gS: np.ndarray,
                  gVh: np.ndarray | None) -> np.ndarray:
    """The reduced SVD's gradient (u m x k, s k, vh k x n); gU, gVh restricted to k columns/rows."""
    m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
    # unused results come as zeros: then the vectors' terms (0/0 for tied values) are left out
    gU = None if gU is None or not gU.any() else gU
    gVh = None if gVh is None or not gVh.any() else gVh
    if gU is None and gVh is None:
        return (u * gS[..., None, :]) @ vh
    v = _mT(vh)
    gU = np.zeros_like(u) if gU is None else gU
    gV = np.zeros_like(v) if gVh is None else _mT(gVh)
    eye = np.eye(k, dtype=bool)
    s2 = s * s
    e = s2[..., None, :] - s2[..., :, None]          # e[i, j] = s[j]^2 - s[i]^2
    utgu, vtgv = _mT(u) @ gU, _mT(v) @ gV
    with np.errstate(divide="ignore", invalid="ignore"):
        j = np.where(eye, 0.0, (utgu - _mT(utgu)) / np.where(eye, 1.0, e))
        kk = np.where(eye, 0.0, (vtgv - _mT(vtgv)) / np.where(eye, 1.0, e))
        inner = j * s[..., None, :] + s[..., :, None] * kk + gS[..., None] * np.eye(k)
        ga = u @ inner @ vh
        inv_s = 1.0 / s
        if m > k:
            ga = ga + (gU - u @ utgu) * inv_s[..., None, :] @ vh
        if n > k:
            ga = ga + (u * inv_s[..., None, :]) @ _mT(gV - v @ vtgv)
    return ga


def svd(A: Tensor, full_matrices: builtins.bool = True, *, driver: Any = None, out: Any = None) -> SVDResult:
    """A = U diag(S) Vh with S descending; full_matrices=False gives the reduced factors.
    The gradient ignores the columns of U and rows of Vh past min(m, n), as PyTorch's."""
    _no_out("svd", out)
    a = _matrices("svd", A)
    m, n = a.shape[-2], a.shape[-1]
    k = builtins.min(m, n)
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)

    def backward(g: list[np.ndarray]) -> list[np.ndarray]:
        gU, gS, gVh = g
        return [_svd_backward(u[..., :, :k], s, vh[..., :k, :], gU[..., :, :k], gS, gVh[..., :k, :])]

    U, S, Vh = _node([u, s, vh], A.dtype, [A], backward, a.shape[:-2])
    return SVDResult(U, S, Vh)


def svdvals(A: Tensor, *, driver: Any = None, out: Any = None) -> Tensor:
    """The singular values (descending); gradient U diag(g) Vh."""
    _no_out("svdvals", out)
    a = _matrices("svdvals", A)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return _node([s], A.dtype, [A], lambda g: [(u * g[0][..., None, :]) @ vh], a.shape[:-2])[0]


def svd_legacy(input: Tensor, some: builtins.bool = True, compute_uv: builtins.bool = True, *,
               out: Any = None) -> SVDLegacyResult:
    """torch.svd: (U, S, V) with V (not V^T); some=False gives the full U and V;
    compute_uv=False gives zero-filled U (m x m) and V (n x n), as PyTorch."""
    _no_out("svd", out)
    if not compute_uv:
        from ._creation import zeros

        S = svdvals(input)
        m, n = input.shape[-2], input.shape[-1]
        batch = tuple(input.shape[:-2])
        return SVDLegacyResult(zeros(batch + (m, m), dtype=input.dtype), S, zeros(batch + (n, n), dtype=input.dtype))
    U, S, Vh = svd(input, full_matrices=not some)
    return SVDLegacyResult(U, S, Vh.transpose(-2, -1))


# ---- determinants --------------------------------------------------------------------------

def slogdet(A: Tensor, *, out: Any = None) -> SlogdetResult:
    """(sign, log|det|) of each square matrix; log|det|'s gradient is g A^-T (A invertible)."""
    _no_out("slogdet", out)
    a = _matrices("slogdet", A, square=True)
    sign, logabs = np.linalg.slogdet(a)

    def backward(g: list[np.ndarray]) -> list[np.ndarray]:  # g: the gradient of log|det|
        with np.errstate(all="ignore"):
            try:
                inv_t = _mT(np.linalg.inv(a))
            except np.linalg.LinAlgError:
                inv_t = np.full_like(a, np.nan)
        return [g[0][..., None, None] * inv_t]

    sign_t = _from_numpy(np.array(sign, dtype=A.dtype.numpy, order="C"))
    return SlogdetResult(sign_t, _node([logabs], A.dtype, [A], backward, a.shape[:-2])[0])


def logdet(A: Tensor) -> Tensor:
    """log(det(A)): NaN where det < 0, -inf where det == 0, as torch.logdet."""
    sign, logabs = slogdet(A)
    from ._functions import where

    nan = _from_numpy(np.array(np.nan, dtype=A.dtype.numpy))
    return where(sign < 0, nan, logabs)


# ---- pinv, lstsq, matrix_rank --------------------------------------------------------------

def _tolerance(s: np.ndarray, dtype: Any, m: int, n: int, atol: Any, rtol: Any) -> np.ndarray:
    """PyTorch's cutoff: max(atol, rtol * s_max); rtol defaults to eps * max(m, n) when
    neither is given, else to 0."""
    a: Any = 0.0 if atol is None else (_values(atol).astype(np.float64) if isinstance(atol, Tensor) else float(atol))
    default = np.finfo(dtype.numpy).eps * builtins.max(m, n)
    if rtol is None:  # the default where atol is not positive, element by element
        r: Any = default if atol is None else np.where(np.asarray(a) > 0, 0.0, default)
    else:
        r = _values(rtol).astype(np.float64) if isinstance(rtol, Tensor) else float(rtol)
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    return np.maximum(np.asarray(a)[..., None] if np.ndim(a) else a,
                      (np.asarray(r)[..., None] if np.ndim(r) else r) * smax)


def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: builtins.bool = False,
         out: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse, singular values at or below max(atol, rtol * s_max)
    treated as zero (hermitian=True reads A's lower triangle, as PyTorch)."""
    _no_out("pinv", out)
    a = _matrices("pinv", A)
    if hermitian:
        if a.shape[-1] != a.shape[-2]:
            raise RuntimeError("linalg.pinv(hermitian=True): A must be batches of square matrices")
        a = np.tril(a) + _mT(np.tril(a, -1))
    m, n = a.shape[-2], a.shape[-1]
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    cut = _tolerance(s, A.dtype, m, n, atol, rtol)
    with np.errstate(divide="ignore"):
        inv_s = np.where(s > cut, 1.0 / s, 0.0)
    p = (_mT(vh) * inv_s[..., None, :]) @ _mT(u)

    def backward(g: list[np.ndarray]) -> list[np.ndarray]:
        gp = g[0]
        pt, gpt = _mT(p), _mT(gp)
        ga = -pt @ gp @ pt
        ga = ga + (np.eye(m) - a @ p) @ gpt @ p @ pt
        ga = ga + pt @ p @ gpt @ (np.eye(n) - p @ a)
        return [ga]  # (hermitian too: PyTorch's formula, not folded onto the triangle read)

    return _node([p], A.dtype, [A], backward, a.shape[:-2])[0]


def lstsq(A: Tensor, B: Tensor, rcond: Any = None, *, driver: Any = None) -> LstsqResult:
    """The least-squares solution X = pinv(A) B (differentiable through pinv), with the
    extra results of PyTorch's drivers: rank (not for 'gels'), the singular values
    ('gelsd', 'gelss') and, for every driver but the default 'gelsy', the squared residuals
    when m > n and every A has full rank.  The rank is decided by singular values against
    rcond * s_max for every driver (gelsy decides it from a pivoted QR, which can differ
    for a matrix at the threshold)."""
    if driver not in (None, "gelsy", "gels", "gelsd", "gelss"):
        raise RuntimeError(f"torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
                           f"but got {driver}")
    drv = driver or "gelsy"
    if A.dim() < 2 or B.dim() < 1:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if not (0 <= A.dim() - B.dim() <= 1):
        raise RuntimeError(f"torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           f"(input.dim() - other.dim()) <= 1, got shapes {list(A.shape)} and {list(B.shape)}")
    if A.dtype != B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got "
                           f"input's dtype {A.dtype.name} and other's dtype {B.dtype.name}")
    vector = B.dim() == A.dim() - 1
    rows = B.shape[-1] if vector else B.shape[-2]
    if rows != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size({-1 if vector else -2}), "
                           f"got shapes {list(A.shape)} and {list(B.shape)}")
    a = _matrices("lstsq", A)
    m, n = a.shape[-2], a.shape[-1]
    rtol = np.finfo(A.dtype.numpy).eps * builtins.max(m, n) if rcond is None else rcond
    from ._tensor import matmul

    p = pinv(A, rtol=rtol)
    X = matmul(p, B.unsqueeze(-1)).squeeze(-1) if vector else matmul(p, B)
    empty = _from_numpy(np.zeros((0,), A.dtype.numpy))
    rank = _from_numpy(np.zeros((0,), np.int64)) if drv == "gels" else matrix_rank(A, rtol=rtol)
    sv = svdvals(A).detach() if drv in ("gelsd", "gelss") else empty
    residuals = empty
    if drv != "gelsy" and m > n and bool((_values(matrix_rank(A, rtol=rtol)) == n).all()):
        r = matmul(A, X.unsqueeze(-1)).squeeze(-1) - B if vector else matmul(A, X) - B
        residuals = (r * r).sum(-1) if vector else (r * r).sum(-2)
    return LstsqResult(X, residuals, rank, sv)


def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: builtins.bool = False,
                tol: Any = None, out: Any = None) -> Tensor:
    """The number of singular values above max(atol, rtol * s_max) (int64)."""
    _no_out("matrix_rank", out)
    if tol is not None:
        if atol is not None or rtol is not None:
            raise TypeError("linalg.matrix_rank: tol cannot be given together with atol or rtol")
        atol, rtol = tol, 0.0
    a = _matrices("matrix_rank", A, square=hermitian)
    if hermitian:
        a = np.tril(a) + _mT(np.tril(a, -1))
    s = np.linalg.svd(a, compute_uv=False)
    cut = _tolerance(s, A.dtype, a.shape[-2], a.shape[-1], atol, rtol)
    return _from_numpy(np.asarray((s > cut).sum(-1), np.int64))


# ---- solve_triangular ----------------------------------------------------------------------

def solve_triangular(A: Tensor, B: Tensor, *, upper: builtins.bool, left: builtins.bool = True,
                     unitriangular: builtins.bool = False, out: Any = None) -> Tensor:
    """X with A X = B (left) or X A = B, A triangular (only that triangle is read; its
    diagonal taken as ones with unitriangular=True).  A's gradient is confined to that
    triangle, as PyTorch's."""
    _no_out("solve_triangular", out)
    av = _matrices("solve_triangular", A, square=True)
    bv = _matrices("solve_triangular", B)
    tri = np.triu(av) if upper else np.tril(av)
    if unitriangular:
        tri = tri - np.einsum("...ii->...i", tri)[..., None] * np.eye(tri.shape[-1]) + np.eye(tri.shape[-1])
    try:
        x = np.linalg.solve(tri, bv) if left else _mT(np.linalg.solve(_mT(tri), _mT(bv)))
    except np.linalg.LinAlgError:
        with np.errstate(all="ignore"):  # a zero on the diagonal: inf/nan, as LAPACK's trsm
            x = _triangular_substitution(tri, bv, upper, left)
    except ValueError as e:
        raise RuntimeError(f"linalg.solve_triangular: shapes {tuple(A.shape)} and {tuple(B.shape)} do not "
                           f"match: {e}") from None
    dtype = A.dtype if A.dtype == B.dtype else _wider(A, B)
    a_shape, b_shape = tuple(A.shape), tuple(B.shape)

    def backward(g: list[np.ndarray]) -> list[np.ndarray | None]:
        gx = g[0]
        if left:
            gb = np.linalg.solve(_mT(tri), gx)      # A^-T g
            ga = -gb @ _mT(x)
        else:
            gb = _mT(np.linalg.solve(tri, _mT(gx)))  # g A^-T
            ga = -_mT(x) @ gb
        ga = np.triu(ga, 1 if unitriangular else 0) if upper else np.tril(ga, -1 if unitriangular else 0)
        return [_sum_to(ga, a_shape), _sum_to(gb, b_shape)]

    return _node([x], dtype, [A, B], backward, x.shape[:-2])[0]


def _triangular_substitution(tri: np.ndarray, b: np.ndarray, upper: builtins.bool,
                             left: builtins.bool) -> np.ndarray:
    """Forward/back substitution (for a singular triangle, where np.linalg.solve refuses)."""
    if not left:
        return _mT(_triangular_substitution(_mT(tri), _mT(b), not upper, True))
    n = tri.shape[-1]
    x = np.zeros(np.broadcast_shapes(tri.shape[:-2], b.shape[:-2]) + b.shape[-2:])
    order = range(n - 1, -1, -1) if upper else range(n)
    for i in order:
        acc = b[..., i, :] - np.einsum("...j,...jk->...k", tri[..., i, :], x)
        x[..., i, :] = acc / tri[..., i, i][..., None]
    return x


# ---- small helpers -------------------------------------------------------------------------

def _no_out(op: str, out: Any) -> None:
    if out is not None:
        raise NotImplementedError(f"linalg.{op}: out= is not supported; use the returned tensor")


def _wider(a: Tensor, b: Tensor) -> Any:
    from . import float64

    return float64 if float64 in (a.dtype, b.dtype) else a.dtype


def _sum_to(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """g summed over the broadcast dims down to `shape`."""
    while g.ndim > len(shape):
        g = g.sum(0)
    for d, (have, want) in enumerate(zip(g.shape, shape)):
        if have != want and want == 1:
            g = g.sum(d, keepdims=True)
    return g

