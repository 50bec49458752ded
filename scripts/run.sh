#!/usr/bin/env bash
# The main job: run every study in quick mode and write results/<study>/, results/REPORT.md and results/REPORT.html
# (each study's verdicts are printed as it ends). Pass --full for the full settings; other arguments go to
# `python -m xgnn_jax run-all` (e.g. --only zero_init,minima, --results DIR, --seed N). The estimate printed first
# comes from the measured times in results/TIMINGS.json. Exit code 1 when a study failed (the others still ran).
# To look at the HTML report in a real browser: scripts/render_report.sh (headless Chromium -> results/REPORT.png).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec python -m xgnn_jax run-all "$@"
