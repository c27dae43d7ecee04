#!/usr/bin/env python3
"""Prints the compile-time budget of a ninja build: slowest translation units, totals per language, and
fails (exit 1) when a single TU or the whole build exceeds its budget. Reads <build>/.ninja_log."""
import argparse
import os
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("build_dir")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--tu-budget", type=float, default=90.0, help="max seconds for one translation unit")
    ap.add_argument("--total-budget", type=float, default=2400.0, help="max summed compile seconds (2 cores: ~20 min wall)")
    args = ap.parse_args()
    log = os.path.join(args.build_dir, ".ninja_log")
    if not os.path.exists(log):
        print(f"build_times: no {log}", file=sys.stderr)
        return 1
    last = {}
    with open(log) as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 4:
                continue
            start, end, target = int(parts[0]), int(parts[1]), parts[3]
            last[target] = (end - start) / 1000.0  # later entries (rebuilds) win
    objs = {t: s for t, s in last.items() if t.endswith(".o")}
    by_lang = {"CUDA": 0.0, "CXX": 0.0}
    for t, s in objs.items():
        by_lang["CUDA" if t.endswith(".cu.o") else "CXX"] += s
    total = sum(objs.values())
    print(f"compile-time budget ({len(objs)} TUs): total {total:.1f} s "
          f"(C++ {by_lang['CXX']:.1f} s, CUDA {by_lang['CUDA']:.1f} s); budget {args.total_budget:.0f} s total, "
          f"{args.tu_budget:.0f} s per TU")
    for t, s in sorted(objs.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {s:7.2f} s  {t}")
    over = [t for t, s in objs.items() if s > args.tu_budget]
    ok = True
    if over:
        print(f"build_times: {len(over)} TU(s) over the per-TU budget: {', '.join(sorted(over))}", file=sys.stderr)
        ok = False
    if total > args.total_budget:
        print(f"build_times: total {total:.1f} s over the budget {args.total_budget:.0f} s", file=sys.stderr)
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
