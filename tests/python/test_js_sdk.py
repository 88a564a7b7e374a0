"""The AWS SDK for JavaScript v3 (tests/js, pinned in its package-lock.json) against the server:
node's own test runner drives Converse, ConverseStream, InvokeModel and its stream, CountTokens,
ListFoundationModels and an error, with the real default model answering."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

JS = ROOT / "tests" / "js"


def test_aws_sdk_for_javascript(server):
    node = shutil.which("node")
    if node is None or not (JS / "node_modules").is_dir():
        pytest.skip("needs node and tests/js/node_modules (scripts/test.sh runs npm ci there)")
    env = dict(os.environ, AWS_ENDPOINT_URL=server.base)
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", "sdk.test.mjs"],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
