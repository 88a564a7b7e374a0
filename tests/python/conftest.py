"""One real server for the whole session, and clients pointed at it.

The server is the real `bedrock-local` binary (env `BEDROCK_LOCAL_BIN`, else the newer of
target/debug and target/release) serving the real default model from the data dir
(`BEDROCK_LOCAL_DATA_DIR`, pulled there by `scripts/test.sh`). It listens on an ephemeral port,
prints `bedrock-local listening on http://ADDR`, and is stopped when the session ends.

Every client gets the endpoint explicitly; the environment (test credentials, region, endpoint)
is set too, so nothing can reach a real AWS account or read the user's AWS profile.
"""

from __future__ import annotations

import base64
import os
import queue
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
START_TIMEOUT_S = 600  # a first run may download the default model (~490 MB)

# Real Bedrock ids; every one resolves to the local default model.
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SONNET_PROFILE = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
LLAMA = "meta.llama3-8b-instruct-v1:0"
NOVA = "amazon.nova-lite-v1:0"
MISTRAL = "mistral.mistral-7b-instruct-v0:2"
MISTRAL_CHAT = "mistral.mistral-large-2407-v1:0"
TITAN = "amazon.titan-text-express-v1"
COHERE = "cohere.command-r-v1:0"

# A valid 1x1 PNG, for "this model cannot take images" checks.
PNG_1X1_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
PNG_1X1 = base64.b64decode(PNG_1X1_B64)

# The JSON schema of the one tool the tool tests use (every client wraps it its own way).
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "The city name, e.g. Paris"}},
    "required": ["city"],
}

# Environment the server must not inherit from the caller (it would change the model or port).
_SERVER_ENV_DROP = (
    "DEFAULT_BEDROCK_MODEL",
    "BEDROCK_PREWARM",
    "BEDROCK_PULL_MODELS",
    "GATEWAY_LISTEN",
    "BEDROCK_LOCAL_CONFIG",
    "BEDROCK_LOCAL_HOST",
    "BEDROCK_LOCAL_PORT",
    "BEDROCK_LOCAL_MODELS",
)

# Environment that would send the clients elsewhere or make them use other credentials.
_CLIENT_ENV_DROP = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_BEARER_TOKEN_BEDROCK",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


def _binary() -> Path:
    explicit = os.environ.get("BEDROCK_LOCAL_BIN")
    if explicit:
        return Path(explicit)
    built = [p for p in (ROOT / "target/debug/bedrock-local", ROOT / "target/release/bedrock-local") if p.exists()]
    if not built:
        pytest.exit("no bedrock-local binary: run `cargo build --bin bedrock-local` or set BEDROCK_LOCAL_BIN", 2)
    return max(built, key=lambda p: p.stat().st_mtime)


def _supports_flag(binary: Path, flag: str) -> bool:
    out = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=30)
    return flag in out.stdout


class Server:
    """A running bedrock-local: its base URL and its log file."""

    def __init__(self, base: str, log: Path):
        self.base = base
        self.log = log

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _wait_listening(proc: subprocess.Popen, timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None:
                raise RuntimeError(f"bedrock-local exited with {proc.returncode} before listening")
            continue
        prefix = "bedrock-local listening on "
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise RuntimeError(f"bedrock-local did not listen within {timeout:.0f} s")


def _wait_ready(base: str, timeout: float) -> None:
    """/health answers 200 once the server serves; with --prewarm the model is loaded first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base}/health did not answer 200 within {timeout:.0f} s")


@pytest.fixture(scope="session", autouse=True)
def server(request) -> Iterator[Server]:
    binary = _binary()
    args = [str(binary), "serve", "--host", "127.0.0.1", "--port", "0", "--prewarm"]
    if _supports_flag(binary, "--deterministic"):
        args.append("--deterministic")
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_DROP}
    env.setdefault("BEDROCK_LOCAL_LOG", "info")
    log = Path(tempfile.mkstemp(prefix="bedrock-local-pytest-", suffix=".log")[1])
    with open(log, "wb") as stderr:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        base = _wait_listening(proc, START_TIMEOUT_S)
        _wait_ready(base, START_TIMEOUT_S)
    except BaseException as e:
        proc.kill()
        proc.wait()
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.exit(f"could not start {' '.join(args)}: {e}\n--- server log ({log}) ---\n{tail}", 2)

    saved = dict(os.environ)
    for k in _CLIENT_ENV_DROP:
        os.environ.pop(k, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": base,
            "ANTHROPIC_BEDROCK_BASE_URL": base,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    print(f"\nbedrock-local {binary} at {base} (log: {log})")
    try:
        yield Server(base, log)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if request.session.testsfailed == 0:
            log.unlink(missing_ok=True)


def client_config() -> Config:
    """No retries (a failure shows at once), generous read timeout for CPU inference."""
    return Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=300, connect_timeout=10)


def _client(server: Server, service: str):
    return boto3.client(
        service,
        endpoint_url=server.base,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=client_config(),
    )


@pytest.fixture(scope="session")
def runtime(server: Server):
    """A boto3 bedrock-runtime client pointed at the server."""
    return _client(server, "bedrock-runtime")


@pytest.fixture(scope="session")
def bedrock(server: Server):
    """A boto3 bedrock (control plane) client pointed at the server."""
    return _client(server, "bedrock")


def pytest_runtest_makereport(item, call):
    """On a failure, show what the server logged (it explains most 4xx/5xx)."""
    if call.when == "call" and call.excinfo is not None:
        srv = item.funcargs.get("server")
        if srv is None:
            return
        item.add_report_section("call", "server log (tail)", srv.log_tail(20))
