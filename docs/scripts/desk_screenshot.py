"""The desk-camera picture of docs/PIPELINE.md (docs/images/desk_view.png).

The skating video cut to the upper body (`live --sim-view upper-body`'s view, each frame with its
own intrinsics) goes through the default video/live pipeline up to ``--frame``; that frame's 2D
overlay (unseen joints grey) and 3D render (headless Open3D) are put side by side and saved as a
palette PNG.

    .venv/bin/python docs/scripts/desk_screenshot.py [--frame 84] [--out docs/images/desk_view.png]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from perspose_rt.camera import CameraModel
from perspose_rt.paths import REPO_ROOT, shared_data_dir
from perspose_rt.pipeline.build import EstimatorOptions, build_stages
from perspose_rt.pipeline.live_sources import decode_frames
from perspose_rt.pipeline.runner import Pipeline
from perspose_rt.pipeline.session import drive
from perspose_rt.pipeline.sim_crop import cut_clip
from perspose_rt.pipeline.sources import ArraySource
from perspose_rt.viz.overlay import draw_hud, draw_people
from perspose_rt.viz.viewer3d import Viewer3D


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", type=Path, default=shared_data_dir() / "videos" / "figure_skating_720p25.mp4")
    ap.add_argument("--frame", type=int, default=84)
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "docs" / "images" / "desk_view.png")
    args = ap.parse_args()
    full = decode_frames(args.video, args.frame + 1)
    clip = cut_clip(full, CameraModel.default(full[0].shape[1::-1], warn=False), "upper-body")
    stages, _ = build_stages(EstimatorOptions(rigid=True), fps=25.0)
    last = {}

    def sink(p) -> None:
        if p.frame.index == args.frame:
            last["p"] = p

    drive(Pipeline(ArraySource(clip.images, 25.0, clip.cameras[0], cameras=clip.cameras), stages), sink)
    p = last["p"]
    cam = p.frame.camera
    overlay = draw_people(p.frame.image.copy(), p.people)
    draw_hud(overlay, [f"desk view (sim): frame {p.frame.index}",
                       f"K: f={cam.fx:.0f} px, c=({cam.cx:.0f}, {cam.cy:.0f})"])
    h, w = overlay.shape[:2]
    viewer = Viewer3D("h36m17", w, h, visible=False)
    try:
        viewer.show_people(p.people, cam.resolution)
        depth = p.people[0].pose.joints_cam[0, 2] if p.people else float("nan")
        render = viewer.render([f"camera space, root depth {depth:.2f} m", "grey: joints not seen"])
    finally:
        viewer.close()
    both = np.hstack([overlay, render])
    img = Image.fromarray(cv2.cvtColor(both, cv2.COLOR_BGR2RGB)).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    img.save(args.out, optimize=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, {both.shape[1]}x{both.shape[0]})")


if __name__ == "__main__":
    main()
