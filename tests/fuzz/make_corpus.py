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
import zlib

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
# ---- image (stb decoders) ---------------------------------------------------------------------------
def png_bytes(w, h, bit_depth, color_type, rows, plte=None, interlace=0):
    """rows: raw scanlines (without the filter byte); filter 0 (None) everywhere."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


rgb8 = png_bytes(4, 3, 8, 2, [bytes((x * 60 + y * 7 + c * 90) & 255 for x in range(4) for c in range(3)) for y in range(3)])
put("image", "rgb8.png", rgb8)
put("image", "grey16.png", png_bytes(3, 2, 16, 0, [struct.pack(">3H", 1000 * y, 30000, 65535) for y in range(2)]))
put("image", "rgba8.png", png_bytes(2, 2, 8, 6, [bytes([255, 0, 0, 128, 0, 255, 0, 255]), bytes([0, 0, 255, 0, 9, 9, 9, 9])]))
put("image", "palette.png", png_bytes(2, 2, 8, 3, [b"\x00\x01", b"\x01\x00"], plte=b"\xff\x00\x00\x00\x00\xff"))
put("image", "bad_truncated.png", rgb8[: len(rgb8) - 20])
put("image", "bad_huge.png", rgb8[:16] + struct.pack(">II", 100000, 100000) + rgb8[24:])
# JPEGs written by stb_image_write (stbi_write_jpg_to_func, quality 50): 8x8 RGB and 8x8 grey.
jpeg_rgb = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb008400100b0c0e0c0a100e0d0e1211101318281a181616183123251d"
    "283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763011112121815182f1a1a2f"
    "6342384263636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363"
    "63636363ffc00011080008000803012200021101031101ffc401a20000010501010101010100000000000000000102030405"
    "060708090a0b100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1"
    "c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63646566"
    "6768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4"
    "c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa010003010101010101010101000000"
    "0000000102030405060708090a0b110002010204040304070504040001027700010203110405213106124151076171132232"
    "8108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455"
    "565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3"
    "b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c030100"
    "02110311003f006c414dbbc4146463a63d318c633d88e9df18ea862fb1ff00d3bffe40ff00ed3535affc7dcdff005d3ff6e2"
    "b7eb7a5f697998d5f8afe4bf23ffd9")
jpeg_grey = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb008400100b0c0e0c0a100e0d0e1211101318281a181616183123251d"
    "283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763011112121815182f1a1a2f"
    "6342384263636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363"
    "63636363ffc00011080008000803012200021101031101ffc401a20000010501010101010100000000000000000102030405"
    "060708090a0b100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1"
    "c11552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63646566"
    "6768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4"
    "c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa010003010101010101010101000000"
    "0000000102030405060708090a0b110002010204040304070504040001027700010203110405213106124151076171132232"
    "8108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35363738393a434445464748494a535455"
    "565758595a636465666768696a737475767778797a82838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3"
    "b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c030100"
    "02110311003f008c476e6c4c366e61d3d501b8b96054b8fee81d71dbd49e3a75cffb2787bfe7ecff00df893ff89ab8bff228"
    "5d7fdb3ffd18b5cfd007ffd9")
put("image", "rgb.jpg", jpeg_rgb)
put("image", "grey.jpg", jpeg_grey)
put("image", "bad_truncated.jpg", jpeg_rgb[: len(jpeg_rgb) // 2])

# ---- y4m --------------------------------------------------------------------------------------------
def y4m(header, frames):
    return header + b"".join(b"FRAME\n" + f for f in frames)


put("y4m", "c444.y4m", y4m(b"YUV4MPEG2 W3 H2 F16:1 Ip A1:1 C444 XCOLORRANGE=FULL\n", [bytes(range(18)), bytes(range(100, 118))]))
put("y4m", "c420jpeg_odd.y4m", y4m(b"YUV4MPEG2 W5 H3 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\n", [bytes(range(15 + 2 * 6))]))
put("y4m", "mono_limited.y4m", y4m(b"YUV4MPEG2 W2 H2 F25:1 Cmono XCOLORRANGE=LIMITED\n", [b"\x10\x80\xeb\xff"]))
put("y4m", "c422_frame_params.y4m", b"YUV4MPEG2 W4 H1 F1:1 C422\nFRAME Ixyz\n" + bytes(range(8)))
put("y4m", "bad_truncated.y4m", b"YUV4MPEG2 W4 H4 F16:1 C444\nFRAME\n" + bytes(20))
put("y4m", "bad_header.y4m", b"YUV4MPEG2 W4 H-4 F16:1\n")

print("corpus written with", "NumPy " + np.__version__ if np is not None else "the stdlib emulation", file=sys.stderr)
