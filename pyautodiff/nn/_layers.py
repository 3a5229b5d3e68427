"""Functional forms of the layers (convolution, pooling, normalisation, dropout,
embedding), re-exported by nn.functional."""

__all__ = []
