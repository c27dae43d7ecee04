# SPDX-License-Identifier: Apache-2.0
# gdn_vs_pytorch.py — the PyTorch side of gdn_vs_pytorch.sh: loads the inputs gdn_peer_driver wrote, runs an eager
# PyTorch implementation of the same frame-wise GDN (batched torch.matmul for phases A and C, a Python loop of
# batched D×D products for the scans, as upstream's chunkwise "v2" path is organised), checks it agrees with
# sanawm's output and prints the time ratios.
import argparse
import json
import pathlib
import statistics
import time

import numpy as np
import torch


def gdn_torch(q, qr, k, kr, v, beta, gamma, eps, bidirectional):
    """Frame-wise GDN in eager PyTorch. Token tensors [B, T, S, H, D], beta [B, T, S, H], gamma [B, T, H];
    returns out [B, T, S, H, D] (contiguous, the layout the next linear layer needs)."""
    B, T, S, H, D = q.shape
    # [B, H, T, S, D], made contiguous once: MKL's batched sgemm on the permuted views runs ~3x slower than on
    # contiguous copies (measured on the build machine), so the copies pay for themselves.
    perm = lambda x: x.permute(0, 3, 1, 2, 4).contiguous()
    q, qr, k, kr, v = map(perm, (q, qr, k, kr, v))
    bt = beta.permute(0, 3, 1, 2).unsqueeze(-1)  # [B, H, T, S, 1]
    g = gamma.permute(0, 2, 1)  # [B, H, T]
    # Phase A: P = Krᵀ diag(β) Kr, A = Krᵀ diag(β) V, Pz = Kᵀ diag(β) K, b = Kᵀ β.
    krb = kr * bt
    kb = k * bt
    P = krb.transpose(-1, -2) @ kr
    A = krb.transpose(-1, -2) @ v
    Pz = kb.transpose(-1, -2) @ k
    bz = kb.sum(-2)
    # Phase B: forward (inclusive) and reverse (exclusive) scans, summed per frame.
    Mh = torch.empty(B, H, T, D, D)
    zh = torch.empty(B, H, T, D)
    M = torch.zeros(B, H, D, D)
    z = torch.zeros(B, H, D)
    for t in range(T):
        gt = g[:, :, t, None]
        M = gt[..., None] * (M - P[:, :, t] @ M) + A[:, :, t]
        z = gt * (z - (Pz[:, :, t] @ z[..., None])[..., 0]) + bz[:, :, t]
        Mh[:, :, t] = M
        zh[:, :, t] = z
    if bidirectional:
        M = torch.zeros(B, H, D, D)
        z = torch.zeros(B, H, D)
        for t in range(T - 2, -1, -1):
            gt = g[:, :, t + 1, None]
            M = gt[..., None] * (M - P[:, :, t + 1] @ M) + A[:, :, t + 1]
            z = gt * (z - (Pz[:, :, t + 1] @ z[..., None])[..., 0]) + bz[:, :, t + 1]
            Mh[:, :, t] += M
            zh[:, :, t] += z
    # Phase C: num = q̂ʳ M, den = q̂ · z, out = num / (den + eps).
    num = qr @ Mh
    den = (q * zh[:, :, :, None, :]).sum(-1)
    out = num / (den + eps)[..., None]
    return out.permute(0, 2, 3, 1, 4).contiguous()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=pathlib.Path)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta = json.loads((args.dir / "sanawm.json").read_text())
    load = lambda name: torch.from_numpy(np.load(args.dir / f"{name}.npy"))
    q, qr, k, kr, v, beta, gamma = (load(n) for n in ("q", "q_rot", "k", "k_rot", "v", "beta", "gamma"))
    bidir = meta["mode"] == "bidirectional"
    walls, cpus = [], []
    out = None
    with torch.inference_mode():
        for _ in range(args.reps):
            w0, c0 = time.perf_counter(), time.process_time()
            out = gdn_torch(q, qr, k, kr, v, beta, gamma, 1e-8, bidir)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
    ref = torch.from_numpy(np.load(args.dir / "out_sanawm.npy"))
    err = ((out - ref).abs().max() / ref.abs().max()).item()
    rms = ((out - ref).square().mean().sqrt() / ref.square().mean().sqrt()).item()
    tw, tc = statistics.median(walls), statistics.median(cpus)
    sw, sc = statistics.median(meta["seconds"]), statistics.median(meta["cpu_seconds"])
    print(f"T={meta['T']:4d} {meta['mode']}: PyTorch {torch.__version__} eager {tw:8.3f} s wall {tc:8.3f} s cpu | "
          f"sanawm ({meta['isa']}) {sw:8.3f} s wall {sc:8.3f} s cpu | speed-up {tw / sw:5.2f}x wall, "
          f"{tc / sc:5.2f}x cpu | {args.threads} threads | max rel diff {err:.1e}, rel RMS {rms:.1e}")
    if not (err < 1e-4 and rms < 1e-5):
        raise SystemExit(f"outputs disagree: max rel diff {err:.3e}, rel RMS {rms:.3e}")


if __name__ == "__main__":
    main()
