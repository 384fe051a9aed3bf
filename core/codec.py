"""msgpack with numpy arrays, the one codec for plans on disk and messages on the wire.

Arrays travel as msgpack ExtType ``NDARRAY_EXT``: a small msgpack header ``[dtype descr, shape]`` followed
by the raw little-endian bytes. Structured dtypes (the plan path) keep their field names and layout, so a
plan decodes with zero copies of its shape information and no pickle anywhere.
"""
from __future__ import annotations

from typing import Any

import msgpack
import numpy as np

__all__ = ["NDARRAY_EXT", "packb", "packer", "unpackb", "encode_array", "decode_array", "CodecError"]

NDARRAY_EXT = 1
_MAX_ARRAY_BYTES = 1 << 30


class CodecError(ValueError):
    """Bytes that are not a valid agrifleet msgpack document."""


def _descr(dtype: np.dtype) -> Any:
    little = dtype.newbyteorder("<") if dtype.byteorder == ">" else dtype
    if little.fields is None:
        return little.str
    return [[name, _descr(little.fields[name][0])] for name in little.names]


def _dtype_from(descr: Any) -> np.dtype:
    if isinstance(descr, str):
        dt = np.dtype(descr)
    elif isinstance(descr, list) and all(isinstance(f, list) and len(f) == 2 for f in descr):
        dt = np.dtype([(str(name), _dtype_from(sub)) for name, sub in descr])
    else:
        raise CodecError(f"bad array dtype description {descr!r}")
    if dt.hasobject:
        raise CodecError("object arrays are not allowed on the wire")
    return dt


def encode_array(arr: np.ndarray) -> msgpack.ExtType:
    arr = np.ascontiguousarray(arr)
    if arr.dtype.hasobject:
        raise TypeError("object arrays cannot be encoded")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    header = msgpack.packb([_descr(arr.dtype), list(arr.shape)])
    return msgpack.ExtType(NDARRAY_EXT, header + arr.tobytes())


def decode_array(data: bytes) -> np.ndarray:
    unpacker = msgpack.Unpacker(max_buffer_size=len(data) + 1)
    unpacker.feed(data)
    try:
        descr, shape = next(unpacker)
        offset = unpacker.tell()
    except (StopIteration, ValueError, TypeError, msgpack.UnpackException) as exc:
        raise CodecError(f"bad array header ({exc})") from None
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise CodecError(f"bad array shape {shape!r}")
    dtype = _dtype_from(descr)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize > _MAX_ARRAY_BYTES or len(data) - offset != count * dtype.itemsize:
        raise CodecError(f"array payload is {len(data) - offset} bytes; shape {shape} of {dtype} needs "
                         f"{count * dtype.itemsize}")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape).copy()


def _default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return encode_array(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _ext_hook(code: int, data: bytes) -> Any:
    if code == NDARRAY_EXT:
        return decode_array(data)
    raise CodecError(f"unknown msgpack extension type {code}")


def packb(obj: Any) -> bytes:
    return msgpack.packb(obj, default=_default, use_bin_type=True)


def packer() -> msgpack.Packer:
    """A reusable packer with the settings of :func:`packb`, for hot paths (one per thread: not thread-safe)."""
    return msgpack.Packer(default=_default, use_bin_type=True)


def unpackb(data: bytes, max_bytes: int = 256 << 20) -> Any:
    """Decode with limits: a malformed or hostile document raises :class:`CodecError`, nothing else."""
    if len(data) > max_bytes:
        raise CodecError(f"document of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    try:
        return msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)
    except CodecError:
        raise
    except (ValueError, TypeError, msgpack.UnpackException, RecursionError, OverflowError) as exc:
        raise CodecError(f"not a valid msgpack document ({type(exc).__name__}: {exc})") from None
