#!/usr/bin/env bash
# Render results/REPORT.html in a real browser (headless Chromium) to a PNG screenshot, to check that it displays.
#   scripts/render_report.sh [REPORT.html] [OUT.png] [HEIGHT]
# Defaults: results/REPORT.html, results/REPORT.png, 4000 px tall (1200 px wide). Needs Debian's `chromium`
# package (apt-get install -y chromium); build the report first with `python -m xgnn_jax report`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HTML="${1:-$ROOT/results/REPORT.html}"
OUT="${2:-${HTML%.html}.png}"
HEIGHT="${3:-4000}"
if [ ! -f "$HTML" ]; then
  echo "render_report.sh: no report at $HTML; build it first: python -m xgnn_jax report" >&2
  exit 2
fi
BROWSER=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then BROWSER="$b"; break; fi
done
if [ -z "$BROWSER" ]; then
  echo "render_report.sh: no headless browser found (chromium, chromium-browser or google-chrome)." >&2
  echo "Install one, e.g. 'apt-get install -y chromium' on Debian, then run this script again." >&2
  exit 3
fi
# --no-sandbox: Chromium refuses to run as root otherwise (containers); the page is a local file we wrote.
"$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,"$HEIGHT" \
  --screenshot="$OUT" "file://$(cd "$(dirname "$HTML")" && pwd)/$(basename "$HTML")" >/dev/null 2>&1
if [ ! -s "$OUT" ]; then
  echo "render_report.sh: $BROWSER wrote no screenshot to $OUT" >&2
  exit 1
fi
echo "Rendered $HTML with $BROWSER -> $OUT"
