#!/usr/bin/env bash
# Screenshot of the calibration wizard (docs/images/calibration_wizard.png), taken under Xvfb:
# the real OpenCV window, fed by a simulated camera playing the shared 4x11 circle-grid photos.
# Usage: docs/tools/screenshot_wizard.sh [SECONDS]   (needs Xvfb: ./setup.sh --dev)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-14}"
tmp="$(mktemp -d)"
display=":$((80 + RANDOM % 100))"
Xvfb "$display" -screen 0 900x700x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; kill $wizard 2>/dev/null || true; rm -rf "$tmp"' EXIT
sleep 1
.venv/bin/python - "$tmp/board.avi" <<'PY'
import sys, cv2
from perspose_rt.paths import shared_data_dir
paths = sorted((shared_data_dir() / "calibration" / "acircles_4x11_right").glob("right*.jpg"))
h, w = cv2.imread(str(paths[0])).shape[:2]
out = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
for p in paths:
    img = cv2.imread(str(p))
    for _ in range(6):
        out.write(img)
out.release()
PY
DISPLAY="$display" .venv/bin/perspose-rt calibrate --camera "sim:$tmp/board.avi" --fps 8 --pattern acircles \
    --rows 11 --cols 4 --square-mm 20 --name wizard --calib-dir "$tmp/calib" >/dev/null 2>&1 &
wizard=$!
sleep "$secs"
.venv/bin/python - "$display" <<'PY'
import sys
import numpy as np
from PIL import ImageGrab
im = np.asarray(ImageGrab.grab(xdisplay=sys.argv[1]).convert("RGB"))
rows, cols = np.nonzero(im.sum(-1) > 0)  # the window on the black root window
crop = im[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
from PIL import Image
Image.fromarray(crop).save("docs/images/calibration_wizard.png", optimize=True)
print("wrote docs/images/calibration_wizard.png", crop.shape[1], "x", crop.shape[0])
PY
