"""``perspose-rt images DIR --out OUTDIR``: 3D poses of the people in a folder of photos."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from perspose_rt.cli.common import add_camera_arguments, camera_options
from perspose_rt.pipeline.cli_options import add_estimator_arguments, estimator_options

HELP = "estimate the 3D pose in each photo of a folder (intrinsics from EXIF or the file name)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="DIR", help="folder of photos (jpg, png, heic, …)")
    parser.add_argument("--out", type=Path, required=True, metavar="OUTDIR",
                        help="output folder: results.npz, NAME_overlay.jpg, NAME_3d.png")
    parser.add_argument("--no-3d", action="store_true", help="do not render the 3D view of each photo")
    add_camera_arguments(parser)
    add_estimator_arguments(parser, smoothing=False)


def run(args: argparse.Namespace) -> int:
    import cv2

    from perspose_rt.io.atomic import atomic_path
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.pipeline.build import build_stages
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import check_writable, drive, run_metadata
    from perspose_rt.pipeline.sources import ImageFolderSource, Intrinsics
    from perspose_rt.viz.overlay import draw_hud, draw_pose

    check_writable(args.out / "results.npz")
    source = ImageFolderSource(args.input, Intrinsics(**camera_options(args)))
    stages, meta = build_stages(estimator_options(args, static_images=True))
    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = ResultWriter(len(meta["joint_names"]), meta)
    files: list[str] = []
    cameras: list[str] = []
    faces = next((s.faces for s in stages if getattr(s, "faces", None) is not None), None)
    viewer = _offscreen_viewer(meta["joint_format"], faces) if not args.no_3d else None
    written: list[Path] = []

    def save_image(path: Path, image) -> None:
        with atomic_path(path) as tmp:
            if not cv2.imwrite(str(tmp), image):
                raise OSError(f"cannot write {path}")
        written.append(path)

    def sink(p) -> None:
        pose, frame = p.pose, p.frame
        writer.add(pose, p.pose_raw_cam)
        files.append(frame.source)
        cameras.append(frame.camera.source)
        stem = Path(frame.source).stem
        img = draw_pose(frame.image.copy(), pose)
        depth = f"root depth {pose.joints_cam[0, 2]:.2f} m" if pose.valid else "no person found"
        draw_hud(img, [f"{frame.source}: {depth}", f"camera: {frame.camera.source}"])
        save_image(out_dir / f"{stem}_overlay.jpg", img)
        if viewer is not None and pose.valid:
            viewer.reset_view()  # each photo gets its own viewpoint and floor
            viewer.update(pose, frame.camera.resolution)
            save_image(out_dir / f"{stem}_3d.png", viewer.render([depth, f"intrinsics: {frame.camera.source}"]))
        print(f"{frame.source}: {depth} (camera {frame.camera.describe()})")

    pipe = Pipeline(source, stages)
    try:
        drive(pipe, sink)
    finally:
        if viewer is not None:
            viewer.close()
        npz = writer.save(out_dir / "results.npz",
                          **run_metadata(source, writer.meta, pipe.stats, files=files, frame_cameras=cameras,
                                         failed_files=source.failed_paths))
    n_valid = int(writer.arrays()["valid"].sum())
    print(f"{n_valid} of {len(writer)} photos with a person"
          + (f"; {source.failed} unreadable ({', '.join(source.failed_paths)})" if source.failed else ""))
    print(f"wrote {npz} and {len(written)} images in {out_dir}/")
    return 0


def _offscreen_viewer(joint_format: str, faces=None):
    try:
        from perspose_rt.viz.viewer3d import Viewer3D

        return Viewer3D(joint_format, 800, 600, visible=False, mesh_faces=faces)
    except (ImportError, RuntimeError) as exc:
        print(f"perspose-rt: warning: no 3D renders ({exc}); use --no-3d to silence this", file=sys.stderr)
        return None
