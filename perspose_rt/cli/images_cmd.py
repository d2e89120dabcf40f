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


#: Names of the images a run writes beside results.npz (never read back as photos).
OUTPUT_SUFFIXES = ("_overlay.jpg", "_3d.png")


def run(args: argparse.Namespace) -> int:
    import cv2

    from perspose_rt.cli.validate import check_output_dir
    from perspose_rt.errors import InputError, interrupt_exit_code, stop_reason
    from perspose_rt.io.atomic import atomic_path
    from perspose_rt.io.results import ResultWriter
    from perspose_rt.pipeline.build import build_stages, check_estimator_inputs
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import check_writable, drive, run_metadata, stop_metadata
    from perspose_rt.pipeline.sources import ImageFolderSource, Intrinsics
    from perspose_rt.viz.overlay import draw_hud, draw_people

    options = estimator_options(args, static_images=True)
    check_estimator_inputs(options)
    out_dir: Path = args.out
    same_folder = args.input.is_dir() and out_dir.resolve() == args.input.resolve()
    source = ImageFolderSource(args.input, Intrinsics(**camera_options(args)),
                               exclude=_is_output if same_folder else None)
    if args.calib is not None:  # a bad profile is one error, not a reason to skip every photo
        from perspose_rt.camera import load_profile

        load_profile(args.calib)
    check_output_dir(out_dir, "--out")
    check_writable(out_dir / "results.npz", "--out", (args.calib, args.lifter_weights, args.weights))
    stages, meta = build_stages(options)
    writer = ResultWriter(len(meta["joint_names"]), meta, max_people=meta["max_people"])
    files: list[str] = []
    cameras: list[str] = []
    faces = next((s.faces for s in stages if getattr(s, "faces", None) is not None), None)
    viewer = _offscreen_viewer(meta["joint_format"], faces, meta["max_people"] > 1) if not args.no_3d else None
    written: list[Path] = []

    def save_image(path: Path, image) -> None:
        with atomic_path(path) as tmp:
            if not cv2.imwrite(str(tmp), image):
                raise OSError(f"cannot write {path}")
        written.append(path)

    def sink(p) -> None:
        frame, people = p.frame, p.people
        writer.add_frame(frame, people)
        files.append(frame.source)
        cameras.append(frame.camera.source)
        stem = Path(frame.source).stem
        img = draw_people(frame.image.copy(), people, show_ids=meta["max_people"] > 1)
        depth = ("root depth " + ", ".join(f"{q.pose.joints_cam[0, 2]:.2f}" for q in people) + " m"
                 if people else "no person found")
        draw_hud(img, [f"{frame.source}: {depth}", f"camera: {frame.camera.source}"])
        save_image(out_dir / f"{stem}_overlay.jpg", img)
        if viewer is not None and people:
            viewer.reset_view()  # each photo gets its own viewpoint and floor
            viewer.show_people(people, frame.camera.resolution)
            save_image(out_dir / f"{stem}_3d.png", viewer.render([depth, f"intrinsics: {frame.camera.source}"]))
        print(f"{frame.source}: {depth} (camera {frame.camera.describe()})", flush=True)

    pipe = Pipeline(source, stages)
    stop: BaseException | None = None
    try:
        drive(pipe, sink)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: keep the results, report the stop
        stop = exc
    except BaseException as exc:  # a failure, a broken stdout pipe, …: saved, then re-raised
        stop = exc
        raise
    finally:
        if viewer is not None:
            try:
                viewer.close()
            except Exception:  # the results matter more than the 3D view's clean-up
                log.exception("closing the 3D view failed")
        if stop is not None or len(writer):
            writer.save(out_dir / "results.npz",
                        **run_metadata(source, writer.meta, pipe.stats, files=files, frame_cameras=cameras,
                                       failed_files=source.failed_paths, failed_reasons=source.failed_reasons,
                                       **stop_metadata(stop)))
    if stop is None and not len(writer):  # every photo failed: nothing was written, and that is an error
        reasons = "; ".join(f"{name}: {why}" for name, why in list(source.failed_reasons.items())[:3])
        more = f" (and {source.failed - 3} more)" if source.failed > 3 else ""
        raise InputError(f"none of the {source.failed} photos in {args.input} could be used: {reasons}{more}")
    n_valid = writer.frames_with_people()
    print(f"{n_valid} of {len(writer)} photos with a person"
          + (f"; {source.failed} skipped ({', '.join(source.failed_paths)})" if source.failed else ""))
    print(f"wrote {out_dir / 'results.npz'} and {len(written)} images in {out_dir}/")
    if stop is not None:
        print(f"perspose-rt: {stop_reason(stop)}: stopped after {len(writer)} of {len(source)} photos; the "
              "results so far were saved", file=sys.stderr)
        return interrupt_exit_code(stop)
    return 0


def _is_output(path: Path) -> bool:
    """A file this command writes (``NAME_overlay.jpg``, ``NAME_3d.png``)."""
    return path.name.endswith(OUTPUT_SUFFIXES)


def _offscreen_viewer(joint_format: str, faces=None, track_colors: bool = False):
    try:
        from perspose_rt.viz.viewer3d import Viewer3D

        return Viewer3D(joint_format, 800, 600, visible=False, mesh_faces=faces, track_colors=track_colors)
    except (ImportError, RuntimeError) as exc:
        print(f"perspose-rt: warning: no 3D renders ({exc}); use --no-3d to silence this", file=sys.stderr)
        return None
