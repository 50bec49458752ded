#!/usr/bin/env bash
# The main job: run every study in quick mode and write results/ and results/REPORT.md.
# Pass --full for the full settings; other arguments go to `python -m xgnn_jax run-all`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec python -m xgnn_jax run-all "$@"
