#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# tests/fuzz/make_corpus.py — regenerates the tiny seed corpus in corpus/<target>/ (valid and broken inputs).
#
# The .npy/.npz seeds come from NumPy itself when it is importable (np.save / np.savez /
# np.savez_compressed), so the parsers are tested on what NumPy really writes (zip64 local headers
# included); without NumPy an equivalent stdlib emulation is written. The committed files were made
# with NumPy 2.4. The io tests read some of these seeds as fixtures: keep the names.
import io
import json
import os
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import numpy as np
except ImportError:  # the stdlib fallback writes byte-identical headers for these simple arrays
    np = None


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- safetensors ------------------------------------------------------------------------------------
def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes); laid out in the given order."""
    header, off = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def st_with_header(text, data=b""):
    return struct.pack("<Q", len(text)) + text + data


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
valid = safetensors(
    [("w", "F32", [2, 3], f32(1, -2, 3.5, 0, 1e-3, -7)), ("ids", "I64", [2], struct.pack("<2q", 7, -1)),
     ("h", "BF16", [2], struct.pack("<2H", 0x3F80, 0xC000))],
    metadata={"seed": "1234", "config": "{\"depth\": 2}"})
put("safetensors", "valid_small.safetensors", valid)
put("safetensors", "valid_empty.safetensors", safetensors([]))
put("safetensors", "valid_zero_size.safetensors",
    safetensors([("empty", "F32", [0, 3], b""), ("s", "F64", [], struct.pack("<d", 2.5))]))
put("safetensors", "valid_all_dtypes.safetensors", safetensors([
    ("f64", "F64", [1], struct.pack("<d", -1.5)), ("i64", "I64", [1], struct.pack("<q", -3)),
    ("u64", "U64", [1], struct.pack("<Q", 2**63 + 5)), ("f32", "F32", [1], f32(0.25)),
    ("i32", "I32", [1], struct.pack("<i", -9)), ("u32", "U32", [1], struct.pack("<I", 9)),
    ("f16", "F16", [2], struct.pack("<2H", 0x3C00, 0x7C00)), ("bf16", "BF16", [1], struct.pack("<H", 0x4049)),
    ("i16", "I16", [1], struct.pack("<h", -300)), ("u16", "U16", [1], struct.pack("<H", 60000)),
    ("e4m3", "F8_E4M3", [2], bytes([0x38, 0x7F])), ("e5m2", "F8_E5M2", [2], bytes([0x3C, 0x7C])),
    ("e8m0", "F8_E8M0", [1], bytes([127])), ("i8", "I8", [1], bytes([0x80])), ("u8", "U8", [1], bytes([200])),
    ("b", "BOOL", [2], bytes([0, 1]))]))
put("safetensors", "bad_header_len.safetensors", struct.pack("<Q", 1 << 40) + valid[8:])
put("safetensors", "bad_json.safetensors", st_with_header(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]   ', f32(1)))
put("safetensors", "bad_overlap.safetensors", st_with_header(
    b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}',
    f32(1, 2, 3)))
put("safetensors", "bad_dtype.safetensors", st_with_header(b'{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', f32(1)))
put("safetensors", "bad_duplicate.safetensors", st_with_header(
    b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
    f32(1, 2)))


# ---- npy --------------------------------------------------------------------------------------------
def npy_bytes(descr, shape, raw, fortran=False, version=(1, 0)):
    shape_txt = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_txt)
    prefix = 10 if version[0] == 1 else 12
    total = (prefix + len(d) + 1 + 63) // 64 * 64
    d = d + " " * (total - prefix - len(d) - 1) + "\n"
    lenfield = struct.pack("<H", len(d)) if version[0] == 1 else struct.pack("<I", len(d))
    return b"\x93NUMPY" + bytes(version) + lenfield + d.encode("latin1") + raw


def np_save(arr_or_spec, **kw):
    if np is not None:
        b = io.BytesIO()
        if kw.get("version"):
            np.lib.format.write_array(b, arr_or_spec, version=kw["version"])
        else:
            np.save(b, arr_or_spec)
        return b.getvalue()
    raise SystemExit("NumPy is needed for this seed")


if np is not None:
    put("npy", "f4_2x3.npy", np_save(np.arange(6, dtype="<f4").reshape(2, 3) - 2.5))
    put("npy", "f8_scalar.npy", np_save(np.float64(3.25)))
    put("npy", "i8_1d.npy", np_save(np.array([-5, 0, 7], dtype="<i8")))
    put("npy", "u1.npy", np_save(np.array([0, 255], dtype="u1")))
    put("npy", "b1.npy", np_save(np.array([True, False, True])))
    put("npy", "f2.npy", np_save(np.array([1.0, -0.5], dtype="<f2")))
    put("npy", "be_f4.npy", np_save(np.array([1.5, -2.0], dtype=">f4")))
    put("npy", "fortran_f4_2x3.npy", np_save(np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))))
    put("npy", "v2_i4.npy", np_save(np.array([1, 2], dtype="<i4"), version=(2, 0)))
    put("npy", "v3_f8.npy", np_save(np.array([0.5], dtype="<f8"), version=(3, 0)))
else:
    put("npy", "f4_2x3.npy", npy_bytes("<f4", (2, 3), struct.pack("<6f", -2.5, -1.5, -0.5, 0.5, 1.5, 2.5)))
    put("npy", "f8_scalar.npy", npy_bytes("<f8", (), struct.pack("<d", 3.25)))
    put("npy", "i8_1d.npy", npy_bytes("<i8", (3,), struct.pack("<3q", -5, 0, 7)))
    put("npy", "u1.npy", npy_bytes("|u1", (2,), bytes([0, 255])))
    put("npy", "b1.npy", npy_bytes("|b1", (3,), bytes([1, 0, 1])))
    put("npy", "f2.npy", npy_bytes("<f2", (2,), struct.pack("<2H", 0x3C00, 0xB800)))
    put("npy", "be_f4.npy", npy_bytes(">f4", (2,), struct.pack(">2f", 1.5, -2.0)))
    put("npy", "fortran_f4_2x3.npy", npy_bytes("<f4", (2, 3), struct.pack("<6f", 0, 3, 1, 4, 2, 5), fortran=True))
    put("npy", "v2_i4.npy", npy_bytes("<i4", (2,), struct.pack("<2i", 1, 2), version=(2, 0)))
    put("npy", "v3_f8.npy", npy_bytes("<f8", (1,), struct.pack("<d", 0.5), version=(3, 0)))
put("npy", "bad_magic.npy", b"\x93NUMPX\x01\x00" + b"\x00" * 8)
put("npy", "bad_shape.npy", npy_bytes("<f4", (2,), struct.pack("<3f", 1, 2, 3)))


# ---- npz --------------------------------------------------------------------------------------------
def npz_bytes(arrays, compress):
    if np is not None:
        b = io.BytesIO()
        (np.savez_compressed if compress else np.savez)(b, **arrays)
        return b.getvalue()
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
        for k, v in arrays.items():
            with z.open(k + ".npy", "w", force_zip64=True) as f:  # what np.savez does
                f.write(v)
    return b.getvalue()


if np is not None:
    arrays = {"c2w": np.eye(4, dtype="<f4")[None].repeat(2, 0), "fps": np.array([16.0]), "n": np.array([3], "<i8")}
else:
    arrays = {"c2w": npy_bytes("<f4", (2, 4, 4), struct.pack("<32f", *([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1] * 2))),
              "fps": npy_bytes("<f8", (1,), struct.pack("<d", 16.0)), "n": npy_bytes("<i8", (1,), struct.pack("<q", 3))}
stored = npz_bytes(arrays, False)
deflated = npz_bytes(arrays, True)
put("npz", "savez.npz", stored)
put("npz", "savez_compressed.npz", deflated)
bad_crc = bytearray(stored)
bad_crc[bad_crc.find(b"c2w.npy") + 7 + 20 + 80] ^= 1  # one data bit of the first member (inside its payload)
put("npz", "bad_crc.npz", bytes(bad_crc))
put("npz", "truncated.npz", deflated[: len(deflated) // 2])
put("npz", "empty.npz", npz_bytes({}, False))

# ---- json -------------------------------------------------------------------------------------------
put("json", "config.json", json.dumps({"depth": 4, "hidden_size": 224, "patch_size": [1, 1, 1], "qk_norm": True,
                                      "norm_eps": 1e-5, "attn_type": "BidirectionalGDNTriton", "chunk_size": None,
                                      "mlp_acts": ["silu", "silu", None]}).encode())
put("json", "index.json", json.dumps({"metadata": {"total_size": 48},
                                     "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                                                    "b.bias": "model-00002-of-00002.safetensors"}}).encode())
put("json", "nested.json", b'[{"a": [1, [2, [3, {"b": "\\u00e9\\ud83d\\ude00"}]]]}, -0.0, 1e308, 18446744073709551615]')
put("json", "bad_duplicate.json", b'{"a": 1, "a": 2}')
put("json", "bad_truncated.json", b'{"weight_map": {"a": "x.safetensors"')
print("corpus written with", "NumPy " + np.__version__ if np is not None else "the stdlib emulation", file=sys.stderr)
