# SPDX-License-Identifier: Apache-2.0
# attention_vs_pytorch.py — the PyTorch side of attention_vs_pytorch.sh: loads the q/k/v attention_peer_driver
# wrote, runs torch.nn.functional.scaled_dot_product_attention (CPU, fp32, scale 1/√D) on the same arrays, checks it
# agrees with sanawm's output and prints the wall-clock and CPU-time ratios (> 1 means sanawm is faster).
import argparse
import json
import pathlib
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", type=pathlib.Path)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta = json.loads((args.dir / "sanawm.json").read_text())
    load = lambda name: torch.from_numpy(np.load(args.dir / f"{name}.npy"))
    # [B, N, H, D] → SDPA's [B, H, N, D] as views (no copy, as a model's reshape would give it).
    q, k, v = (load(n).transpose(1, 2) for n in ("q", "k", "v"))
    D = q.shape[-1]
    walls, cpus = [], []
    out = None
    with torch.inference_mode():
        for r in range(args.reps + 1):  # the first run warms up
            w0, c0 = time.perf_counter(), time.process_time()
            out = F.scaled_dot_product_attention(q, k, v, scale=D ** -0.5)
            if r > 0:
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
    out = out.transpose(1, 2)
    ref = torch.from_numpy(np.load(args.dir / "out.npy"))
    rms = ((out - ref).square().mean().sqrt() / out.square().mean().sqrt()).item()
    maxd = (out - ref).abs().max().item()
    tw, tc = min(walls), min(cpus)
    sw, sc = meta["wall_s"], meta["cpu_s"]
    print(f"N={q.shape[2]:5d} H={q.shape[1]} D={D}: PyTorch {torch.__version__} SDPA {tw:8.3f} s wall {tc:8.3f} s cpu | "
          f"sanawm {sw:8.3f} s wall {sc:8.3f} s cpu | sanawm speed-up {tw / sw:5.2f}x wall, {tc / sc:5.2f}x cpu | "
          f"{args.threads} threads | rel RMS {rms:.1e}, max abs diff {maxd:.1e}")
    if not rms < 1e-5:
        raise SystemExit(f"outputs disagree: rel RMS {rms:.3e}")


if __name__ == "__main__":
    main()
