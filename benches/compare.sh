#!/usr/bin/env bash
# Benchmark bedrock-local against llama.cpp on the same GGUF, same threads, in the same run.
#
#   benches/compare.sh [MODEL] [THREADS]     # MODEL: local name/alias (default: the default model)
#
# Builds the release binary (host CPU, see .cargo/config.toml), then runs on the very same file:
# - `bedrock-local bench --json`: prefill pp128/pp1024 and decode tg64 on the model directly
#   (llama-bench's tests), aggregate decode of 1/2/4/8 concurrent requests through the engine
#   (llama-batched-bench's S_TG, 128-token prompts, 64 new tokens each), the time to first token
#   of one more request while 8 run, and peak RSS;
# - llama.cpp's llama-bench and llama-batched-bench through ../shared/tools/llamacpp-baseline.sh
#   (or $LLAMACPP_BASELINE), `bench` and `batched`, each under /usr/bin/time -v for peak RSS;
# and prints one table with the ratios ours/llama.cpp. The JSON of every run is kept in
# target/bench/ (or $CARGO_TARGET_DIR/bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-qwen2.5-coder-0.5b-instruct}"
threads="${2:-2}"
baseline="${LLAMACPP_BASELINE:-../shared/tools/llamacpp-baseline.sh}"
target="${CARGO_TARGET_DIR:-target}"
out="$target/bench"; mkdir -p "$out"
if [ ! -x "$baseline" ]; then
  echo "llama.cpp baseline script not found: $baseline (set LLAMACPP_BASELINE)" >&2
  exit 2
fi

cargo build --release --bin bedrock-local >&2
bin="$target/release/bedrock-local"
"$bin" pull "$model" >&2
gguf="$("$bin" models --json | python3 -c "
import json,sys
want=sys.argv[1]
for m in map(json.loads, sys.stdin):
    if m['name']==want or want in m['aliases']: print(m['path'])" "$model")"

# Peak RSS of a command (with its children) in kB, written to $1, when GNU time is there.
timed() {
  local rss_file="$1"; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$rss_file.time" "$@"
    sed -n 's/.*Maximum resident set size (kbytes): *//p' "$rss_file.time" > "$rss_file"
  else
    "$@"; : > "$rss_file"
  fi
}

echo "== bedrock-local ($model, $threads threads)" >&2
timed "$out/bedrock-local.rss" "$bin" bench "$model" --threads "$threads" --json \
  | tee "$out/bedrock-local.json"
echo "== llama.cpp llama-bench (same file)" >&2
timed "$out/llamacpp-bench.rss" "$baseline" bench "$gguf" "$threads" | tee "$out/llamacpp-bench.jsonl"
echo "== llama.cpp llama-batched-bench (same file)" >&2
timed "$out/llamacpp-batched.rss" "$baseline" batched "$gguf" "$threads" \
  | tee "$out/llamacpp-batched.jsonl"

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
ours = json.load(open(f"{out}/bedrock-local.json"))

def jsonl(name):
    rows = []
    for line in open(f"{out}/{name}"):
        line = line.strip()
        if line.startswith("{"):
            rows.append(json.loads(line))
    return rows

def rss_mb(name):
    try:
        text = open(f"{out}/{name}").read().strip()
        return int(text) / 1024 if text else None
    except (OSError, ValueError):
        return None

ref = {}
for r in jsonl("llamacpp-bench.jsonl"):
    key = f"pp{r['n_prompt']}" if r.get("n_prompt") else f"tg{r['n_gen']}"
    ref[key] = r["avg_ts"]
for r in jsonl("llamacpp-batched.jsonl"):
    ref[f"npl{r['pl']} S_TG"] = r["speed_tg"]
    ref[f"npl{r['pl']} S"] = r["speed"]

mine = {f"pp{p['prompt_tokens']}": p["tok_s"] for p in ours["prefill"]}
mine[f"tg{ours['gen_tokens']}"] = ours["decode_tok_s"]
conc = ours.get("concurrent") or {}
for r in conc.get("rows", []):
    mine[f"npl{r['streams']} S_TG"] = r["speed_tg"]
    mine[f"npl{r['streams']} S"] = r["speed"]

print()
print(f"model {ours['model']} ({ours['weights']}), {ours['threads']} threads")
print(f"{'test':<12} {'bedrock-local':>15} {'llama.cpp':>12} {'ratio':>7}")
order = [k for k in mine if not k.startswith("npl")]
order += [k for k in mine if k.endswith("S_TG")]
order += [k for k in mine if k.endswith(" S")]
for key in order:
    m, t = mine[key], ref.get(key)
    ratio = f"{m / t:.2f}x" if t else "n/a"
    theirs = f"{t:>8.1f} t/s" if t else f"{'n/a':>12}"
    print(f"{key:<12} {m:>11.1f} t/s {theirs} {ratio:>7}")
print("(nplN: N concurrent requests of 128 prompt + 64 generated tokens; S_TG: generated tokens / "
      "generation-phase time, S: all tokens / total time, as llama-batched-bench defines them)")
npl = [r for r in conc.get("rows", [])]
if npl and ours["decode_tok_s"]:
    top = max(npl, key=lambda r: r["streams"])
    print(f"npl{top['streams']} S_TG / own tg{ours['gen_tokens']}: "
          f"{top['speed_tg'] / ours['decode_tok_s']:.2f}x")
load = conc.get("ttft_under_load")
if load:
    print(f"TTFT of one more request while {load['load_streams']} streams run: "
          f"{load['ttft_ms']:.0f} ms ({load['active_at_submit']} still running at submit; "
          f"llama.cpp: no equivalent in its tools)")
print(f"load         {ours['load_ms']:>11.0f} ms")
ours_rss = rss_mb("bedrock-local.rss") or ours["peak_rss_mb"]
bench_rss, batched_rss = rss_mb("llamacpp-bench.rss"), rss_mb("llamacpp-batched.rss")
fmt = lambda v: f"{v:.0f} MB" if v else "n/a"
print(f"peak RSS     {fmt(ours_rss):>14}   llama-bench {fmt(bench_rss)}, "
      f"llama-batched-bench (-c 8192) {fmt(batched_rss)}")
PY
