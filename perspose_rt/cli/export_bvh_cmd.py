"""``perspose-rt export-bvh RESULT.npz OUT.bvh``: joint rotations of a result file as BVH motion.

One BVH per track: a file with one track (every version-1 file) writes ``OUT.bvh``; a file with
several writes ``OUT_track<ID>.bvh`` for each, and ``--track ID`` writes that one to ``OUT.bvh``.
A track of a version-2 (multi-person) file spans the frames from its first to its last sighting;
frames in between where it was not seen are interpolated and held as for one person.

A track with a rigid skeleton (the lifter's default ``--rigid``; the result's ``bone_lengths`` and
``skeleton_settled``) is written on the skeleton it settled on, so the file reproduces the
result's joints (docs/KINEMATICS.md, "One skeleton per track"); ``--settled-only`` leaves out the
frames computed before it settled (the result writer re-posed them on it).
"""

from __future__ import annotations

import argparse
import logging

from perspose_rt.cli.validate import positive_float

HELP = "convert a result .npz into a BVH animation (Blender, Unity, MotionBuilder)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("result", help="result .npz written by perspose-rt (joint format h36m17 from the "
                                       "lifter, or perspose25 from the PersPose network)")
    parser.add_argument("output", help="BVH file to write")
    parser.add_argument("--fps", type=positive_float, default=None,
                        help="frame rate of the animation (default: the result's fps metadata, else "
                             "from its timestamps)")
    parser.add_argument("--units", choices=("m", "cm"), default="m",
                        help="unit of offsets and root positions (default m)")
    parser.add_argument("--rigid-torso", action="store_true",
                        help="leave out the zero-length hip and collar joints (12 rotating joints only; the "
                             "hips and shoulders then follow the rigid pelvis and thorax)")
    parser.add_argument("--raw", action="store_true",
                        help="use the joints before smoothing (joints_cam_raw) instead of joints_cam")
    parser.add_argument("--settled-only", action="store_true",
                        help="start the file at the frame where the track's rigid skeleton settled "
                             "(the frames before it were computed on a skeleton still being fitted, and "
                             "re-posed on the settled one when the result was written)")
    parser.add_argument("--track", type=int, metavar="ID",
                        help="only this track (a result of --max-people N > 1 holds several; default: "
                             "one BVH per track, OUT_track<ID>.bvh)")


def _frame_rate(result, override: float | None) -> float:
    import numpy as np

    from perspose_rt.errors import InputError

    if override is not None:
        if not override > 0:
            raise InputError(f"--fps must be positive, got {override}")
        return float(override)
    fps = result.meta.get("fps")
    if fps:
        try:
            value = float(fps)
        except (TypeError, ValueError):
            value = float("nan")
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"the result's fps metadata is {fps!r}, not a positive number; pass --fps")
        return value
    ts = np.asarray(result["timestamp"], dtype=np.float64)
    dt = np.diff(ts)
    dt = dt[np.isfinite(dt) & (dt > 0)]
    if dt.size == 0:
        raise InputError("the result has no fps metadata and no usable timestamps; pass --fps")
    return float(1.0 / np.median(dt))


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from perspose_rt.cli.validate import check_output_file
    from perspose_rt.errors import InputError
    from perspose_rt.io.results import load_result

    check_output_file(args.output, "the BVH output", (args.result,))
    result = load_result(args.result)
    fmt = result.meta.get("joint_format", "")
    fps = _frame_rate(result, args.fps)
    tracks = result.track_ids()
    if args.track is not None:
        if args.track not in tracks:
            raise InputError(f"{args.result}: no track {args.track}; its tracks are "
                             f"{', '.join(map(str, tracks)) or 'none (nobody was found)'}")
        tracks = [args.track]
    if not tracks:
        raise InputError(f"{args.result}: nobody was found in any frame; there is no motion to export")
    out = Path(args.output)
    for tid in tracks:
        path = out if len(tracks) == 1 else out.with_name(f"{out.stem}_track{tid}{out.suffix or '.bvh'}")
        _export_track(args, result.track(tid), fmt, fps, path, tid, trim=result.version >= 2)
    return 0


def _export_track(args: argparse.Namespace, track: dict, fmt: str, fps: float, path, tid: int,
                  trim: bool) -> None:
    import numpy as np

    from perspose_rt.errors import InputError
    from perspose_rt.kinematics.bvh import export_bvh, export_bvh_smpl24

    key = "joints_cam_raw" if args.raw else "joints_cam"
    joints = np.asarray(track[key], dtype=np.float64)
    valid = np.asarray(track["valid"], dtype=bool)
    start = 0
    if trim:  # the track's own span, not the whole recording
        seen = np.flatnonzero(valid)
        start, stop = seen[0], seen[-1] + 1
        joints, valid = joints[start:stop], valid[start:stop]
    rest, settled_at = _settled_skeleton(track, valid, start, args.raw)
    if args.settled_only:
        if rest is None:
            raise InputError(f"{args.result}: track {tid} has no settled rigid skeleton (run the lifter "
                             "with --rigid on a longer stretch of video); export without --settled-only")
        joints, valid, settled_at = joints[settled_at:], valid[settled_at:], 0
    if fmt == "h36m17" and joints.shape[1:] == (17, 3):
        ex = export_bvh(path, joints, valid, fps, units=args.units, attachments=not args.rigid_torso,
                        rest="fit" if rest is None else rest)
    elif fmt in ("perspose25", "smpl24") and joints.shape[1] in (24, 25):
        ex = export_bvh_smpl24(path, joints[:, :24], valid, fps, units=args.units)
    else:
        raise InputError(f"{args.result}: export-bvh supports the h36m17 (lifter) and perspose25 (network) "
                         f"joint formats; this file has {fmt or 'an unknown format'} with {joints.shape[1]} joints")
    n = joints.shape[0]
    fit_mm = 1000.0 * ex.fit_error_m[~ex.filled]
    log.info("wrote %s (track %d): %d frames at %.3g fps (%d invalid frames filled), skeleton fit median "
             "%.1f mm, 95th percentile %.1f mm", path, tid, n, fps, int(ex.filled.sum()),
             float(np.median(fit_mm)), float(np.percentile(fit_mm, 95)))
    if rest is not None:
        err = 1000.0 * ex.fit_error_m[~ex.filled]
        log.info("track %d: written on the skeleton it settled on (frame %d of the file); distance to the "
                 "result's joints: max %.3f mm", tid, settled_at, float(err.max()) if err.size else 0.0)


def _settled_skeleton(track: dict, valid, start: int, raw: bool):
    """(the rest skeleton the track's rigid IK settled on, its first frame in the span) or (None, 0)."""
    import numpy as np

    from perspose_rt.kinematics import h36m17_skeleton

    if raw or "skeleton_settled" not in track:
        return None, 0  # joints before smoothing are not the skeleton's
    settled = np.asarray(track["skeleton_settled"], dtype=bool)[start:start + len(valid)] & valid
    if not settled.any():
        return None, 0
    first = int(np.argmax(settled))
    lengths = np.asarray(track["bone_lengths"], dtype=np.float64)[start + first]
    return h36m17_skeleton(lengths), first
