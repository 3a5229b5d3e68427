"""torch.linalg: norms (vector_norm, matrix_norm, norm, cond), cross, vecdot, multi_dot and
matrix_power as compositions of differentiable ops; det, inv and solve computed with NumPy
(float64, rounded once) with their analytic gradients (det: g adj(A)^T, finite for
singular A too; inv: -A^-T g A^-T; solve: B's gradient A^-T g, A's -(A^-T g) X^T); the
decompositions and what is built on them (cholesky, qr, eigh, eigvalsh, svd, svdvals,
slogdet, pinv, lstsq, matrix_rank, solve_triangular) in `_linalg_decomp`.  Not provided:
eig and eigvals (their results are complex)."""
from __future__ import annotations

import builtins
import math
from typing import Any, NamedTuple, Sequence

import numpy as np

from ._linalg_decomp import (CholeskyExResult, EighResult, LinAlgError, LstsqResult, QRResult, SlogdetResult,
                             SVDResult, _matrices, _per_matrix, cholesky, cholesky_ex, eigh, eigvalsh, lstsq,
                             matrix_rank, pinv, qr, slogdet, solve_triangular, svd, svdvals)
from ._ops_extra import _dim, _from_numpy, _norm_1_or_2, _recorded, _values
from ._tensor import Tensor, matmul

__all__ = ["vector_norm", "matrix_norm", "norm", "cond", "cross", "vecdot", "multi_dot", "matrix_power", "det",
           "inv", "inv_ex", "InvExResult", "solve", "cholesky", "cholesky_ex", "qr", "eigh", "eigvalsh", "svd", "svdvals",
           "slogdet", "pinv", "lstsq", "matrix_rank", "solve_triangular", "LinAlgError", "QRResult",
           "EighResult", "SVDResult", "SlogdetResult", "LstsqResult", "CholeskyExResult"]


def vector_norm(x: Tensor, ord: Any = 2, dim: int | Sequence[int] | None = None, keepdim: builtins.bool = False,
                *, dtype: Any = None) -> Tensor:
    """The ord-norm of x's elements over dim (all when None): inf/-inf the largest /
    smallest magnitude, 0 the count of non-zeros, else (sum |x|^ord)^(1/ord)."""
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point tensor as input. Got {x.dtype.name}")
    if ord in (1, 2):  # one C reduction
        # NOTE: |x| was computed first for every ord, these too: (1000, 1000) float32 along
        # dim 1 took 0.58 ms against PyTorch's 0.10 (2 threads); times now: see norm
        return _norm_1_or_2(x, builtins.float(ord), dim, keepdim)
    dims: Any = tuple(range(x.dim())) if dim is None else ((dim,) if isinstance(dim, int) else tuple(dim))
    if dim is None and not keepdim:
        x, dims = x.reshape(-1), (0,)
    if ord == math.inf:
        return x.abs().amax(dims, keepdim)
    if ord == -math.inf:
        return x.abs().amin(dims, keepdim)
    if ord == 0:
        return (x != 0).to(x.dtype).sum(dims, keepdim=keepdim)
    if ord < 0:  # (sum |x|^ord)^(1/ord), as PyTorch
        return x.abs().pow(builtins.float(ord)).sum(dims, keepdim=keepdim).pow(1.0 / builtins.float(ord))
    return x.norm(p=builtins.float(ord), dim=list(dims), keepdim=keepdim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Sequence[int] = (-2, -1), keepdim: builtins.bool = False,
                *, dtype: Any = None) -> Tensor:
    """'fro', 1, -1, inf or -inf norm of the matrices in dims dim."""
    if dtype is not None:
        A = A.to(dtype)
    if A.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    r, c = (_dim("matrix_norm", int(d), A.dim()) for d in dim)
    if ord == "fro":
        return vector_norm(A, 2, (r, c), keepdim)
    if ord in (1, -1, math.inf, -math.inf):
        sum_dim, pick_dim = (r, c) if ord in (1, -1) else (c, r)
        sums = A.abs().sum(sum_dim, keepdim=True)
        out = sums.amax(pick_dim, keepdim=True) if ord > 0 else sums.amin(pick_dim, keepdim=True)
        return out if keepdim else out.squeeze((r, c))
    if ord in (2, -2, "nuc"):
        moved = A.movedim((r, c), (-2, -1))
        s = svdvals(moved)
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        if keepdim:
            for d in sorted((r, c)):
                out = out.unsqueeze(d)
        return out
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def cond(A: Tensor, p: Any = None) -> Tensor:
    """The condition number: s_max / s_min for p None, 2 or -2 (its inverse for -2), else
    norm(A, p) * norm(inv(A), p), inf for a singular A; 0 for empty matrices, as PyTorch."""
    if A.dim() >= 2 and A.shape[-1] * A.shape[-2] == 0:
        from ._creation import zeros

        return zeros(*A.shape[:-2], dtype=A.dtype)
    if p in (None, 2, -2):
        s = svdvals(A)
        ratio = s.narrow(-1, 0, 1).squeeze(-1) / s.narrow(-1, s.shape[-1] - 1, 1).squeeze(-1)
        return ratio if p != -2 else 1 / ratio
    inverse, info = inv_ex(A)
    from ._functions import where

    return where(info > 0, math.inf, matrix_norm(A, p) * matrix_norm(inverse, p))


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: builtins.bool = False, *,
         dtype: Any = None) -> Tensor:
    """vector_norm for a 1-d dim (or ord None and dim None: the 2-norm of all elements),
    matrix_norm for a 2-d dim or a 2-d A with ord given."""
    if isinstance(dim, int) or (dim is not None and len(dim) == 1):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is None and ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if dim is None and A.dim() == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    return matrix_norm(A, "fro" if ord is None else ord, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along dim (input and other broadcast)."""
    shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    a = input.expand(*shape) if tuple(input.shape) != shape else input
    b = other.expand(*shape) if tuple(other.shape) != shape else other
    d = _dim("linalg.cross", dim, len(shape))
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d] if input.dim() > d else '?'} "
                           f"and {other.shape[d] if other.dim() > d else '?'}")
    a0, a1, a2 = a.unbind(d)
    b0, b1, b2 = b.unbind(d)
    from ._functions import stack

    return stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], d)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    return (x * y).sum(dim)


def multi_dot(tensors: Sequence[Tensor]) -> Tensor:
    """The product of a chain of matrices (the first and last may be vectors), left to right."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    out = tensors[0]
    for t in tensors[1:]:
        out = matmul(out, t)
    return out


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A @ A @ ... (n times; the identity for 0, powers of inv(A) for n < 0), by squaring."""
    from ._creation import eye

    if A.dim() < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2] if A.dim() > 1 else A.shape[-1] if A.dim() else 1} by "
                           f"{A.shape[-1] if A.dim() else 1} matrices")
    if n == 0:
        return eye(A.shape[-1], dtype=A.dtype).expand(*A.shape).clone()
    base = inv(A) if n < 0 else A
    n = builtins.abs(n)
    result = None
    while n:
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if n:
            base = matmul(base, base)
    assert result is not None
    return result


def _square(op: str, A: Tensor) -> np.ndarray:
    """A's values in float64 after PyTorch's checks for batches of square float matrices."""
    return _matrices(op, A, square=True)


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix (float64 LU, rounded once)."""
    a = _square("det", A)
    d = np.linalg.det(a)
    values = np.asarray(d).astype(A.dtype.numpy)
    if not A.requires_grad:
        return _from_numpy(values)
    factor = _from_numpy(np.swapaxes(_adjugate(a), -1, -2).astype(A.dtype.numpy))
    return _recorded(values, [A], lambda g: (g.unsqueeze(-1).unsqueeze(-1) * factor,))


def _adjugate(a: np.ndarray) -> np.ndarray:
    """adj(A) (= det(A) inv(A) when A is invertible) of each matrix, from its SVD, so that
    it is finite for singular matrices too: adj(U S V^T) = det(U) det(V) V adj(S) U^T with
    adj(S) = diag(prod of the other singular values)."""
    n = a.shape[-1]
    if n == 0:
        return np.zeros_like(a)
    u, sv, vt = np.linalg.svd(a)
    others = np.stack([np.prod(np.delete(sv, i, axis=-1), axis=-1) for i in range(n)], axis=-1) if n > 1 \
        else np.ones_like(sv)
    sign = np.linalg.det(u) * np.linalg.det(vt)
    adj = np.swapaxes(vt, -1, -2) @ (others[..., :, None] * np.swapaxes(u, -1, -2))
    return sign[..., None, None] * adj


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix; a singular one raises, as PyTorch."""
    a = _square("inv", A)
    try:
        ai = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.inv: The diagonal element of the LU factorization is zero, the inversion "
                          "could not be completed because the input matrix is singular.") from None
    values = ai.astype(A.dtype.numpy)
    if not A.requires_grad:
        return _from_numpy(values)
    ait = _from_numpy(np.swapaxes(ai, -1, -2).astype(A.dtype.numpy))
    return _recorded(values, [A], lambda g: (-matmul(matmul(ait, g), ait),))


class InvExResult(NamedTuple):
    inverse: Tensor
    info: Tensor


def inv_ex(A: Tensor, *, check_errors: builtins.bool = False) -> InvExResult:
    """(inverse, info) without raising: info is 0 where A is invertible, else positive
    (int64 here, int32 in PyTorch); the inverse of a singular matrix is zeros here."""
    if check_errors:
        return InvExResult(inv(A), _from_numpy(np.zeros(tuple(A.shape[:-2]), np.int64)))
    a = _square("inv_ex", A)
    ai, info = _per_matrix(a, np.linalg.inv, lambda m: 1)
    values = ai.astype(A.dtype.numpy)
    info_t = _from_numpy(info)
    if not A.requires_grad:
        return InvExResult(_from_numpy(values), info_t)
    ait = _from_numpy(np.swapaxes(ai, -1, -2).astype(A.dtype.numpy))
    return InvExResult(_recorded(values, [A], lambda g: (-matmul(matmul(ait, g), ait),)), info_t)


def solve(A: Tensor, B: Tensor, *, left: builtins.bool = True) -> Tensor:
    """X with A X = B (or X A = B with left=False); B a batch of matrices or of vectors."""
    if not left:
        return _mT(solve(_mT(A), _mT(B)))
    a = _square("solve", A)
    vector = B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    b = _values(B).astype(np.float64)
    bm = b[..., None] if vector else b
    try:
        x = np.linalg.solve(a, bm)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.solve: The solver failed because the input matrix is singular.") from None
    except ValueError as e:
        raise RuntimeError(f"linalg.solve: shapes {tuple(A.shape)} and {tuple(B.shape)} do not match: {e}") from None
    dt = A.dtype if A.dtype == B.dtype else A.double().dtype
    values = (x[..., 0] if vector else x).astype(dt.numpy)
    if not (A.requires_grad or B.requires_grad):
        return _from_numpy(values)
    ait = _from_numpy(np.swapaxes(np.linalg.inv(a), -1, -2).astype(dt.numpy))
    xt = _from_numpy(np.swapaxes(x, -1, -2).astype(dt.numpy))
    a_shape, b_shape = tuple(A.shape), tuple(B.shape)

    def backward(g: Tensor) -> tuple[Any, Any]:
        gm = g.unsqueeze(-1) if vector else g
        gb = matmul(ait, gm)
        ga = -matmul(gb, xt)
        from ._ops_more import _sum_to

        return _sum_to(ga, a_shape), _sum_to(gb.squeeze(-1) if vector else gb, b_shape)

    return _recorded(values, [A, B], backward)
