"""``perspose-rt live --camera 0``: live 3D pose from a webcam, a stream or a simulated camera.

Windows: the 2D overlay with an FPS/latency HUD (OpenCV) and the 3D skeleton in camera space
(Open3D). Keys in either window: ``q`` quit, ``r`` start/stop recording to an npz, ``s`` snapshot
(overlay PNG, 3D PNG and a one-frame npz). ``--no-view`` runs headless (servers, tests): stop it
with Ctrl-C, ``--max-frames`` or ``--duration``; ``--record`` records from the start.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from perspose_rt.cli.common import add_camera_arguments, camera_options, parse_resolution
from perspose_rt.cli.validate import nonnegative_float, positive_float, positive_int
from perspose_rt.errors import UserError
from perspose_rt.pipeline.cli_options import add_estimator_arguments, estimator_options

#: Detector runs of the extended search per frame when nobody is found (the rest on the next
#: frames): about 2 × 30 ms, instead of up to 20 runs (0.5–1.8 s) stalling the stream on one frame.
LIVE_SEARCH_RUNS = 2

HELP = "live 3D pose from a webcam or stream, with a 3D viewer and 2D overlay (or --no-view)"

log = logging.getLogger(__name__)
WINDOW = "perspose-rt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--camera", default="0", metavar="SRC",
                        help="webcam index (0), device (/dev/video2), stream URL (rtsp://…, http://…) "
                             "or sim:VIDEO (a simulated camera playing a video in real time)")
    parser.add_argument("--sim-view", choices=("upper-body", "head", "hand"),
                        help="with --camera sim:VIDEO|IMAGE: cut every frame to this view of the person first "
                             "(upper-body: a desk camera, bottom edge at the hips), at --resolution (default "
                             "640x480), with the intrinsics following the crop")
    parser.add_argument("--resolution", type=parse_resolution, metavar="WxH", help="requested capture size")
    parser.add_argument("--fps", type=positive_float, help="requested capture rate (sim: delivery rate, default 30)")
    parser.add_argument("--retry", type=nonnegative_float, default=10.0, metavar="S",
                        help="seconds to try reconnecting when the camera stops delivering")
    parser.add_argument("--no-view", action="store_true", help="no windows (headless)")
    parser.add_argument("--record", type=Path, metavar="OUT.npz", help="record from the start into this file")
    parser.add_argument("--out-dir", type=Path, default=Path("recordings"),
                        help="where 'r' recordings and 's' snapshots go (default ./recordings)")
    parser.add_argument("--max-frames", type=positive_int, metavar="N", help="stop after N results")
    parser.add_argument("--duration", type=positive_float, metavar="S", help="stop after S seconds")
    add_camera_arguments(parser)
    add_estimator_arguments(parser)


def _has_display() -> bool:
    return sys.platform in ("win32", "darwin") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _stamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


class LiveSession:
    """Sinks of a live run: recording, snapshots, windows, stop conditions."""

    def __init__(self, args: argparse.Namespace, source, meta: dict, pipe, mesh_faces=None) -> None:
        from perspose_rt.io.results import PeriodicSaver, ResultWriter

        self._ResultWriter, self._PeriodicSaver = ResultWriter, PeriodicSaver
        self.args, self.source, self.meta, self.pipe = args, source, meta, pipe
        self.J = len(meta["joint_names"])
        self.view = not args.no_view
        self.writer = self.saver = None
        self.record_path: Path | None = None
        self.saved: list[Path] = []
        self.t0 = time.perf_counter()
        self.n = 0
        self.stop_reason = "end"  # why the run ended without an error: "key q", "max-frames", …
        self.viewer = None
        self._last_overlay = None
        if self.view:
            import cv2

            from perspose_rt.viz.viewer3d import Viewer3D

            # The 2D overlay and the 3D view side by side, the same height (at most 960x720 each).
            w, h = source.resolution
            s = min(1.0, 960 / w, 720 / h)
            ow, oh = round(w * s), round(h * s)
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
            cv2.resizeWindow(WINDOW, ow, oh)
            cv2.moveWindow(WINDOW, 0, 0)
            self.viewer = Viewer3D(meta["joint_format"], width=max(480, ow), height=oh, mesh_faces=mesh_faces,
                                   left=ow + 16, top=0, track_colors=meta["max_people"] > 1)
        if args.record is not None:
            self.start_recording(args.record)

    # ---------------------------------------------------------------- recording
    def start_recording(self, path: Path | None = None) -> None:
        self.record_path = path or self.args.out_dir / f"recording_{_stamp()}.npz"
        self.writer = self._ResultWriter(self.J, self.meta, max_people=self.meta["max_people"])
        self.saver = self._PeriodicSaver(self.writer, self.record_path, interval_s=10.0)
        print(f"recording to {self.record_path}", file=sys.stderr)

    def stop_recording(self, stop: BaseException | None = None, reason: str = "end") -> None:
        """Write the recording; ``stop``: what ended the run (a signal, an error), for its metadata."""
        if self.writer is None:
            return
        from perspose_rt.pipeline.session import run_metadata, stop_metadata

        path = self.writer.save(self.record_path, **run_metadata(
            self.source, self.meta, self.pipe.stats, **stop_metadata(stop, reason)))
        print(f"wrote {path} ({len(self.writer)} frames)", file=sys.stderr)
        self.saved.append(path)
        self.writer = self.saver = None

    def snapshot(self, packet, overlay) -> None:
        import cv2

        from perspose_rt.pipeline.session import run_metadata

        base = self.args.out_dir / f"snapshot_{_stamp()}_{packet.frame.index:06d}"
        base.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(base) + "_overlay.png", overlay)
        if self.viewer is not None:
            cv2.imwrite(str(base) + "_3d.png", self.viewer.render())
        w = self._ResultWriter(self.J, self.meta, max_people=self.meta["max_people"])
        w.add_frame(packet.frame, packet.people)
        w.save(str(base) + ".npz", **run_metadata(self.source, self.meta, self.pipe.stats))
        print(f"snapshot {base}_overlay.png / .npz", file=sys.stderr)

    # ---------------------------------------------------------------- per result
    def __call__(self, p) -> bool:
        self.n += 1
        if self.writer is not None:
            self.writer.add_frame(p.frame, p.people)
            # a periodic save is not a finished recording: say so, in case nothing else is written
            self.saver.maybe_save(time.perf_counter(), complete=False, interrupted=False, error=None,
                                  stop_reason="in progress (periodic save)")
        keys = self._show(p) if self.view else []
        if not self.handle_keys(keys, p):
            return False
        a = self.args
        if a.max_frames is not None and self.n >= a.max_frames:
            self.stop_reason = "max-frames"
            return False
        if a.duration is not None and time.perf_counter() - self.t0 >= a.duration:
            self.stop_reason = "duration"
            return False
        return True

    def handle_keys(self, keys: list[str], p) -> bool:
        """Act on ``q`` (returns False: stop), ``r`` (toggle recording) and ``s`` (snapshot)."""
        for k in keys:
            if k == "q":
                self.stop_reason = "key q"
                return False
            if k == "r":
                if self.writer is not None:
                    self.stop_recording(reason="key r")
                else:
                    self.start_recording()
            if k == "s":
                self.snapshot(p, self._last_overlay if self._last_overlay is not None else p.frame.image)
        return True

    def _show(self, p) -> list[str]:
        import cv2

        from perspose_rt.viz.overlay import draw_hud, draw_people, hud_lines

        st = self.pipe.stats
        img = draw_people(p.frame.image.copy(), p.people, show_ids=self.meta["max_people"] > 1)
        depth = float(p.people[0].pose.joints_cam[0, 2]) if len(p.people) == 1 else None
        lines = hud_lines(fps=st.recent_fps(), latency_ms=st.recent_latency_ms(), dropped=self.pipe.dropped,
                          estimator=self.meta["estimator"], valid=bool(p.people),
                          recording=self.writer is not None, depth_m=depth, people=len(p.people),
                          intrinsics=p.frame.camera.source)
        draw_hud(img, lines)
        self.viewer.hud = lines[:1] + lines[2:]  # snapshots' 3D PNG carries the same HUD
        self._last_overlay = img
        cv2.imshow(WINDOW, img)
        keys = []
        k = cv2.waitKey(1) & 0xFF
        if k != 0xFF:
            keys.append(chr(k).lower())
        self.viewer.show_people(p.people, p.frame.camera.resolution)
        alive, vkeys = self.viewer.poll()
        if not alive:
            keys.append("q")
        return keys + vkeys

    def close(self) -> None:
        if self.viewer is not None:
            import cv2

            self.viewer.close()
            cv2.destroyAllWindows()


def run(args: argparse.Namespace) -> int:
    from perspose_rt.errors import interrupt_exit_code
    from perspose_rt.pipeline.build import build_stages, check_estimator_inputs
    from perspose_rt.pipeline.live_sources import open_live_source
    from perspose_rt.pipeline.runner import Pipeline
    from perspose_rt.pipeline.session import drive
    from perspose_rt.pipeline.sources import Intrinsics

    if not args.no_view and not _has_display():
        raise UserError("no display found: run with --no-view (headless), or set DISPLAY")
    from perspose_rt.pipeline.session import check_writable

    if args.record is not None:
        check_writable(args.record, "--record", (args.calib, args.lifter_weights, args.weights))
    if args.out_dir.exists() and not args.out_dir.is_dir():
        raise UserError(f"--out-dir {args.out_dir} is a file, not a folder")
    options = replace(estimator_options(args), search_runs=LIVE_SEARCH_RUNS)
    check_estimator_inputs(options)
    w, h = args.resolution or (None, None)
    source = open_live_source(args.camera, Intrinsics(**camera_options(args)), width=w, height=h,
                              fps=args.fps, retry_s=args.retry, sim_view=args.sim_view)
    try:
        stages, meta = build_stages(options, fps=source.fps)
    except BaseException:
        source.close()
        raise
    print(f"{source.name}: {source.resolution[0]}x{source.resolution[1]}; camera {source.camera.describe()}",
          file=sys.stderr)
    pipe = Pipeline(source, stages, queue_size=1)
    faces = next((s.faces for s in stages if getattr(s, "faces", None) is not None), None)
    session = LiveSession(args, source, meta, pipe, mesh_faces=faces)
    stop: BaseException | None = None
    try:
        drive(pipe, session)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: the recording is kept
        stop = exc
    except BaseException as exc:  # the stream failed, …: the recording keeps what it has, and why
        stop = exc
        raise
    finally:
        try:
            session.stop_recording(stop, session.stop_reason)
        finally:
            session.close()
    print(pipe.stats.table(), file=sys.stderr)
    return interrupt_exit_code(stop) if stop is not None else 0
