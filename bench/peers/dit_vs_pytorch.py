# SPDX-License-Identifier: Apache-2.0
# dit_vs_pytorch.py — the PyTorch side of dit_vs_pytorch.sh: an eager PyTorch (torch.nn.functional only)
# transcription of the SANA-WM bidirectional DiT forward, written from docs/sanawm-architecture.md and the golden
# README (dit_tiny_a). It (1) checks itself against the golden float64 output of dit_tiny_a, (2) times itself and
# `sanawm-forward` (fp32, best of N, forward only) on the golden shape and on a larger shape with the same weights
# (inputs written to a temporary safetensors so both sides run the very same tensors) and compares the outputs.
import argparse
import json
import math
import os
import pathlib
import re
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------------
# safetensors, by hand (8-byte header length, JSON header, raw little-endian data)

_DT = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_safetensors(path):
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        arr = np.frombuffer(raw, dtype=_DT[e["dtype"]], count=(end - b) // np.dtype(_DT[e["dtype"]]).itemsize,
                            offset=base + b)
        out[name] = torch.from_numpy(arr.reshape(e["shape"]).copy())
    return out, meta


def write_safetensors(path, tensors):
    names = {np.dtype(v): k for k, v in _DT.items()}
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.numpy())
        blob = a.tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---------------------------------------------------------------------------------------------------------------
# The model


class Weights:
    def __init__(self, tensors, config, dtype):
        self.t = {k: v.to(dtype) for k, v in tensors.items()}
        self.cfg = config
        self.C = config["hidden_size"]
        self.D = config["linear_head_dim"]
        self.H = self.C // self.D
        self.depth = config["depth"]
        self.softmax_every = config["softmax_every_n"]

    def __getitem__(self, k):
        return self.t[k]

    def lin(self, x, name, bias=True):
        w = self.t[name + ".weight"]
        return F.linear(x, w.reshape(w.shape[0], -1), self.t.get(name + ".bias") if bias else None)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps) * w


def rope_angles(T, Hl, Wl, D, theta=10000.0):
    """[N, D/2] angles of the 3-D RoPE (float64): t pairs, then h pairs, then w pairs (dims 40/36/36 for D=112)."""
    hw = 2 * (D // 6)
    dims = (D - 2 * hw, hw, hw)
    pos = torch.stack(torch.meshgrid(torch.arange(T), torch.arange(Hl), torch.arange(Wl), indexing="ij"), -1)
    pos = pos.reshape(-1, 3).double()
    parts = []
    for axis, d in enumerate(dims):
        freq = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
        parts.append(pos[:, axis, None] * freq)
    return torch.cat(parts, -1), dims


def rotate_pairs(x, cos, sin):
    """Interleaved-pair rotation (x[2i], x[2i+1]) · e^{iθ}; x [..., N, H, 2P], cos/sin [N, P]."""
    a, b = x[..., 0::2], x[..., 1::2]
    c, s = cos[:, None, :], sin[:, None, :]
    return torch.stack((a * c - b * s, a * s + b * c), -1).flatten(-2)


def ucpe_raymats(cond, Hl, Wl):
    """cond [B, T, 20] → P [B, T·Hl·Wl, 4, 4], the world→ray-local SE(3) of every latent token."""
    B, T, _ = cond.shape
    dt = cond.dtype
    c2w = cond[..., :16].reshape(B, T, 4, 4)
    R, o = c2w[..., :3, :3], c2w[..., :3, 3]
    fx, fy, cx, cy = (cond[..., 16 + i, None, None] for i in range(4))
    v, u = torch.meshgrid(torch.arange(Hl, dtype=dt), torch.arange(Wl, dtype=dt), indexing="ij")
    d = torch.stack(((u - cx) / fx, (v - cy) / fy, torch.ones_like(u - cx)), -1)  # [B, T, Hl, Wl, 3]
    d = d / d.norm(dim=-1, keepdim=True)
    dw = torch.einsum("btij,bthwj->bthwi", R, d)
    bad = torch.isnan(dw).any(-1)
    z = F.normalize(dw, dim=-1, eps=1e-6)
    yc = R[..., :, 1][:, :, None, None, :].expand_as(z)
    x = F.normalize(torch.linalg.cross(yc, z, dim=-1), dim=-1, eps=1e-6)
    y = F.normalize(torch.linalg.cross(z, x, dim=-1), dim=-1, eps=1e-6)
    rot = torch.stack((x, y, z), -2)  # rows = ray axes = R_rayᵀ
    trans = -(rot @ o[:, :, None, None, :, None])[..., 0]
    P = torch.zeros(*z.shape[:-1], 4, 4, dtype=dt)
    P[..., :3, :3] = rot
    P[..., :3, 3] = trans
    P[..., 3, 3] = 1
    P = torch.where(bad[..., None, None], torch.eye(4, dtype=dt), P)
    return P.reshape(B, T * Hl * Wl, 4, 4)


class Context:
    """Per-forward geometry shared by the blocks: RoPE tables (main and camera), UCPE matrices."""

    def __init__(self, W, inp, dtype):
        self.B, _, self.T, self.Hl, self.Wl = inp["x"].shape
        self.S = self.Hl * self.Wl
        self.N = self.T * self.S
        D = W.D
        ang, dims = rope_angles(self.T, self.Hl, self.Wl, D)
        self.cos, self.sin = ang.cos().to(dtype), ang.sin().to(dtype)
        # Camera RoPE (second half of a head, D/2 dims): the first pairs of each axis of the main table.
        half = D // 2
        hw = 2 * (half // 6)
        ct, ch = (half - 2 * hw) // 2, hw // 2
        pt, ph = dims[0] // 2, dims[1] // 2
        idx = list(range(ct)) + list(range(pt, pt + ch)) + list(range(pt + ph, pt + ph + ch))
        self.ccos, self.csin = self.cos[:, idx], self.sin[:, idx]
        P = ucpe_raymats(inp["camera_conditions"].to(dtype), self.Hl, self.Wl)
        self.M_q = P.transpose(-1, -2)
        self.M_kv = torch.linalg.inv(P)
        self.M_o = P

    def ucpe(self, x, M, inverse_rope=False):
        """x [B, N, H, D]: 4-vector groups of the first half by M (per token), camera RoPE on the second half."""
        D = x.shape[-1]
        g = x[..., : D // 2].unflatten(-1, (D // 8, 4))
        g = torch.einsum("bnij,bnhgj->bnhgi", M, g).flatten(-2)
        s = -self.csin if inverse_rope else self.csin
        return torch.cat((g, rotate_pairs(x[..., D // 2:], self.ccos, s)), -1)


def short_conv(x, w, B, T, S):
    """Bidirectional short conv along time of raw keys x [B, N, C]: the symmetric 7-tap filter [w0 w1 w2 w3 w2 w1 w0]
    (= causal + flipped causal − centre tap), depthwise, zero padded."""
    C, K = w.shape[0], w.shape[-1]
    w = w.reshape(C, K)
    sym = torch.cat((w, w[:, :-1].flip(-1)), -1)[:, None, :]  # [C, 1, 2K−1]
    xt = x.reshape(B, T, S, C).permute(0, 2, 3, 1).reshape(B * S, C, T)
    y = F.conv1d(xt, sym, padding=K - 1, groups=C)
    return y.reshape(B, S, C, T).permute(0, 3, 1, 2).reshape(B, T * S, C)


def frame_scan(k, v, beta, gamma):
    """Frame-wise delta-rule scan, bidirectional. k [B, H, T, S, Dk], v [B, H, T, S, Dv], beta [B, H, T, S],
    gamma [B, H, T]. Returns the summed states per frame [B, H, T, Dk, Dv]: forward inclusive + reverse exclusive,
    M_t = γ_t (M_{t−1} − P_t M_{t−1}) + A_t with P_t = Kᵀ diag(β) K, A_t = Kᵀ diag(β) V."""
    kb = k * beta[..., None]
    P = kb.transpose(-1, -2) @ k
    A = kb.transpose(-1, -2) @ v
    T = k.shape[2]
    g = gamma[..., None, None]
    hist = torch.zeros_like(A)
    M = torch.zeros_like(A[:, :, 0])
    for t in range(T):
        M = g[:, :, t] * (M - P[:, :, t] @ M) + A[:, :, t]
        hist[:, :, t] = M
    M = torch.zeros_like(M)
    for t in range(T - 2, -1, -1):
        M = g[:, :, t + 1] * (M - P[:, :, t + 1] @ M) + A[:, :, t + 1]
        hist[:, :, t] = hist[:, :, t] + M
    return hist


def self_attention(W, ctx, i, u):
    p = f"blocks.{i}.attn"
    B, N, C, H, D, T, S = ctx.B, ctx.N, W.C, W.H, W.D, ctx.T, ctx.S
    gdn = (i + 1) % W.softmax_every != 0
    heads = lambda x: x.reshape(B, N, H, D)
    q, k, v = W.lin(u, p + ".qkv", bias=False).split(C, -1)
    qc, kc, vc = (W.lin(u, f"{p}.{n}_proj_cam") for n in "qkv")
    if gdn:
        kappa = 1.0 / math.sqrt(D * S)
        k = short_conv(k, W[p + ".conv_k.weight"], B, T, S)
        kc = short_conv(kc, W[p + ".conv_k_cam.weight"], B, T, S)
        q = F.relu(rmsnorm(q, W[p + ".q_norm.weight"], 1e-5))
        k = F.relu(rmsnorm(k, W[p + ".k_norm.weight"], 1e-5)) * kappa
        qc = F.relu(rmsnorm(qc, W[p + ".q_norm_cam.weight"], 1e-5))
        kc = F.relu(rmsnorm(kc, W[p + ".k_norm_cam.weight"], 1e-5)) * kappa
    else:
        q = rmsnorm(q, W[p + ".q_norm.weight"], 1e-5)
        k = rmsnorm(k, W[p + ".k_norm.weight"], 1e-5)
        qc = rmsnorm(qc, W[p + ".q_norm_cam.weight"], 1e-5)
        kc = rmsnorm(kc, W[p + ".k_norm_cam.weight"], 1e-5)
    q, k, v, qc, kc, vc = map(heads, (q, k, v, qc, kc, vc))
    qr, kr = rotate_pairs(q, ctx.cos, ctx.sin), rotate_pairs(k, ctx.cos, ctx.sin)
    qct, kct, vct = ctx.ucpe(qc, ctx.M_q), ctx.ucpe(kc, ctx.M_kv), ctx.ucpe(vc, ctx.M_kv)
    if gdn:
        # [B, N, H, D] → [B, H, T, S, D]
        fr = lambda x: x.reshape(B, T, S, H, -1).permute(0, 3, 1, 2, 4)
        beta = torch.sigmoid(W.lin(u, p + ".beta_proj"))  # [B, N, H]
        ubar = u.reshape(B, T, S, C).mean(2)
        a = W.lin(ubar, p + ".gate_proj")  # [B, T, H]
        gamma = torch.exp(-torch.exp(W[p + ".A_log"]) * F.softplus(a + W[p + ".dt_bias"])).transpose(1, 2)
        bt = beta.reshape(B, T, S, H).permute(0, 3, 1, 2)
        # Main branch: numerator on rotated q/k, denominator (z stream) on the unrotated ones.
        Mh = frame_scan(fr(kr), fr(v), bt, gamma)
        kz = fr(k)
        zh = frame_scan(kz, torch.ones_like(kz[..., :1]), bt, gamma)[..., 0]  # [B, H, T, D]
        num = fr(qr) @ Mh
        den = (fr(q) * zh[:, :, :, None, :]).sum(-1, keepdim=True)
        om = num / (den + 1e-8)
        # Camera branch: dynamic β discount, numerator-only scan.
        pre, post = kc.square().sum(-1), kct.square().sum(-1)  # [B, N, H]
        iota = torch.where(pre > 0, post / torch.where(pre > 0, pre, 1), 0).reshape(B, T, S, H).mean(2)
        bc = bt / torch.clamp(iota, min=1).transpose(1, 2)[..., None]
        oc = fr(qct) @ frame_scan(fr(kct), fr(vct), bc, gamma)
        back = lambda x: x.permute(0, 2, 3, 1, 4).reshape(B, N, H, D)
        om, oc = back(om), back(oc)
    else:
        tr = lambda x: x.transpose(1, 2)  # [B, H, N, D]
        om = tr(F.scaled_dot_product_attention(tr(qr), tr(kr), tr(v), scale=1.0 / math.sqrt(D)))
        oc = tr(F.scaled_dot_product_attention(tr(qct), tr(kct), tr(vct), scale=1.0 / math.sqrt(128)))
    oc = ctx.ucpe(oc, ctx.M_o, inverse_rope=True).reshape(B, N, C)
    comb = om.reshape(B, N, C) + W.lin(oc, p + ".out_proj_cam")
    return W.lin(comb * F.silu(W.lin(u, p + ".output_gate")), p + ".proj")


def cross_attention(W, ctx, i, x, y, bias):
    p = f"blocks.{i}.cross_attn"
    B, N, C, H, D = ctx.B, ctx.N, W.C, W.H, W.D
    L = y.shape[1]
    q = rmsnorm(W.lin(x, p + ".q_linear"), W[p + ".q_norm.weight"], 1e-6)
    k, v = W.lin(y, p + ".kv_linear").split(C, -1)
    k = rmsnorm(k, W[p + ".k_norm.weight"], 1e-6)
    hq = q.reshape(B, N, H, D).transpose(1, 2)
    hk, hv = (t.reshape(B, L, H, D).transpose(1, 2) for t in (k, v))
    o = F.scaled_dot_product_attention(hq, hk, hv, attn_mask=bias[:, None, None, :], scale=1.0 / math.sqrt(D))
    return W.lin(o.transpose(1, 2).reshape(B, N, C), p + ".proj")


def ffn(W, ctx, i, m):
    p = f"blocks.{i}.mlp"
    B, T, Hl, Wl, C = ctx.B, ctx.T, ctx.Hl, ctx.Wl, W.C
    h = F.silu(W.lin(m, p + ".inverted_conv.conv"))  # [B, N, 2F]
    F2 = h.shape[-1]
    h = h.reshape(B * T, Hl, Wl, F2).permute(0, 3, 1, 2)
    h = F.conv2d(h, W[p + ".depth_conv.conv.weight"], W[p + ".depth_conv.conv.bias"], padding=1, groups=F2)
    a, g = h.chunk(2, 1)
    h = (a * F.silu(g)).permute(0, 2, 3, 1).reshape(B, ctx.N, F2 // 2)
    yv = W.lin(h, p + ".point_conv.conv", bias=False)  # [B, N, C]
    yt = yv.reshape(B, T, ctx.S, C).permute(0, 3, 1, 2)  # [B, C, T, S]
    z = F.conv2d(yt, W[p + ".t_conv.weight"], padding=(1, 0))
    return yv + z.permute(0, 2, 3, 1).reshape(B, ctx.N, C)


def dit_forward(W, inp, dtype=torch.float32, acts=None):
    """The bidirectional forward model(x, timestep, y, mask, camera_conditions, chunk_plucker) → [B, 128, T, H, W].
    `acts` (a dict) receives the intermediates under the golden act.* names."""
    inp = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in inp.items()}
    ctx = Context(W, inp, dtype)
    B, T, S, N, C = ctx.B, ctx.T, ctx.S, ctx.N, W.C
    put = (lambda n, v: acts.__setitem__(n, v)) if acts is not None else (lambda n, v: None)
    x = W.lin(inp["x"].flatten(2).transpose(1, 2), "x_embedder.proj")  # [B, N, C]
    put("act.x_embed", x)
    # Timestep: truncated to integers, 256-d sinusoid (cos first), t_embedder MLP, t_block.
    tt = inp["timestep"].reshape(B, T).to(torch.int64).to(dtype)
    half = 128
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=dtype) / half)
    arg = tt[..., None] * freqs
    temb = torch.cat((torch.cos(arg), torch.sin(arg)), -1)
    t_emb = W.lin(F.silu(W.lin(temb, "t_embedder.mlp.0")), "t_embedder.mlp.2")  # [B, T, C]
    t0 = W.lin(F.silu(t_emb), "t_block.1").reshape(B, T, 6, C)
    put("act.t_emb", t_emb.reshape(B * T, C))
    put("act.t0", t0.reshape(B * T, 6 * C))
    # Caption.
    y = inp["y"].reshape(B, -1, inp["y"].shape[-1])
    y = W.lin(F.gelu(W.lin(y, "y_embedder.y_proj.fc1"), approximate="tanh"), "y_embedder.y_proj.fc2")
    y = rmsnorm(y, W["attention_y_norm.weight"], 1e-5)
    put("act.y_normed", y[:, None])
    mask = inp.get("mask", torch.ones(B, y.shape[1], dtype=torch.int64))
    bias = torch.where(mask != 0, 0.0, -10000.0).to(dtype)
    # Plücker embedding, shared by every block.
    pl = W.lin(inp["chunk_plucker"].flatten(2).transpose(1, 2), "plucker_embedder.proj")
    put("act.plucker_emb", pl)

    def modulate(v, sst, ish, isc):
        mod = sst[None, None] + t0  # [B, T, 6, C]
        ln = F.layer_norm(v, (C,), eps=1e-6).reshape(B, T, S, C)
        return (ln * (1 + mod[:, :, isc, None]) + mod[:, :, ish, None]).reshape(B, N, C)

    def gated(v, sst, ig):
        g = (sst[None, None] + t0)[:, :, ig, None]
        return (g * v.reshape(B, T, S, C)).reshape(B, N, C)

    for i in range(W.depth):
        sst = W[f"blocks.{i}.scale_shift_table"]
        a = self_attention(W, ctx, i, modulate(x, sst, 0, 1))
        put(f"act.block{i}_attn_out", a)
        x = x + gated(a, sst, 2)
        x = x + W.lin(pl, f"blocks.{i}.plucker_proj")
        c = cross_attention(W, ctx, i, x, y, bias)
        put(f"act.block{i}_cross_attn_out", c)
        x = x + c
        m = ffn(W, ctx, i, modulate(x, sst, 3, 4))
        put(f"act.block{i}_mlp_out", m)
        x = x + gated(m, sst, 5)
        put(f"act.block{i}_out", x)
    fs = W["final_layer.scale_shift_table"]
    shift, scale = fs[0] + t_emb, fs[1] + t_emb  # [B, T, C]
    h = F.layer_norm(x, (C,), eps=1e-6).reshape(B, T, S, C) * (1 + scale[:, :, None]) + shift[:, :, None]
    out = W.lin(h.reshape(B, N, C), "final_layer.linear")
    put("act.final_layer_out", out)
    return out.transpose(1, 2).reshape(B, -1, T, ctx.Hl, ctx.Wl)


# ---------------------------------------------------------------------------------------------------------------
# Inputs for the larger shape: a smooth camera path, its chunk_plucker and UCPE conditions, random latents/text.


def pose(r):
    """c2w (OpenCV axes) of raw frame r: slow yaw + forward/right drift."""
    a = math.radians(0.6 * r)
    c, s = math.cos(a), math.sin(a)
    m = torch.eye(4, dtype=torch.float64)
    m[:3, :3] = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=torch.float64)
    m[:3, 3] = torch.tensor([0.01 * r, -0.002 * r, 0.025 * r], dtype=torch.float64)
    return m


def make_inputs(T, Hl, Wl, L, seed):
    g = torch.Generator().manual_seed(seed)
    fx = fy = 0.8 * Wl  # latent-grid units (≈ 64° horizontal FOV)
    cx, cy = (Wl - 1) / 2, (Hl - 1) / 2
    intr = torch.tensor([fx, fy, cx, cy], dtype=torch.float64)
    cond = torch.stack([torch.cat((pose(8 * t).flatten(), intr)) for t in range(T)])[None]
    v, u = torch.meshgrid(torch.arange(Hl, dtype=torch.float64), torch.arange(Wl, dtype=torch.float64), indexing="ij")
    dcam = torch.stack(((u - cx) / fx, (v - cy) / fy, torch.ones_like(u)), -1)
    frames = []
    for t in range(T):
        r0 = max(0, 8 * t - 7)
        chans = []
        for r in range(r0, r0 + 8):
            m = pose(r)
            d = F.normalize(dcam @ m[:3, :3].T, dim=-1)
            o = m[:3, 3].expand_as(d)
            chans.append(torch.cat((d, torch.linalg.cross(o, d, dim=-1)), -1).permute(2, 0, 1))  # [6, Hl, Wl]
        frames.append(torch.cat(chans, 0))  # [48, Hl, Wl]
    plucker = torch.stack(frames, 1)[None]  # [1, 48, T, Hl, Wl]
    ts = torch.rand(1, 1, T, generator=g, dtype=torch.float64) * 999.0
    ts[..., 0] = 0.0
    mask = torch.ones(1, L, dtype=torch.int64)
    mask[:, L - L // 4:] = 0
    return {
        "x": torch.randn(1, 128, T, Hl, Wl, generator=g),
        "timestep": ts.float(),
        "y": torch.randn(1, 1, L, 64, generator=g),
        "mask": mask,
        "camera_conditions": cond.float(),
        "chunk_plucker": plucker.float(),
    }


# ---------------------------------------------------------------------------------------------------------------


def rel(a, b):
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / b.abs().max()).item(), (a - b).abs().max().item()


def time_torch(W, inp, reps):
    best = math.inf
    out = None
    with torch.inference_mode():
        for _ in range(reps):
            t0 = time.perf_counter()
            out = dit_forward(W, inp)
            best = min(best, time.perf_counter() - t0)
    return best * 1e3, out


def time_sanawm(exe, weights, inputs, reps, threads, tmp):
    outp = os.path.join(tmp, "sanawm_out.safetensors")
    env = dict(os.environ, SANAWM_NUM_THREADS=str(threads))
    r = subprocess.run([exe, weights, inputs, outp, "--repeat", str(reps)], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"sanawm-forward failed ({r.returncode}):\n{r.stderr}")
    m = re.search(r"forward x\d+: best ([0-9.]+) ms", r.stderr)
    if not m:
        raise SystemExit(f"no timing line in sanawm-forward's output:\n{r.stderr}")
    return float(m.group(1)), read_safetensors(outp)[0]["output"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sanawm-forward", required=True, help="path of the sanawm-forward executable")
    ap.add_argument("--golden", type=pathlib.Path, default=pathlib.Path("/work/shared/golden"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps-small", type=int, default=20)
    ap.add_argument("--reps", type=int, default=5, help="repetitions of the larger shape")
    ap.add_argument("--shape", default="3x8x8,3x22x40,7x22x40",
                    help="further shapes TxHxW (latent frames × grid), comma-separated")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    wfile = args.golden / "dit_tiny_a.weights.safetensors"
    tensors, meta = read_safetensors(wfile)
    cfg = json.loads(meta["config"])
    io, _ = read_safetensors(args.golden / "dit_tiny_a.io.safetensors")
    names = ("x", "timestep", "y", "mask", "camera_conditions", "chunk_plucker")
    golden_in = {k: io[k] for k in names}
    ref = io["output_f64"]

    # 1. Correctness of the transcription against the golden float64 output (float32 and float64 runs).
    W32 = Weights(tensors, cfg, torch.float32)
    acts = {}
    with torch.inference_mode():
        out32 = dit_forward(W32, golden_in, torch.float32, acts)
        out64 = dit_forward(Weights(tensors, cfg, torch.float64), golden_in, torch.float64)
    worst = max(((n, rel(acts[n], io[n].reshape(acts[n].shape))[0]) for n in acts), key=lambda e: e[1])
    r32, a32 = rel(out32, ref)
    r64, a64 = rel(out64, ref)
    print(f"PyTorch {torch.__version__} transcription vs dit_tiny_a output_f64: float32 max abs {a32:.2e}, "
          f"relative {r32:.2e}; float64 max abs {a64:.2e}, relative {r64:.2e}; "
          f"worst act.* (float32) {worst[0]} {worst[1]:.2e}")
    if not r32 <= 1e-4:
        raise SystemExit(f"PyTorch transcription disagrees with the golden output: relative {r32:.3e} > 1e-4")

    # 2. Timing: golden tiny shape and a larger shape, same weights, same inputs on both sides.
    rows = []
    with tempfile.TemporaryDirectory(prefix="dit_vs_pytorch.") as tmp:
        cases = [("golden 1x128x3x2x4", args.golden / "dit_tiny_a.io.safetensors", golden_in, args.reps_small)]
        for i, shape in enumerate(s for s in args.shape.split(",") if s):
            T, Hl, Wl = (int(v) for v in shape.split("x"))
            big = make_inputs(T, Hl, Wl, L=12, seed=7)
            big_path = os.path.join(tmp, f"inputs{i}.safetensors")
            write_safetensors(big_path, big)
            # Fewer repetitions for the big shapes; small ones are cheap and noisier.
            reps = args.reps_small if T * Hl * Wl <= 1024 else args.reps
            cases.append((f"1x128x{T}x{Hl}x{Wl}", big_path, big, reps))
        for label, path, inp, reps in cases:
            tt, ot = time_torch(W32, inp, reps)
            ts, os_ = time_sanawm(args.sanawm_forward, str(wfile), str(path), reps, args.threads, tmp)
            agree, _ = rel(os_, ot.reshape(os_.shape))
            rows.append((label, tt, ts, tt / ts, agree))
    print(f"\nSANA-WM DiT forward (dit_tiny_a weights: depth 4, hidden 224, 2 heads x 112), fp32, "
          f"{args.threads} threads, best of N (torch N={args.reps_small}/{args.reps})")
    print(f"| {'shape (B x C x T x H x W)':26} | {'PyTorch eager ms':>16} | {'sanawm ms':>10} | "
          f"{'torch/sanawm':>12} | {'max|diff|/max|torch|':>20} |")
    print(f"|{'-' * 28}|{'-' * 18}|{'-' * 12}|{'-' * 14}|{'-' * 22}|")
    for label, tt, ts, ratio, agree in rows:
        print(f"| {label:26} | {tt:16.2f} | {ts:10.2f} | {ratio:11.2f}x | {agree:20.2e} |")
    bad = [r for r in rows if not r[4] <= 1e-4]
    if bad:
        raise SystemExit(f"sanawm and PyTorch outputs disagree: {bad}")


if __name__ == "__main__":
    sys.exit(main())
