#!/usr/bin/env bash
# Screenshot of `live` on the simulated desk camera (docs/images/live_desk.png), taken under Xvfb:
# the real OpenCV overlay and Open3D windows, the skating video cut to the upper body.
# Usage: docs/tools/screenshot_live_desk.sh [SECONDS after the camera starts]   (needs Xvfb: ./setup.sh --dev)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-12}"
tmp="$(mktemp -d)"
display=":$((80 + RANDOM % 100))"
Xvfb "$display" -screen 0 1400x600x24 >/dev/null 2>&1 &
xvfb=$!
live=""
trap 'kill $xvfb 2>/dev/null || true; [ -n "$live" ] && kill $live 2>/dev/null || true; rm -rf "$tmp"' EXIT
sleep 1
DISPLAY="$display" .venv/bin/perspose-rt live --camera sim:../shared/data/videos/figure_skating_720p25.mp4 \
    --sim-view upper-body --fps 25 --duration $((secs + 10)) --out-dir "$tmp/rec" >"$tmp/log" 2>&1 &
live=$!
for _ in $(seq 1 120); do sleep 1; grep -q "simulated upper-body camera" "$tmp/log" && break; done
sleep "$secs"
.venv/bin/python - "$display" <<'PY'
import sys
import numpy as np
from PIL import Image, ImageGrab
im = np.asarray(ImageGrab.grab(xdisplay=sys.argv[1]).convert("RGB"))
rows, cols = np.nonzero(im.sum(-1) > 0)  # the windows on the black root window
crop = im[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
Image.fromarray(crop).quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
    "docs/images/live_desk.png", optimize=True)
print("wrote docs/images/live_desk.png", crop.shape[1], "x", crop.shape[0])
PY
