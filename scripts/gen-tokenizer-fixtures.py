#!/usr/bin/env python3
"""Regenerate the tokenizer fidelity fixtures from llama.cpp's own tokenizer.

For every string of crates/engine/tests/fixtures/tokenizer/corpus.json this runs `llama-tokenize` with its
default flags (special tokens written in the text are parsed as specials; BOS is added when the model asks
for it) against each real GGUF, and writes the ids it printed to one JSON fixture per model beside the corpus.
crates/engine/tests/tokenizer_fidelity.rs then checks that our tokenizer gives exactly the same ids.

Variants cover tokenizer settings the two models do not use (other pre-tokenizers, a SentencePiece space
prefix): the real vocabulary with some `tokenizer.ggml.*` keys overridden, written to a tensor-less GGUF
with llama.cpp's own gguf-py (needs numpy), tokenized the same way. Their fixtures carry the overrides, and
the test applies the same overrides to the real model's metadata.

llama.cpp comes from ../shared/tools/llamacpp-baseline.sh (built once from the llama-cpp-python sdist).
Each string is passed through a file with --no-escape, so the bytes reach the tokenizer unchanged.

Usage (from the repository root):
    python3 scripts/gen-tokenizer-fixtures.py \
        [--qwen /tmp/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf] \
        [--gemma /tmp/models/gemma-3-270m-q4_k_m.gguf]
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "crates", "engine", "tests", "fixtures", "tokenizer")
BASELINE = os.environ.get(
    "LLAMACPP_BASELINE", os.path.join(os.path.dirname(ROOT), "shared", "tools", "llamacpp-baseline.sh")
)
MODELS = {
    # fixture name: (default path, what the test's env var is)
    "qwen2.5-coder-0.5b-instruct-q4_k_m": ("/tmp/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "qwen"),
    "gemma-3-270m-q4_k_m": ("/tmp/models/gemma-3-270m-q4_k_m.gguf", "gemma"),
}
FLAGS = ["--no-escape", "--ids", "--log-disable"]
# (fixture name, base model fixture name, metadata overrides)
VARIANTS = [
    ("qwen2.5-coder+pre=llama-bpe", "qwen2.5-coder-0.5b-instruct-q4_k_m", {"tokenizer.ggml.pre": "llama-bpe"}),
    ("qwen2.5-coder+pre=gpt-2", "qwen2.5-coder-0.5b-instruct-q4_k_m", {"tokenizer.ggml.pre": "gpt-2"}),
    ("qwen2.5-coder+pre=default", "qwen2.5-coder-0.5b-instruct-q4_k_m", {"tokenizer.ggml.pre": "default"}),
    ("qwen2.5-coder+pre=deepseek-coder", "qwen2.5-coder-0.5b-instruct-q4_k_m", {"tokenizer.ggml.pre": "deepseek-coder"}),
    ("gemma-3-270m+add_space_prefix", "gemma-3-270m-q4_k_m", {"tokenizer.ggml.add_space_prefix": True}),
]


def readable_json(value) -> str:
    """JSON with non-ASCII text kept readable, but invisible or control characters escaped."""
    text = json.dumps(value, ensure_ascii=False, indent=1)

    def escape(match: re.Match) -> str:
        ch = match.group(0)
        if ord(ch) > 0xFFFF:
            v = ord(ch) - 0x10000
            return "\\u%04x\\u%04x" % (0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
        return "\\u%04x" % ord(ch)

    def needs_escape(ch: str) -> bool:
        return ord(ch) > 0x7E and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs", "Co", "Cn")

    return re.sub(r"[^\x00-\x7e]", lambda m: escape(m) if needs_escape(m.group(0)) else m.group(0), text) + "\n"


def llama_bin() -> str:
    out = subprocess.run(["bash", BASELINE, "bin"], check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def llama_version(tokenize: str) -> str:
    proc = subprocess.run([tokenize, "--version"], capture_output=True, text=True)
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def sdist_name() -> str:
    cache = os.environ.get("LLAMACPP_CACHE", os.path.expanduser("~/.cache/llamacpp-baseline"))
    names = sorted(n for n in os.listdir(os.path.join(cache, "src")) if n.endswith(".tar.gz"))
    return names[-1] if names else "unknown"


def tokenize(tokenize_bin: str, model: str, text: str) -> list[int]:
    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        f.write(text.encode("utf-8"))
        path = f.name
    try:
        proc = subprocess.run(
            [tokenize_bin, "-m", model, "-f", path, *FLAGS], capture_output=True, text=True, check=True
        )
    finally:
        os.unlink(path)
    last = proc.stdout.strip().splitlines()[-1]
    ids = json.loads(last)
    if not isinstance(ids, list):
        raise SystemExit(f"unexpected llama-tokenize output: {last!r}")
    return ids


def write_variant(base: str, overrides: dict, out: str) -> None:
    """Copies every metadata key of `base` (no tensors), with `overrides`, into `out`."""
    cache = os.environ.get("LLAMACPP_CACHE", os.path.expanduser("~/.cache/llamacpp-baseline"))
    src = os.path.join(cache, "src", sdist_name()[: -len(".tar.gz")], "vendor", "llama.cpp", "gguf-py")
    sys.path.insert(0, src)
    from gguf import GGUFReader, GGUFValueType, GGUFWriter  # noqa: E402  (llama.cpp's own gguf-py)

    reader = GGUFReader(base)
    writer = GGUFWriter(out, reader.fields["general.architecture"].contents())
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in overrides:
            continue
        kind = field.types[0]
        if kind == GGUFValueType.ARRAY:
            writer.add_key_value(key, field.contents(), kind, sub_type=field.types[-1])
        else:
            writer.add_key_value(key, field.contents(), kind)
    for key, value in overrides.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        else:
            writer.add_string(key, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name, (default, flag) in MODELS.items():
        parser.add_argument(f"--{flag}", default=default, help=f"path of {name}.gguf")
    args = parser.parse_args()

    with open(os.path.join(FIXTURES, "corpus.json"), encoding="utf-8") as f:
        corpus = json.load(f)
    bin_dir = llama_bin()
    tok = os.path.join(bin_dir, "llama-tokenize")
    version = llama_version(tok)
    print(f"llama.cpp {version} from {sdist_name()}; {len(corpus)} strings", file=sys.stderr)

    def run(name: str, model: str, base: str, overrides: dict) -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            all_ids = list(pool.map(lambda text: tokenize(tok, model, text), corpus))
        fixture = {
            "generator": "scripts/gen-tokenizer-fixtures.py",
            "llama_cpp": {"version": version, "source": sdist_name(), "flags": " ".join(FLAGS)},
            "model": {"file": os.path.basename(base), "sha256": sha256(base), "overrides": overrides},
            "cases": [{"text": text, "ids": ids} for text, ids in zip(corpus, all_ids)],
        }
        out = os.path.join(FIXTURES, f"{name}.json")
        with open(out, "w", encoding="utf-8") as f:
            f.write(readable_json(fixture))
        print(f"wrote {out}", file=sys.stderr)

    for name, (_, flag) in MODELS.items():
        model = getattr(args, flag)
        run(name, model, model, {})
    for name, base_name, overrides in VARIANTS:
        base = getattr(args, MODELS[base_name][1])
        with tempfile.TemporaryDirectory() as tmp:
            variant = os.path.join(tmp, "variant.gguf")
            write_variant(base, overrides, variant)
            run(name, variant, base, overrides)
    # Keep the corpus in the same readable form.
    with open(os.path.join(FIXTURES, "corpus.json"), "w", encoding="utf-8") as f:
        f.write(readable_json(corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
