"""How much MediaPipe's own landmark smoothing moves (and delays) the landmarks (docs/PIPELINE.md).

Runs BlazePose (model_complexity=1, video mode) on the first 150 frames of the figure-skating test
video twice, with ``smooth_landmarks`` on and off, and prints, for the 12 body landmarks, the mean
distance between the two runs at a shift of 0-3 frames, the mean per-frame motion, and the mean
second difference (jitter)::

    .venv/bin/python docs/scripts/mediapipe_smoothing_lag.py [VIDEO]
"""

import sys

import cv2
import numpy as np
from mediapipe.python.solutions import pose as mp_pose

from perspose_rt.paths import shared_data_dir

BODY = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def landmarks(frames: list[np.ndarray], smooth: bool, w: int, h: int) -> np.ndarray:
    with mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=smooth) as p:
        out = []
        for f in frames:
            r = p.process(f)
            out.append([[lm.x * w, lm.y * h] for lm in r.pose_landmarks.landmark] if r.pose_landmarks
                       else [[np.nan, np.nan]] * 33)
    return np.array(out)[:, BODY]


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else str(shared_data_dir() / "videos" / "figure_skating_720p25.mp4")
    cap = cv2.VideoCapture(path)
    frames = []
    while len(frames) < 150:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
    h, w = frames[0].shape[:2]
    on, off = landmarks(frames, True, w, h), landmarks(frames, False, w, h)
    for s in range(4):
        a, b = on[s:], off[:len(off) - s]
        print(f"shift {s} frames: mean |smoothed - raw| {np.nanmean(np.linalg.norm(a - b, axis=-1)):.2f} px")
    print(f"mean per-frame motion (raw) {np.nanmean(np.linalg.norm(np.diff(off, axis=0), axis=-1)):.2f} px")
    for name, x in (("smoothed", on), ("raw", off)):
        print(f"mean second difference ({name}) {np.nanmean(np.linalg.norm(np.diff(x, 2, axis=0), axis=-1)):.2f} px")


if __name__ == "__main__":
    main()
