#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes tests/data/torch_randn.safetensors: PyTorch CPU randn reference tensors for the C++ torch_randn_cpu test.

Usage:  python3 scripts/gen_torch_randn.py [--out PATH] [--venv DIR] [--index-url URL]

Uses the running interpreter when it can import torch; otherwise it creates a venv (default
/tmp/sanawm-torch-venv, or $SANAWM_TORCH_VENV), installs torch into it with pip (PyPI by default; pass
--index-url https://download.pytorch.org/whl/cpu for the small CPU-only wheel where that host is reachable)
and re-runs itself there. No other dependency: the safetensors file is written by hand
(u64 LE header length | JSON header | raw little-endian data).

Tensors (all F32, C order), each torch.randn(shape, generator=torch.Generator().manual_seed(seed)):
  vec/s{seed}/n{n}       torch's AVX2/AVX-512 kernel (ATEN_CPU_CAPABILITY=avx2), seeds {0, 42, 2024, 2**32+5},
                         n in {1, 7, 16, 17, 100, 4099}  (n < 16 takes torch's scalar double path on any CPU)
  vec/s42/latent         shape (1, 128, 3, 2, 4)
  scalar/s{seed}/n{n}    torch's DEFAULT-capability scalar kernel (ATEN_CPU_CAPABILITY=default), seed 0,
                         n in {17, 100, 1000}
Metadata: torch version, generator script, per-run CPU capability.
"""
import argparse
import json
import os
import struct
import subprocess
import sys

SEEDS = [0, 42, 2024, 2**32 + 5]
SIZES = [1, 7, 16, 17, 100, 4099]
LATENT = (1, 128, 3, 2, 4)
SCALAR_CASES = [(0, 17), (0, 100), (0, 1000)]


def cases(kind):
    """(name, seed, shape) in a fixed order for one kernel kind."""
    if kind == "vec":
        out = [(f"vec/s{s}/n{n}", s, (n,)) for s in SEEDS for n in SIZES]
        out.append(("vec/s42/latent", 42, LATENT))
        return out
    return [(f"scalar/s{s}/n{n}", s, (n,)) for s, n in SCALAR_CASES]


def child(kind):
    """Runs inside a fresh interpreter whose ATEN_CPU_CAPABILITY is already set: raw float32 data to stdout."""
    import torch

    cap = torch.backends.cpu.get_cpu_capability()
    sys.stdout.buffer.write((json.dumps({"capability": cap, "torch": torch.__version__}) + "\n").encode())
    for _, seed, shape in cases(kind):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(shape, generator=g, dtype=torch.float32)
        sys.stdout.buffer.write(x.contiguous().numpy().astype("<f4").tobytes())


def ensure_torch(args):
    try:
        import torch  # noqa: F401
        return
    except ImportError:
        pass
    venv = args.venv or os.environ.get("SANAWM_TORCH_VENV", "/tmp/sanawm-torch-venv")
    py = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):  # already re-run inside it
        sys.exit("gen_torch_randn: torch is still not importable inside " + venv)
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    probe = subprocess.run([py, "-c", "import torch, numpy"], capture_output=True)
    if probe.returncode != 0:
        cmd = [py, "-m", "pip", "install", "torch", "numpy"]
        if args.index_url:
            cmd += ["--index-url", args.index_url, "--extra-index-url", "https://pypi.org/simple"]
        subprocess.check_call(cmd)
    os.execv(py, [py, os.path.abspath(__file__)] + sys.argv[1:])


def run_kind(kind, capability):
    env = dict(os.environ, ATEN_CPU_CAPABILITY=capability)
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind], env=env,
                         capture_output=True, check=True)
    head, _, data = res.stdout.partition(b"\n")
    return json.loads(head), data


def write_safetensors(path, tensors, metadata):
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, shape, blob in tensors:
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    hdr = json.dumps(header, separators=(",", ":")).encode()
    hdr += b" " * (-len(hdr) % 8)  # keep the data section 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for blob in blobs:
            f.write(blob)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "tests", "data", "torch_randn.safetensors"))
    ap.add_argument("--venv", default=None)
    ap.add_argument("--index-url", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    ensure_torch(args)

    tensors, meta = [], {"generator": "scripts/gen_torch_randn.py"}
    for kind, capability, expect in (("vec", "avx2", "AVX2"), ("scalar", "default", "DEFAULT")):
        info, data = run_kind(kind, capability)
        if info["capability"] != expect:
            sys.exit(f"gen_torch_randn: asked torch for {capability}, got {info['capability']} (needs an AVX2 CPU)")
        meta["torch_version"] = info["torch"]
        meta[f"{kind}_capability"] = info["capability"]
        pos = 0
        for name, _, shape in cases(kind):
            nbytes = 4
            for d in shape:
                nbytes *= d
            tensors.append((name, shape, data[pos:pos + nbytes]))
            pos += nbytes
        if pos != len(data):
            sys.exit(f"gen_torch_randn: {kind} child wrote {len(data)} bytes, expected {pos}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_safetensors(args.out, tensors, meta)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes, torch {meta['torch_version']})")


if __name__ == "__main__":
    main()
