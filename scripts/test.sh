#!/usr/bin/env bash
# Run the whole test suite (sets up .venv first if needed). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec python -m pytest -q "$@"
