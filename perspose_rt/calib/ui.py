"""The interactive wizard: an OpenCV window over a :class:`CalibrationSession`.

Live preview with the detected pattern drawn over the coverage map (green cells: seen, red:
not yet), a HUD (views, coverage, tilts still missing, sharpness, RMS), automatic capture, and
keys: **space** capture now, **c** calibrate (and save), **u** toggle the undistorted preview
(check that straight lines are straight), **q**/Esc quit. Once the views are complete it
calibrates and saves by itself, then shows the undistorted preview.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np

from perspose_rt.calib.coverage import TILT_BINS
from perspose_rt.calib.detect import draw_view
from perspose_rt.calib.solve import CalibrationResult
from perspose_rt.calib.wizard import CalibrationSession, FrameStatus
from perspose_rt.camera import CameraModel, Undistorter
from perspose_rt.errors import CalibrationError, InputError, UserError

WINDOW = "perspose-rt calibrate"
KEYS = "space: capture   c: calibrate + save   u: undistorted view   q: quit"


def require_display() -> None:
    """Raise a one-line UserError where no window can be opened (instead of Qt aborting)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise UserError("no display for the wizard's window: run it on a desktop, or add --headless")


#: OpenCV's Hershey fonts are ASCII only.
_ASCII = str.maketrans({"×": "x", "°": " deg", "–": "-", "—": "-", "σ": "sigma", "±": "+/-", "…": "..."})


def _text(img: np.ndarray, text: str, org: tuple[int, int], color=(255, 255, 255), scale: float = 0.5) -> None:
    text = text.translate(_ASCII).encode("ascii", "replace").decode("ascii")
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1, cv2.LINE_AA)


def draw_hud(img: np.ndarray, session: CalibrationSession, status: FrameStatus | None, message: str = "") -> None:
    """Write the wizard's state onto ``img`` (BGR, in place)."""
    cov = session.coverage
    scale = max(0.45, img.shape[1] / 1400)
    step = round(26 * scale / 0.5)
    tilts = "  ".join(f"{b}:{cov.tilts[b]}" for b in TILT_BINS) if cov else ""
    line1 = f"views {len(session.views)}/{session.config.target_views}   coverage {100 * (cov.fraction if cov else 0):.0f}%"
    line2 = f"tilts (edge nearer)  {tilts}"
    _text(img, line1, (10, step), scale=scale)
    _text(img, line2, (10, 2 * step), scale=scale)
    if status is not None:
        color = (0, 255, 0) if status.captured else (0, 220, 255)
        extra = "" if status.view is None else f"   edges {status.edge_px:.1f}px"
        _text(img, status.reason + extra, (10, 3 * step), color, scale)
    y = 4 * step
    if session.result is not None:
        r = session.result
        _text(img, f"RMS {r.rms_px:.3f} px   fx {r.K[0, 0]:.1f}  fy {r.K[1, 1]:.1f}   {r.n_views} views", (10, y), scale=scale)
        y += step
    if session.ready and session.result is None:
        _text(img, "enough views: press c to calibrate", (10, y), (0, 255, 0), scale)
        y += step
    if message:
        _text(img, message, (10, y), (255, 200, 0), scale)
    _text(img, KEYS, (10, img.shape[0] - 12), (200, 200, 200), scale)


def _flash(img: np.ndarray) -> np.ndarray:
    return cv2.addWeighted(img, 0.5, np.full_like(img, 255), 0.5, 0)


class _Wizard:
    """State of the window: messages, the undistorted preview, calibrate-and-save."""

    def __init__(self, session: CalibrationSession, save, print_fn) -> None:
        self.session, self.save, self.print = session, save, print_fn
        self.undistort: Undistorter | None = None
        self.show_undistorted = False
        self.auto_done = False
        self.message, self.until = f"show the {session.spec.describe()}", time.monotonic() + 8

    def say(self, text: str, seconds: float = 3.0) -> None:
        self.message, self.until = text, time.monotonic() + seconds

    def calibrate(self) -> None:
        try:
            result = self.session.calibrate()
        except CalibrationError as exc:
            self.say(str(exc), 8)
            self.print(f"cannot calibrate yet: {exc}")
            return
        path = self.save(result)
        self.print(result.summary())
        self.print(f"saved {path}")
        self.undistort = Undistorter(CameraModel(K=result.K, resolution=result.image_size, dist=result.dist))
        self.show_undistorted = True
        self.say(f"saved {path} (RMS {result.rms_px:.3f} px); u: undistorted view on/off", 8)

    def frame(self, label: str, frame: np.ndarray) -> np.ndarray:
        session = self.session
        status = session.process(frame, label)
        if status.captured:
            self.print(f"captured {label}: {len(session.views)} views, coverage {100 * session.coverage.fraction:.0f}%")
        if session.ready and session.result is None and not self.auto_done:
            self.auto_done = True  # enough views: calibrate once by itself; c refines later
            self.calibrate()
        if self.show_undistorted and self.undistort is not None:
            disp = self.undistort(frame).copy()
            _text(disp, "undistorted preview: straight lines must look straight (u: back)", (10, disp.shape[0] - 40))
        else:
            disp = session.coverage.draw(frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
            draw_view(disp, session.spec, status.view)
            if status.captured:
                disp = _flash(disp)
        draw_hud(disp, session, status, self.message if time.monotonic() < self.until else "")
        return disp

    def key(self, key: int, label: str) -> bool:
        """Handle one key; False means quit."""
        if key in (ord("q"), 27):
            return False
        if key == ord(" "):
            if self.session.capture():
                self.say("captured")
                self.print(f"captured {label}: {len(self.session.views)} views (space)")
            elif self.session.last is None or self.session.last.view is None:
                self.say("no pattern in view to capture")
            else:
                self.say("this view is already captured: move the board")
        elif key == ord("c"):
            self.calibrate()
        elif key == ord("u") and self.undistort is not None:
            self.show_undistorted = not self.show_undistorted
        return True


def run_interactive(
    session: CalibrationSession,
    source: Iterable[tuple[str, np.ndarray]],
    save: Callable[[CalibrationResult], Path],
    print_fn: Callable[[str], None] = print,
) -> CalibrationResult | None:
    """Run the wizard window until the user quits or the source ends; returns the last result.

    Once the views are complete the wizard calibrates by itself; **c** calibrates at any time
    (again after more views, to refine). ``save`` writes each result (``calib/NAME.yaml``) and
    returns its path, so the file on disk is always the latest complete calibration.
    """
    require_display()
    cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    wizard = _Wizard(session, save, print_fn)
    sized = False
    try:
        for label, frame in source:
            if not sized:  # a resizable window opens small: start at the frame's own size
                cv2.resizeWindow(WINDOW, int(frame.shape[1]), int(frame.shape[0]))
                sized = True
            cv2.imshow(WINDOW, wizard.frame(label, frame))
            if not wizard.key(cv2.waitKey(1) & 0xFF, label):
                break
    except InputError as exc:  # the camera went away
        if session.result is None:
            raise
        print_fn(f"warning: {exc}; the calibration saved before stands")
    finally:
        cv2.destroyWindow(WINDOW)
        cv2.waitKey(1)
    return session.result
