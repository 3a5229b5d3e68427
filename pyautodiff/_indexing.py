"""Tensor.__getitem__: ints, slices (positive steps), None, Ellipsis, one int64 index
tensor (or list of ints) and bool masks — as views wherever PyTorch gives views."""
import numpy as np

from ._ffi import lib
from ._tensor import Tensor, call

__all__ = ["getitem"]


def _as_index_tensor(k):
    from ._creation import tensor

    if isinstance(k, Tensor):
        return k
    return tensor(np.asarray(k, dtype=np.int64) if not _is_bool_list(k) else np.asarray(k, dtype=bool))


def _is_bool_list(k):
    return isinstance(k, (list, tuple)) and k and all(isinstance(v, bool) for v in k)


def getitem(x, key):
    if not isinstance(key, tuple):
        key = (key,)
    # A single bool mask over leading dims.
    if len(key) == 1 and (isinstance(key[0], Tensor) and key[0].dtype.name == "bool" or _is_bool_list(key[0])):
        return _mask_select(x, _as_index_tensor(key[0]))
    consumed = sum(1 for k in key if k is not None and k is not Ellipsis)
    if sum(1 for k in key if k is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim} (got {consumed})")
    out, dim = x, 0
    advanced = None
    for k in key:
        if k is Ellipsis:
            dim += x.ndim - consumed
        elif k is None:
            out = call(lib.pa_unsqueeze, out._h, dim)
            dim += 1
        elif isinstance(k, slice):
            size = out.shape[dim]
            start, stop, step = k.indices(size)
            if step <= 0:
                raise ValueError("slice: step must be greater than zero")
            stop = max(stop, start)
            out = call(lib.pa_slice, out._h, dim, start, stop, step)
            dim += 1
        elif isinstance(k, (int, np.integer)) or (isinstance(k, Tensor) and k.ndim == 0
                                                   and not k.dtype.is_floating_point
                                                   and k.dtype.name != "bool"):
            out = call(lib.pa_select, out._h, dim, int(k))
        elif isinstance(k, (Tensor, list, tuple, np.ndarray)):
            if advanced is not None:
                raise NotImplementedError("indexing with more than one index tensor is not supported")
            idx = _as_index_tensor(k)
            if idx.dtype.name != "int64":
                raise IndexError(f"tensors used as indices must be int64 or bool, got {idx.dtype}")
            flat = idx.reshape(-1)
            sel = call(lib.pa_index_select, out._h, dim, flat._h)
            shape = tuple(out.shape[:dim]) + tuple(idx.shape) + tuple(out.shape[dim + 1:])
            out = sel.reshape(shape)
            advanced = dim
            dim += idx.ndim
        else:
            raise TypeError(f"index of type {type(k).__name__} is not supported (use ints, slices, "
                            "None, ..., int64 or bool tensors)")
    return out


def _mask_select(x, mask):
    if tuple(mask.shape) != tuple(x.shape[:mask.ndim]):
        raise IndexError(f"the shape of the mask {tuple(mask.shape)} does not match the shape of the "
                         f"indexed tensor {tuple(x.shape)}")
    from ._creation import from_numpy

    positions = np.flatnonzero(mask.numpy()).astype(np.int64)
    rest = tuple(x.shape[mask.ndim:])
    flat = x.reshape((-1,) + rest)
    return flat.index_select(0, from_numpy(positions))
