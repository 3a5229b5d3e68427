"""pyautodiff.save / pyautodiff.load: state dicts (nested dicts and lists of tensors and
plain values) in the safetensors format, never pickle.

A file holds every tensor under its dotted path ("fc1.weight", "state.0.exp_avg") and, in
the header's metadata, a JSON description of the nesting and of the non-tensor values
(ints, floats, strings, bools, None, lists, tuples, int keys), so `load(save(obj))` gives
back the same structure.  A file without that description (one written by
`safetensors.torch.save_file`, say) loads as a flat {name: tensor} dict, which is what
`Module.load_state_dict` takes; our model files are such flat dicts too, so PyTorch reads
them with `safetensors.torch.load_file`.

Loading never executes code: the header is JSON, checked field by field before any data
is read, and every problem raises a ValueError that names the file.  Saving writes a
temporary file in the target's directory and renames it over the target, so a crash
never leaves a half-written checkpoint.
"""
from __future__ import annotations

import json
import math
import os
import struct
import tempfile
from collections import OrderedDict
from typing import IO, TYPE_CHECKING, Any, Union

import numpy as np

if TYPE_CHECKING:  # annotation-only alias: a path or a binary file object
    _PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]

__all__ = ["save", "load"]

STRUCTURE_KEY = "pyautodiff.structure"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100_000_000  # the safetensors library's own limit
MAX_DEPTH = 64
MAX_DIMS = 8

# safetensors dtype -> (NumPy dtype, the dtype pyautodiff holds it in)
_DTYPES = {
    "F64": ("<f8", np.float64), "F32": ("<f4", np.float32), "F16": ("<f2", np.float32),
    "I64": ("<i8", np.int64), "I32": ("<i4", np.int64), "I16": ("<i2", np.int64), "I8": ("i1", np.int64),
    "U32": ("<u4", np.int64), "U16": ("<u2", np.int64), "U8": ("u1", np.int64), "BOOL": ("?", np.bool_),
}
_KNOWN_UNSUPPORTED = {"BF16", "U64", "F8_E4M3", "F8_E5M2", "C64", "F4", "F6_E2M3", "F6_E3M2", "E8M0",
                      "F8_E8M0"}


# ---- save ------------------------------------------------------------------------------
def save(obj: Any, f: _PathOrFile) -> None:
    """Saves a state dict (or any nesting of dicts, lists and tuples of tensors, NumPy
    arrays, ints, floats, strings, bools and None) to path `f` (or a writable binary file
    object) in the safetensors format.

    >>> import pyautodiff as torch
    >>> torch.save({"w": torch.ones(2)}, "/tmp/ckpt.safetensors")
    >>> torch.load("/tmp/ckpt.safetensors")["w"]
    tensor([1., 1.])
    """
    import safetensors.numpy

    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", arrays, 0)
    metadata = {STRUCTURE_KEY: json.dumps({"version": FORMAT_VERSION, "tree": tree})}
    data = safetensors.numpy.save(arrays, metadata=metadata)
    if hasattr(f, "write"):
        f.write(data)
        return
    _atomic_write(os.fspath(f), data)


def _encode(obj, path, arrays, depth):
    from ._tensor import Tensor

    if depth > MAX_DEPTH:
        raise ValueError(f"save: the object is nested more than {MAX_DEPTH} levels deep (at {path!r})")
    if isinstance(obj, (Tensor, np.ndarray)):
        name = path or "tensor"
        if name in arrays:
            raise ValueError(f"save: two entries flatten to the same name {name!r}; rename one of them")
        arr = obj.detach().numpy() if isinstance(obj, Tensor) else obj
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"save: cannot store an array of dtype {arr.dtype} (at {name!r})")
        arrays[name] = np.asarray(arr, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        return {"t": name}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if isinstance(key, (bool, np.bool_)) or not isinstance(key, (str, int, np.integer)):
                raise TypeError(f"save: dict keys must be strings or ints, got {type(key).__name__} "
                                f"{key!r} (at {path!r})")
            key = key if isinstance(key, str) else int(key)
            items.append([key, _encode(value, _join(path, key), arrays, depth + 1)])
        return {"d": items}
    if isinstance(obj, (list, tuple)):
        nodes = [_encode(v, _join(path, i), arrays, depth + 1) for i, v in enumerate(obj)]
        return {"l" if isinstance(obj, list) else "u": nodes}
    if obj is None or isinstance(obj, (bool, str)):
        return {"v": obj}
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return {"v": int(obj)}
    if isinstance(obj, (float, np.floating)):
        return {"v": float(obj)}
    if isinstance(obj, np.bool_):
        return {"v": bool(obj)}
    raise TypeError(f"save: cannot store a value of type {type(obj).__name__} (at {path!r}); only tensors, "
                    "NumPy arrays, ints, floats, strings, bools, None, lists, tuples and dicts are stored")


def _join(path, key):
    return f"{path}.{key}" if path else str(key)


def _atomic_write(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# ---- load ------------------------------------------------------------------------------
class _Invalid(Exception):
    pass


def load(f: _PathOrFile, map_location: Any = None, weights_only: bool = True, **kwargs: Any) -> Any:
    """Loads what `save` wrote (or any safetensors file, as a flat {name: tensor} dict).
    `map_location` and `weights_only` are accepted for torch.load compatibility: only the
    CPU exists, and nothing but tensors and plain values is ever loaded."""
    import safetensors.numpy

    if hasattr(f, "read"):
        name, data = getattr(f, "name", "<file object>"), f.read()
    else:
        name = os.fspath(f)
        with open(name, "rb") as fh:
            data = fh.read()
    try:
        entries, metadata = _parse_header(data)
        tree = _parse_structure(metadata, entries)
    except _Invalid as e:
        raise ValueError(f"load: {name} is not a valid safetensors file: {e}") from None
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as e:  # the library's own checks, as a second line of defence
        raise ValueError(f"load: {name} is not a valid safetensors file: {e}") from None
    tensors = {k: _to_tensor(arrays[k], entries[k]["dtype"]) for k in entries}
    if tree is None:
        return OrderedDict((k, tensors[k]) for k in entries)
    return _decode(tree, tensors)


def _parse_header(data):
    """The header's tensor entries (checked against the file) and its metadata."""
    if len(data) < 8:
        raise _Invalid(f"it has {len(data)} bytes, fewer than the 8 of the header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > len(data) - 8:
        raise _Invalid(f"the header length {header_len} is larger than the rest of the file "
                       f"({len(data) - 8} bytes): the file is truncated or not safetensors")
    if header_len > MAX_HEADER_BYTES:
        raise _Invalid(f"the header length {header_len} exceeds the limit of {MAX_HEADER_BYTES} bytes")
    raw = data[8:8 + header_len]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid("the header is not UTF-8 text") from None
    if not text.startswith("{"):
        raise _Invalid("the header is not a JSON object")
    header = _json_object(text, "the header")
    data_len = len(data) - 8 - header_len
    metadata = header.pop("__metadata__", None)
    if metadata is not None and (not isinstance(metadata, dict) or
                                 not all(isinstance(v, str) for v in metadata.values())):
        raise _Invalid("__metadata__ must map strings to strings")
    entries = OrderedDict()
    for tensor_name, info in header.items():
        entries[tensor_name] = _check_entry(tensor_name, info, data_len)
    end = 0
    for tensor_name, info in sorted(entries.items(), key=lambda kv: tuple(kv[1]["data_offsets"])):
        begin, stop = info["data_offsets"]
        if begin != end:
            raise _Invalid(f"tensor {tensor_name!r} starts at byte {begin} of the data, expected {end}: "
                           "tensors overlap or leave a gap")
        end = stop
    if end != data_len:
        raise _Invalid(f"the tensors cover {end} bytes of data but the file holds {data_len}")
    return entries, metadata or {}


def _json_object(text, what, allow_constants=False):
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise _Invalid(f"{what} repeats a key")
        return dict(pairs)

    def no_constants(c):
        raise _Invalid(f"{what} holds the non-JSON constant {c}")

    try:
        value = json.loads(text, object_pairs_hook=no_duplicates,
                           parse_constant=float if allow_constants else no_constants)
    except _Invalid:
        raise
    except (ValueError, RecursionError) as e:
        raise _Invalid(f"{what} is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise _Invalid(f"{what} is not a JSON object")
    return value


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _check_entry(name, info, data_len):
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise _Invalid(f"the entry of tensor {name!r} must have exactly the fields dtype, shape, data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        if isinstance(dtype, str) and dtype in _KNOWN_UNSUPPORTED:
            raise _Invalid(f"tensor {name!r} has dtype {dtype}, which pyautodiff cannot hold")
        raise _Invalid(f"tensor {name!r} has an unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_int(s) and s >= 0 for s in shape):
        raise _Invalid(f"tensor {name!r} has an invalid shape {shape!r} (a list of non-negative ints expected)")
    if len(shape) > MAX_DIMS:
        raise _Invalid(f"tensor {name!r} has {len(shape)} dims, more than the {MAX_DIMS} pyautodiff supports")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_len):
        raise _Invalid(f"tensor {name!r} has data offsets {offsets!r} outside the {data_len} bytes of data")
    nbytes = math.prod(shape) * np.dtype(_DTYPES[dtype][0]).itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise _Invalid(f"tensor {name!r} of dtype {dtype} and shape {shape} needs {nbytes} bytes, but its "
                       f"data offsets {offsets} span {offsets[1] - offsets[0]}")
    return info


def _parse_structure(metadata, entries):
    text = metadata.get(STRUCTURE_KEY)
    if text is None:
        return None
    if not text.startswith("{"):
        raise _Invalid(f"the metadata {STRUCTURE_KEY} is not a JSON object")
    doc = _json_object(text, f"the metadata {STRUCTURE_KEY}", allow_constants=True)  # inf and nan values
    if doc.get("version") != FORMAT_VERSION or "tree" not in doc:
        raise _Invalid(f"the metadata {STRUCTURE_KEY} has an unknown version {doc.get('version')!r}")
    used = set()
    _check_node(doc["tree"], entries, used, 0)
    unused = [k for k in entries if k not in used]
    if unused:
        raise _Invalid(f"tensor {unused[0]!r} is in the file but not in its structure")
    return doc["tree"]


def _check_node(node, entries, used, depth):
    if depth > MAX_DEPTH:
        raise _Invalid(f"the structure is nested more than {MAX_DEPTH} levels deep")
    if not isinstance(node, dict) or len(node) != 1:
        raise _Invalid(f"the structure holds an invalid node {str(node)[:80]!r}")
    (kind, value), = node.items()
    if kind == "t":
        if not isinstance(value, str) or value not in entries:
            raise _Invalid(f"the structure refers to a tensor {str(value)[:80]!r} that the file does not hold")
        if value in used:
            raise _Invalid(f"the structure refers to tensor {value!r} twice")
        used.add(value)
    elif kind == "v":
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise _Invalid(f"the structure holds an invalid value {str(value)[:80]!r}")
    elif kind in ("l", "u"):
        if not isinstance(value, list):
            raise _Invalid("the structure holds an invalid list")
        for child in value:
            _check_node(child, entries, used, depth + 1)
    elif kind == "d":
        if not isinstance(value, list):
            raise _Invalid("the structure holds an invalid dict")
        for item in value:
            if (not isinstance(item, list) or len(item) != 2 or not (isinstance(item[0], str) or _is_int(item[0]))):
                raise _Invalid(f"the structure holds an invalid dict entry {str(item)[:80]!r}")
            _check_node(item[1], entries, used, depth + 1)
    else:
        raise _Invalid(f"the structure holds a node of unknown kind {kind!r}")


def _decode(node, tensors):
    (kind, value), = node.items()
    if kind == "t":
        return tensors[value]
    if kind == "v":
        return value
    if kind == "l":
        return [_decode(child, tensors) for child in value]
    if kind == "u":
        return tuple(_decode(child, tensors) for child in value)
    return OrderedDict((key, _decode(child, tensors)) for key, child in value)


def _to_tensor(arr, dtype):
    from ._creation import from_numpy

    target = _DTYPES[dtype][1]
    return from_numpy(np.asarray(arr, dtype=target, order="C"))
