"""``perspose-rt bench limbs``: the share of frames with plausible limb lengths on a real video and
on a version of it cut off at the person's hips.

A lifter that cannot see the legs guesses them, and draws them short. This benchmark runs the
default video pipeline (BlazePose, the lifter, Kalman smoothing, IK with the track's rigid
skeleton) twice on the same video: on the whole frames, and on the frames with the rows below a
cut removed (``--cut hips``: the median image row of the pelvis in the first run, so the legs are
out of the frame in most frames; or ``--cut F``: keep the top fraction ``F``). The intrinsics of
the cut frames are the whole frames' (same focal length and principal point; the image just ends
higher), so both runs see the same camera.

For each run it prints the share of frames with a person whose thighs and shins are 0.28–0.60 m,
upper arms 0.18–0.42 m and forearms 0.15–0.40 m (all eight limbs, seen or not;
:func:`~perspose_rt.metrics.limbs.plausible_limb_share`), for the rigid skeleton's joints (the
result's ``joints_cam``) and for the lifter's own output (``joints_cam_raw``, before smoothing and
the skeleton), with the share of frames whose knees and ankles were seen.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

HELP = "share of frames with plausible limb lengths on a real video, whole and cut off at the hips"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from perspose_rt.cli.validate import positive_int

    parser.add_argument("--video", type=Path, default=None,
                        help="video file (default: the shared figure-skating video, ../shared/data/videos)")
    parser.add_argument("--cut", default="hips", metavar="hips|F",
                        help="the cut-off version: 'hips' (default) cuts each frame at the pelvis's median "
                             "row in the whole-frame run; a number 0 < F < 1 keeps the top fraction F")
    parser.add_argument("--max-frames", type=positive_int, default=None, metavar="N", help="only the first N frames")
    parser.add_argument("--lifter-weights", type=Path, metavar="JSON",
                        help="weights from `perspose-rt train-lifter` instead of the shipped ones")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/BENCHMARKS.md alone")


@dataclass
class _CutSource:
    """A file source whose frames lose every row from ``rows`` down (same intrinsics)."""

    inner: object
    rows: int

    def __post_init__(self) -> None:
        cam = self.inner.camera
        self.camera = replace(cam, resolution=(cam.resolution[0], self.rows))
        self.resolution, self.fps, self.live, self.name = self.camera.resolution, self.inner.fps, False, "cut"

    @property
    def failed(self) -> int:
        return self.inner.failed

    def __len__(self) -> int:
        return len(self.inner)

    def read(self):
        frame = self.inner.read()
        if frame is None:
            return None
        return replace(frame, image=frame.image[:self.rows], camera=self.camera)

    def close(self) -> None:
        self.inner.close()


def run_video(source, lifter_weights=None) -> dict:
    """The default video pipeline on ``source``: per frame with a person, the rigid joints, the
    lifter's joints, the 2D joints and which joints were seen (arrays over those frames)."""
    import numpy as np

    from perspose_rt.io.results import joints_in_view
    from perspose_rt.pipeline.build import EstimatorOptions, build_stages
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import drive

    stages, _ = build_stages(EstimatorOptions(lifter_weights=lifter_weights, rigid=True), fps=source.fps)
    out: dict[str, list] = {"rigid": [], "raw": [], "uv": [], "seen": []}
    frames = [0]

    def sink(p) -> None:
        frames[0] += 1
        if not p.people:
            return
        pose = p.people[0].pose
        out["rigid"].append(np.asarray(pose.joints_cam, dtype=np.float64))
        out["raw"].append(np.asarray(p.people[0].joints_cam_raw, dtype=np.float64))
        out["uv"].append(np.asarray(pose.joints_2d, dtype=np.float64))
        out["seen"].append(joints_in_view(pose.confidence, pose.joints_2d, p.frame.camera.resolution))

    drive(Pipeline(source, stages, queue_size=2), sink)
    res = {k: np.stack(v) if v else np.zeros((0, 17, 3 if k in ("rigid", "raw") else 2)) for k, v in out.items()}
    res["frames"] = frames[0]
    return res


def cut_row(cut: str, height: int, pelvis_rows) -> int:
    """The first image row removed by ``--cut`` (``hips``: the pelvis's median row)."""
    import numpy as np

    from perspose_rt.errors import InputError

    if cut == "hips":
        if len(pelvis_rows) == 0:
            raise InputError("--cut hips needs a person in the whole frames; nobody was found")
        return int(np.clip(round(float(np.median(pelvis_rows))), 1, height))
    try:
        f = float(cut)
    except ValueError:
        f = float("nan")
    if not 0 < f < 1:
        raise InputError(f"--cut must be 'hips' or a fraction between 0 and 1, got {cut!r}")
    return max(1, round(f * height))


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from perspose_rt.bench.report import markdown_table, write_section
    from perspose_rt.checks import require_file
    from perspose_rt.metrics.limbs import LIMB_RANGES_M, limb_lengths, plausible_limb_share
    from perspose_rt.paths import shared_data_dir
    from perspose_rt.pipeline.sources import VideoFileSource

    video = require_file(args.video or shared_data_dir() / "videos" / "figure_skating_720p25.mp4", "video file")

    def source():
        return VideoFileSource(video, max_frames=args.max_frames)

    whole = run_video(source(), args.lifter_weights)
    src = source()
    height = src.resolution[1]
    row = cut_row(args.cut, height, whole["uv"][:, 0, 1])
    cut = run_video(_CutSource(src, row), args.lifter_weights)
    rows, printed = [], []
    legs = [2, 3, 5, 6]  # knees and ankles
    for name, r in ((f"whole frames ({height} rows)", whole), (f"cut at row {row} ({args.cut})", cut)):
        n = len(r["rigid"])
        if n == 0:
            rows.append([name, r["frames"], 0, "–", "–", "–", "–", "–"])
            continue
        rig, raw = plausible_limb_share(r["rigid"]), plausible_limb_share(r["raw"])
        legs_seen = float(np.all(r["seen"][:, legs], axis=1).mean())
        per = ", ".join(f"{k} {100 * v:.0f} %" for k, v in rig.per_limb.items())
        per_raw = ", ".join(f"{k} {100 * v:.0f} %" for k, v in raw.per_limb.items())
        last = " / ".join(f"{v.mean():.2f}" for v in limb_lengths(r["rigid"][-1]).values())
        rows.append([name, r["frames"], n, f"{100 * legs_seen:.0f} %", f"**{100 * rig.share:.1f} %**",
                     f"{100 * raw.share:.1f} %", last, f"rigid: {per}; lifter: {per_raw}"])
        printed.append(f"{name}: plausible limbs {100 * rig.share:.1f} % (rigid skeleton), "
                       f"{100 * raw.share:.1f} % (lifter output) of {n} frames with a person")
    table = markdown_table(["frames", "frames read", "with a person", "knees and ankles seen",
                            "plausible limbs, rigid skeleton", "plausible limbs, lifter output",
                            "skeleton at the last frame: thigh / shin / upper arm / forearm (m)", "per limb"],
                           rows)
    ranges = ", ".join(f"{k} {lo:.2f}–{hi:.2f} m" for k, (lo, hi) in LIMB_RANGES_M.items())
    notes = (f"\nVideo: `{video.name}`. A frame counts when all eight limbs (both sides, seen or not) are in "
             f"range: {ranges}. Target ≥ 95 %. *Rigid skeleton*: the pipeline's `joints_cam` as each frame "
             "leaves it (the track's skeleton, docs/KINEMATICS.md; before the writer re-poses the frames "
             "from before it settled); *lifter output*: `joints_cam_raw` (before smoothing and the "
             "skeleton). Lifter weights: " + (str(args.lifter_weights) if args.lifter_weights else "shipped") + ".\n")
    print(table + notes)
    for line in printed:
        print(line)
    if not args.no_write:
        path = write_section("limbs", "Plausible limb lengths (whole and cut-off video)", table + notes)
        print(f"updated {path}")
    return 0
