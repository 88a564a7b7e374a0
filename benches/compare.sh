#!/usr/bin/env bash
# Benchmark bedrock-local against llama.cpp on the same GGUF, same threads, in the same run.
#
#   benches/compare.sh [MODEL] [THREADS]     # MODEL: local name/alias (default: the default model)
#
# Builds the release binary (host CPU, see .cargo/config.toml), measures load time, prefill
# (pp128) and decode (tg64) with `bedrock-local bench`, then runs llama.cpp's llama-bench on the
# very same file through ../shared/tools/llamacpp-baseline.sh (or $LLAMACPP_BASELINE), and
# prints both with the ratios. JSON lines of both runs are kept in target/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-qwen2.5-coder-0.5b-instruct}"
threads="${2:-2}"
baseline="${LLAMACPP_BASELINE:-../shared/tools/llamacpp-baseline.sh}"
out=target/bench; mkdir -p "$out"

cargo build --release --bin bedrock-local >&2
bin=target/release/bedrock-local
"$bin" pull "$model" >&2
gguf="$("$bin" models --json | python3 -c "
import json,sys
want=sys.argv[1]
for m in map(json.loads, sys.stdin):
    if m['name']==want or want in m['aliases']: print(m['path'])" "$model")"

echo "== bedrock-local ($model, $threads threads)" >&2
"$bin" bench "$model" --threads "$threads" --json | tee "$out/bedrock-local.json"
echo "== llama.cpp (same file)" >&2
"$baseline" bench "$gguf" "$threads" | tee "$out/llamacpp.jsonl"

python3 - "$out/bedrock-local.json" "$out/llamacpp.jsonl" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))
ref = {}
for line in open(sys.argv[2]):
    line = line.strip()
    if not line.startswith("{"): continue
    r = json.loads(line)
    key = f"pp{r['n_prompt']}" if r.get("n_prompt") else f"tg{r['n_gen']}"
    ref[key] = r["avg_ts"]
pp = f"pp{ours['prompt_tokens']}"; tg = f"tg{ours['gen_tokens']}"
print()
print(f"{'test':<8} {'bedrock-local':>14} {'llama.cpp':>10} {'ratio':>7}")
for key, mine in ((pp, ours["prefill_tok_s"]), (tg, ours["decode_tok_s"])):
    theirs = ref.get(key)
    ratio = f"{mine / theirs:.2f}x" if theirs else "n/a"
    print(f"{key:<8} {mine:>10.1f} t/s {theirs or 0:>6.1f} t/s {ratio:>7}")
print(f"load     {ours['load_ms']:>10.0f} ms")
print(f"peak RSS {ours['peak_rss_mb']:>10.0f} MB")
PY
