#!/usr/bin/env bash
# Regenerates the expected outputs of our own transcripts (tests/fixtures/sse/local_*.sse) with
# the official Python SDK, the version that made the shared fixtures. Needs Python 3 and PyPI.
#   scripts/official_sdk_expectations.sh [FILE.sse ...]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/official-sdk-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q anthropic==2.12.0
cargo build -q -p claude-kit-mock --bin claude-kit-mock
if [ "$#" -eq 0 ]; then set -- tests/fixtures/sse/local_*.sse; fi
"$venv/bin/python" scripts/official_sdk_expectations.py target/debug/claude-kit-mock "$@"
