#!/usr/bin/env bash
# scripts/gpu_selftest.sh PACK_DIR [--bench] — on a machine with a GPU: runs every CUDA test binary packed by
# scripts/gpu_pack.sh (each compares CUDA kernels against CPU/float64 references) and prints one summary line
# per binary plus totals, and under a failing binary its failed tests with their messages (every binary's full log
# goes to $OUT/<binary>.log when OUT is set); with --bench also runs the CUDA benchmarks (short min_time) and the
# 2.6B DiT engine (dit_chunk_bench --device cuda). Exit 1 if a test failed.
set -uo pipefail
pack="${1:?usage: gpu_selftest.sh PACK_DIR [--bench]}"
bench="${2:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
if [[ -f "$pack/bin.tar.gz" ]]; then  # gpu_pack.sh's tarball: unpack next to a writable copy
  work="$(mktemp -d)"
  tar xzf "$pack/bin.tar.gz" -C "$work"
  [[ -d "$pack/golden" ]] && ln -s "$(cd "$pack/golden" && pwd)" "$work/golden"
  pack="$work"
fi
[[ -d "$pack/golden" ]] && export SANAWM_GOLDEN_DIR="$pack/golden"
# The Gemma-2 engine's golden data, committed in the repository this script lives in (its GPU tests skip without it).
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${SANAWM_TEXT_GOLDEN_DIR:-}" && -d "$root/tests/text/golden" ]]; then
  export SANAWM_TEXT_GOLDEN_DIR="$root/tests/text/golden"
fi
# A failing binary's report, from its gtest log: each failed test with its failure and exception messages (a few
# lines each), the test that was running when the binary died (crash, timeout) with its last lines, or, when the log
# names neither, its last lines.
failures() {
  awk '
    function keep(line) { if (n < 12) msg[n++] = line }
    /^\[ RUN      \] / { test = substr($0, 14); n = 0; left = 0; nl = 0; next }
    /^\[       OK \] |^\[  SKIPPED \] / { test = ""; next }
    /^\[  FAILED  \] / && test != "" {
      print; for (i = 0; i < n; ++i) print "    " msg[i]
      test = ""; found = 1; next
    }
    test == "" { next }
    { last[nl++ % 8] = $0 }
    /Failure$/ { left = 6 }  # gtest: "file:line: Failure", the message, a blank line
    left > 0 { if ($0 == "") left = 0; else { keep($0); --left }; next }
    /exception|[Ee]rror/ { keep($0) }
    END {
      if (test == "") exit found ? 0 : 1
      print "died in " test ", its last lines:"
      for (i = nl > 8 ? nl - 8 : 0; i < nl; ++i) print "    " last[i % 8]
    }
  ' <<<"$1" || tail -n 20 <<<"$1"
}
fail=0 failed_bins=""
total_pass=0 total_fail=0 total_skip=0
printf '%-34s %6s %6s %6s %8s\n' binary passed failed skipped ms
for t in "$pack"/tests/*; do
  [[ -x "$t" ]] || continue
  start=$(date +%s%N)
  log=$(timeout "${SANAWM_TEST_TIMEOUT:-120}" "$t" --gtest_brief=0 2>&1)
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  p=$(grep -c '^\[       OK \]' <<<"$log"); f=$(grep -c '^\[  FAILED  \] [A-Za-z]' <<<"$log"); s=$(grep -c '^\[  SKIPPED \] [A-Za-z]' <<<"$log")
  f=$(( f > 0 ? f / 2 : 0 ))  # gtest lists each failure twice (inline and in the summary)
  s=$(( s > 0 ? s / 2 : 0 ))
  printf '%-34s %6d %6d %6d %8d\n' "$(basename "$t")" "$p" "$f" "$s" "$ms"
  if [[ $rc -ne 0 ]]; then
    fail=1 failed_bins+=" $(basename "$t")"
    if [[ $rc -eq 124 ]]; then echo "  exit 124: timed out after ${SANAWM_TEST_TIMEOUT:-120} s"; else echo "  exit $rc"; fi
    failures "$log" | head -n 60 | sed 's/^/  /'
  fi
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f)); total_skip=$((total_skip + s))
  if [[ -n "${OUT:-}" ]]; then echo "$log" > "$OUT/$(basename "$t").log"; fi
done
echo "gpu_selftest: ${total_pass} passed, ${total_fail} failed, ${total_skip} skipped${failed_bins:+; failing binaries:$failed_bins}"
if [[ "$bench" == "--bench" ]]; then
  for b in "$pack"/bench/*; do
    [[ -x "$b" ]] || continue
    echo "== $(basename "$b")"
    if [[ "$(basename "$b")" == dit_chunk_bench ]]; then  # a plain program: the 2.6B DiT engine, one streaming call
      for p in bf16 fp32; do
        timeout "${SANAWM_BENCH_TIMEOUT:-180}" "$b" --device cuda --single --reps 5 --precision "$p" 2>&1 | tail -4
      done
      continue
    fi
    timeout "${SANAWM_BENCH_TIMEOUT:-60}" "$b" --benchmark_min_time=0.05 2>&1 | grep -v -E '^\*\*\*WARNING|^$' | tail -40
  done
fi
exit $fail
