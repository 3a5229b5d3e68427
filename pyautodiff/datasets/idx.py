"""Reader for the IDX format of MNIST-style datasets (raw or gzip-compressed), with every
header field checked against the file."""
from __future__ import annotations

import gzip
import os
import struct
from typing import Any, Union

import numpy as np

__all__ = ["read_idx", "IDXError"]

# IDX type codes: (NumPy dtype, big-endian)
_TYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


class IDXError(ValueError):
    """A malformed or truncated IDX file."""


def read_idx(path: Union[str, os.PathLike[str]]) -> np.ndarray:
    """Reads one IDX file into a NumPy array of its declared shape and type."""
    with open(path, "rb") as f:
        head = f.read(2)
        f.seek(0)
        raw = gzip.GzipFile(fileobj=f).read() if head == b"\x1f\x8b" else f.read()
    name = os.path.basename(path)
    if len(raw) < 4:
        raise IDXError(f"{name}: file too short for an IDX header ({len(raw)} bytes)")
    zero, type_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or type_code not in _TYPES:
        raise IDXError(f"{name}: bad IDX magic number 0x{raw[:4].hex()}")
    if ndim < 1 or len(raw) < 4 + 4 * ndim:
        raise IDXError(f"{name}: bad IDX header ({ndim} dims in a {len(raw)}-byte file)")
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    dt = np.dtype(_TYPES[type_code])
    count = int(np.prod(shape, dtype=np.int64))
    expected = 4 + 4 * ndim + count * dt.itemsize
    if len(raw) != expected:
        raise IDXError(f"{name}: IDX header declares shape {shape} ({expected} bytes) but the file has "
                       f"{len(raw)} bytes (truncated or corrupt)")
    return np.frombuffer(raw, dtype=dt, offset=4 + 4 * ndim).reshape(shape).astype(dt.newbyteorder("="))
