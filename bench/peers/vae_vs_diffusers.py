# SPDX-License-Identifier: Apache-2.0
# vae_vs_diffusers.py — the Python side of vae_vs_diffusers.sh: runs the LTX-2 video VAE in diffusers'
# AutoencoderKLLTX2Video (CPU, fp32) and in sanawm (bench/vae/vae_decode_bench --weights --input --output) with the
# very same weights and inputs, checks that the outputs agree, and times both (best of N, interleaved rounds so
# that a noisy, shared machine slows both sides alike). Cases:
#   1. golden: the tiny random-weight model of the golden data (vae_tiny_a), decoding the golden latent; diffusers'
#      output is first checked against the golden float64 decode (so the peer is the reference it claims to be);
#   2. tiny, larger latent: the same weights on a random latent (default 3x8x8 latents → 17 frames of 256x256);
#   3. wide: a wider random-weight configuration (decoder widths 128/256/512, encoder 64/128/256/512 by default;
#      PyTorch's default initialisation, seed 0) written by this script to a temporary safetensors file (with the
#      config in its metadata, as vae::load_vae reads it): decode of random latents (3x4x4 and 3x8x8 latents:
#      17 frames of 128x128 and 256x256), and encode of one 256x256 image.
# Weights and inputs go through temporary files only (--tmp, default a fresh directory under /tmp), never the
# source tree.
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from safetensors import safe_open

from diffusers import AutoencoderKLLTX2Video


def load_golden_model(path):
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    if "config" not in meta:
        sys.exit(f"{path}: no 'config' in the safetensors metadata")
    cfg = json.loads(meta["config"])
    model = AutoencoderKLLTX2Video(**cfg)
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.float().eval(), cfg


def wide_config(dec, enc, dec_layers, enc_layers):
    return {
        "in_channels": 3, "out_channels": 3, "latent_channels": 128,
        "block_out_channels": enc, "decoder_block_out_channels": dec,
        "down_block_types": ["LTX2VideoDownBlock3D"] * 4,
        "layers_per_block": enc_layers, "decoder_layers_per_block": dec_layers,
        "spatio_temporal_scaling": [True] * 4, "decoder_spatio_temporal_scaling": [True] * 3,
        "decoder_inject_noise": [False] * 4,
        "downsample_type": ["spatial", "temporal", "spatiotemporal", "spatiotemporal"],
        "upsample_type": ["spatiotemporal"] * 3, "upsample_residual": [True] * 3, "upsample_factor": [2, 2, 2],
        "timestep_conditioning": False, "patch_size": 4, "patch_size_t": 1, "resnet_norm_eps": 1e-6,
        "scaling_factor": 1.0, "encoder_causal": True, "decoder_causal": False,
        "encoder_spatial_padding_mode": "zeros", "decoder_spatial_padding_mode": "reflect",
        "spatial_compression_ratio": 32, "temporal_compression_ratio": 8,
    }


def make_wide_model(cfg, path, seed=0):
    """Random weights (PyTorch default init, seed) for cfg, saved with the config in the metadata."""
    torch.manual_seed(seed)
    model = AutoencoderKLLTX2Video(**cfg).float().eval()
    lc = cfg["latent_channels"]
    with torch.no_grad():
        model.latents_mean.copy_(0.2 * torch.randn(lc))
        model.latents_std.copy_(0.5 + torch.rand(lc))
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(sd, str(path), metadata={"config": json.dumps(cfg)})
    return model


def params(model, prefix):
    return sum(p.numel() for n, p in model.state_dict().items() if n.startswith(prefix))


def run_sanawm(exe, weights, inp, out, threads, encode, repeat, bf16=False, pack=False):
    cmd = [exe, "--weights", str(weights), "--input", str(inp), "--output", str(out), "--repeat", str(repeat)]
    if encode:
        cmd.append("--encode")
    if bf16:
        cmd.append("--bf16")
    if pack:
        cmd.append("--pack")
    env = dict(os.environ, SANAWM_NUM_THREADS=str(threads))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    best = cpu = rate = None
    for line in r.stdout.splitlines():
        if line.startswith("best_s"):
            f = line.split()
            best, cpu = float(f[1]), float(f[f.index("best_cpu_s") + 1])
        if line.startswith("frames "):
            f = line.split()
            rate = float(f[f.index("GFLOP/s") - 1])
    return best, cpu, rate, " ".join(cmd)


def compare(name, ours, ref):
    d = (ours.double() - ref.double()).abs().max().item()
    m = ref.double().abs().max().item()
    return d, d / max(m, 1e-30)


def bench_case(args, tmp, label, model, wfile, x, encode):
    """Times diffusers and sanawm on input x (latent or image), interleaved rounds; returns a result dict."""
    inp, out = tmp / f"{label}.in.safetensors", tmp / f"{label}.out.safetensors"
    key = "video" if encode else "latent"
    save_file({key: x.contiguous()}, str(inp))
    reps = args.reps
    with torch.inference_mode():
        def peer():
            if encode:
                p = model.encode(x).latent_dist
                return {"mean": p.mean, "logvar": p.logvar}
            return {"video": model.decode(x).sample}
        ref = peer()  # warm-up, and the outputs to compare
        t_peer, t_ours, c_peer, c_ours, cmd = (float("inf"),) * 4 + (None,)
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            peer()
            t_peer = min(t_peer, time.perf_counter() - t0)
            c_peer = min(c_peer, time.process_time() - c0)
            best, cpu, conv_gf, cmd = run_sanawm(args.bench, wfile, inp, out, args.threads, encode, 2, args.bf16,
                                                 args.pack)
            t_ours, c_ours = min(t_ours, best), min(c_ours, cpu)
    ours = load_file(str(out))
    errs = {k: compare(k, ours[k], ref[k]) for k in ref}
    err = max(e[0] for e in errs.values())
    rel = max(e[1] for e in errs.values())
    shape_in = "x".join(str(s) for s in x.shape)
    shape_out = "x".join(str(s) for s in ref["mean" if encode else "video"].shape)
    return {"case": label, "what": "encode" if encode else "decode", "in": shape_in, "out": shape_out,
            "peer_ms": 1e3 * t_peer, "ours_ms": 1e3 * t_ours, "ratio": t_peer / t_ours, "err": err, "rel": rel,
            "peer_cpu_ms": 1e3 * c_peer, "ours_cpu_ms": 1e3 * c_ours, "cpu_ratio": c_peer / c_ours,
            "conv_gflop": conv_gf, "cmd": cmd}


def parse_list(s):
    return [int(v) for v in s.split(",")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path of vae_decode_bench")
    ap.add_argument("--golden", default=os.environ.get("SANAWM_GOLDEN_DIR", "/work/shared/golden"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3, help="interleaved rounds (best of N per side)")
    ap.add_argument("--tiny-latent", default="3x8x8", help="TxHxW of the larger tiny-model latent")
    ap.add_argument("--wide-latent", default="3x4x4,3x8x8",
                    help="TxHxW of the wide-model latents, comma-separated (one decode case each)")
    ap.add_argument("--wide-image", default="256x256", help="HxW of the image the wide model encodes")
    ap.add_argument("--wide-decoder", default="128,256,512")
    ap.add_argument("--wide-encoder", default="64,128,256,512")
    ap.add_argument("--wide-decoder-layers", default="2,2,2,2")
    ap.add_argument("--wide-encoder-layers", default="1,1,1,1,1")
    ap.add_argument("--tmp", default=None, help="scratch directory (default: a fresh one under /tmp)")
    ap.add_argument("--skip-wide", action="store_true")
    ap.add_argument("--pack", action="store_true",
                    help="sanawm side with its prepared-weight caches (vae::set_weight_packing: Winograd-transformed "
                         "weights, 1.78x those convs' weights; packed weights for small implicit-GEMM calls)")
    ap.add_argument("--bf16", action="store_true",
                    help="sanawm side with bf16 weights x bf16 activations (fp32 accumulation); diffusers stays fp32")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tmp = pathlib.Path(args.tmp or tempfile.mkdtemp(prefix="sanawm_vae_peer_"))
    tmp.mkdir(parents=True, exist_ok=True)
    golden = pathlib.Path(args.golden)
    print(f"torch {torch.__version__}, diffusers AutoencoderKLLTX2Video, {torch.get_num_threads()} threads; "
          f"sanawm {args.bench} with SANAWM_NUM_THREADS={args.threads}; scratch {tmp}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    # 1. The peer against the golden float64 decode (non-causal) and encode.
    wgold = golden / "vae_tiny_a.weights.safetensors"
    tiny, _ = load_golden_model(wgold)
    io = load_file(str(golden / "vae_tiny_a.io.safetensors"))
    with torch.inference_mode():
        dec = tiny.decode(io["decode.latent"]).sample
        enc = tiny.encode(io["encode.video"]).latent_dist.mean
    e_dec = compare("decode", dec, io["decode.video_f64"])
    e_enc = compare("encode", enc, io["encode.mean_f64"])
    print(f"diffusers vs golden: decode.video_f64 max abs {e_dec[0]:.3g} (rel {e_dec[1]:.3g}), "
          f"encode.mean_f64 max abs {e_enc[0]:.3g} (rel {e_enc[1]:.3g})")
    if e_dec[1] > 5e-5 or e_enc[1] > 5e-5:
        sys.exit("the diffusers model does not reproduce the golden data; stopping")

    results = []
    results.append(bench_case(args, tmp, "tiny_golden", tiny, wgold, io["decode.latent"], False))
    g = torch.Generator().manual_seed(1)
    t, h, w = parse_list(args.tiny_latent.replace("x", ","))
    z = torch.randn(1, 128, t, h, w, generator=g)
    results.append(bench_case(args, tmp, "tiny_random", tiny, wgold, z, False))
    results.append(bench_case(args, tmp, "tiny_encode", tiny, wgold,
                              torch.rand(1, 3, 1, 256, 256, generator=g) * 2 - 1, True))

    if not args.skip_wide:
        cfg = wide_config(parse_list(args.wide_decoder), parse_list(args.wide_encoder),
                          parse_list(args.wide_decoder_layers), parse_list(args.wide_encoder_layers))
        wfile = tmp / "vae_wide.weights.safetensors"
        wide = make_wide_model(cfg, wfile)
        print(f"wide model: decoder {cfg['decoder_block_out_channels']} x {cfg['decoder_layers_per_block']} "
              f"({params(wide, 'decoder.') / 1e6:.1f} M params), encoder {cfg['block_out_channels']} x "
              f"{cfg['layers_per_block']} ({params(wide, 'encoder.') / 1e6:.1f} M params), weights {wfile}")
        for shape in args.wide_latent.split(","):
            t, h, w = parse_list(shape.replace("x", ","))
            results.append(bench_case(args, tmp, f"wide_decode_{h}x{w}", wide, wfile,
                                      torch.randn(1, 128, t, h, w, generator=g), False))
        ih, iw = parse_list(args.wide_image.replace("x", ","))
        results.append(bench_case(args, tmp, "wide_encode", wide, wfile,
                                  torch.rand(1, 3, 1, ih, iw, generator=g) * 2 - 1, True))

    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    print(f"best of {args.reps} interleaved rounds (sanawm: best of 2 runs per round), diffusers fp32, sanawm "
          f"{'bf16 x bf16 (fp32 accumulation)' if args.bf16 else 'fp32'}{' + packed weights' if args.pack else ''}, "
          f"{args.threads} thread(s) each")
    print("wall: elapsed time; CPU: process CPU time of all threads (robust on a shared machine, exact with 1 thread)")
    print(f"| case | what | input | output | diffusers ms | sanawm ms | diffusers/sanawm | diffusers CPU ms | "
          f"sanawm CPU ms | CPU ratio | max abs err | rel err | sanawm conv GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['case']} | {r['what']} | {r['in']} | {r['out']} | {r['peer_ms']:.1f} | {r['ours_ms']:.1f} | "
              f"{r['ratio']:.2f} | {r['peer_cpu_ms']:.1f} | {r['ours_cpu_ms']:.1f} | {r['cpu_ratio']:.2f} | "
              f"{r['err']:.2e} | {r['rel']:.2e} | {r['conv_gflop']} |")
    print("\nsanawm commands (last round):")
    for r in results:
        print(f"  {r['case']}: {r['cmd']}")
    bad = [r for r in results if r["rel"] > (3e-2 if args.bf16 else 1e-4)]
    if bad:
        sys.exit("outputs disagree: " + ", ".join(r["case"] for r in bad))


if __name__ == "__main__":
    main()
