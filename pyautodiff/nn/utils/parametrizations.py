"""nn.utils.parametrizations: weight_norm and spectral_norm as parametrizations (the
current PyTorch API; nn.utils.weight_norm/spectral_norm are the older hook forms)."""
from __future__ import annotations

from typing import Any, TypeVar

from ..._tensor import Tensor, matmul
from ...autograd import no_grad
from ..modules.module import Module
from .parametrize import register_parametrization
from .weight_norms import _normalize, norm_except_dim

__all__ = ["weight_norm", "spectral_norm"]

_M = TypeVar("_M", bound=Module)


class _WeightNorm(Module):
    """weight = g * v / ||v|| over every dim but `dim`; originals (g, v)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: _M, name: str = "weight", dim: int | None = 0) -> _M:
    """module.<name> = g * v / ||v||, with g and v at module.parametrizations.<name>.original0
    and .original1."""
    register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module



class _SpectralNorm(Module):
    """weight / sigma, sigma its largest singular value by power iteration (buffers _u,
    _v, one iteration per training forward; 15 at construction, as PyTorch)."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        from ..._creation import randn

        super().__init__()
        ndim = weight.dim()
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            mat = self._reshape_weight_to_matrix(weight)
            h, w = mat.shape
            with no_grad():
                u = _normalize(randn(h, dtype=weight.dtype), eps)
                v = _normalize(randn(w, dtype=weight.dtype), eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.reshape(weight.shape[0], -1)

    def _power_method(self, mat: Tensor, n: int) -> None:
        with no_grad():
            for _ in range(n):
                self._u.copy_(_normalize(matmul(mat, self._v), self.eps))
                self._v.copy_(_normalize(matmul(mat.t(), self._u), self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.dim() == 1:
            return _normalize(weight, self.eps)
        mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(mat, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = (u * matmul(mat, v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: _M, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> _M:
    """module.<name> divided by its spectral norm (power iteration), as a parametrization;
    dim defaults to 0 (1 for transposed convolutions)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..modules.more import ConvTranspose1d, ConvTranspose2d

        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d)) else 0
    register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
