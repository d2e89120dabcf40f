"""The calibration wizard's logic, independent of any window: frames in, views and a result out.

:class:`CalibrationSession` looks at every frame: it finds the pattern, measures sharpness
(edge width), steadiness (motion over the last frames) and what the view would add to the
:class:`~perspose_rt.calib.coverage.CoverageMap`, and captures the view by itself when it is
sharp, steady and adds coverage (or when asked to, e.g. on the space bar). :meth:`calibrate`
solves with outlier-view rejection. The interactive OpenCV front end
(:mod:`perspose_rt.calib.ui`) and :func:`run_headless` (files, tests, ``--headless``) drive the
same session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from perspose_rt.calib.coverage import CoverageMap, Tilt
from perspose_rt.calib.detect import PatternDetector, PatternView
from perspose_rt.calib.patterns import PatternSpec
from perspose_rt.calib.quality import DEFAULT_MAX_EDGE_WIDTH_PX, SteadinessMeter, edge_width, motion_px
from perspose_rt.calib.size_hint import suggest_pattern_size
from perspose_rt.calib.solve import CalibrationResult, SolveOptions, calibrate
from perspose_rt.errors import CalibrationError, InputError

log = logging.getLogger(__name__)

#: while the pattern has never been found, other grid sizes are tried on every N-th frame (1st, N+1th, …)
_SIZE_CHECK_EVERY = 15


@dataclass(frozen=True)
class WizardConfig:
    """When the wizard captures a view and when it considers the set complete.

    Attributes:
        target_views: views wanted before the session is :attr:`~CalibrationSession.ready`.
        max_views: no automatic capture beyond this many views.
        coverage_target: share of image cells that must hold points for ``ready``.
        max_edge_px: sharpness limit (edge width in px, see :mod:`perspose_rt.calib.quality`).
        steady_px: largest per-frame pattern motion (px) that counts as still.
        steady_frames: consecutive frames over which the pattern must be still.
        min_gain: least :meth:`CoverageMap.gain` for an automatic capture.
        auto_capture: capture by itself (``False``: only on :meth:`CalibrationSession.capture`).
    """

    target_views: int = 12
    max_views: int = 40
    coverage_target: float = 0.6
    max_edge_px: float = DEFAULT_MAX_EDGE_WIDTH_PX
    steady_px: float = 1.5
    steady_frames: int = 4
    min_gain: float = 2.0
    auto_capture: bool = True


@dataclass(frozen=True)
class FrameStatus:
    """What the session made of one frame (for the HUD and logs).

    ``reason`` is one short phrase: ``"no pattern"``, ``"blurry …"``, ``"hold still"``,
    ``"nothing new here …"``, ``"captured"``, …
    """

    label: str
    view: PatternView | None
    edge_px: float
    motion_px: float
    gain: float
    tilt: Tilt | None
    captured: bool
    reason: str


class CalibrationSession:
    """One calibration: frames in, captured views, then :meth:`calibrate`.

    Args:
        spec: the pattern to look for.
        config: capture policy.
        options: solver options (flags, outlier rejection, the hard minimum of views).
    """

    def __init__(
        self, spec: PatternSpec, config: WizardConfig | None = None, options: SolveOptions | None = None
    ) -> None:
        self.spec = spec
        self.config = config or WizardConfig()
        self.options = options or SolveOptions()
        self.detector = PatternDetector(spec)
        self.steadiness = SteadinessMeter(self.config.steady_frames)
        self.image_size: tuple[int, int] | None = None
        self.first_label = ""
        self.coverage: CoverageMap | None = None
        self.views: list[PatternView] = []
        self.result: CalibrationResult | None = None
        self.last: FrameStatus | None = None
        self.frames_seen = 0
        self.frames_with_pattern = 0
        #: one line naming the --rows/--cols under which the pattern *is* found, when the given
        #: ones find nothing (swapped rows and columns, squares counted instead of corners)
        self.size_hint: str | None = None

    # ----- per frame ------------------------------------------------------------------------
    def process(self, image: np.ndarray, label: str = "") -> FrameStatus:
        """Look at one frame; capture it when the policy says so. Returns what happened."""
        size = (int(image.shape[1]), int(image.shape[0]))
        if self.image_size is None:
            self.image_size, self.first_label = size, label
            self.coverage = CoverageMap(size)
        elif size != self.image_size:
            raise InputError(
                f"{label or 'a frame'} is {size[0]}x{size[1]} but {self.first_label or 'the first frame'} is "
                f"{self.image_size[0]}x{self.image_size[1]}: calibrate one camera resolution at a time"
            )
        self.frames_seen += 1
        view = self.detector.detect(image, label)
        motion = self.steadiness.update(view)
        if view is None:
            if self.frames_with_pattern == 0 and self.size_hint is None and self.frames_seen % _SIZE_CHECK_EVERY == 1:
                self.size_hint = suggest_pattern_size(self.spec, [image])
                if self.size_hint is not None:
                    log.warning("%s", self.size_hint)
            reason = "no pattern" if self.size_hint is None else f"no pattern: {self.size_hint}"
            status = FrameStatus(label, None, float("inf"), motion, 0.0, None, False, reason)
            self.last = status
            return status
        self.frames_with_pattern += 1
        edge = edge_width(image, view.image_points)
        tilt = self.coverage.tilt_of(view)
        gain = self.coverage.gain(view, tilt)
        cfg = self.config
        captured = False
        if len(self.views) >= cfg.max_views:
            reason = f"{cfg.max_views} views: calibrate now"
        elif edge > cfg.max_edge_px:
            reason = f"blurry (edges {edge:.1f} px > {cfg.max_edge_px:g}): hold still, more light, focus"
        elif motion > cfg.steady_px:
            reason = "hold still"
        elif gain < cfg.min_gain:
            reason = "nothing new here: " + self.hint()
        elif cfg.auto_capture:
            self._add(view, tilt)
            captured, reason = True, "captured"
        else:
            reason = "good view: press space"
        status = FrameStatus(label, view, edge, motion, gain, tilt, captured, reason)
        self.last = status
        return status

    def capture(self) -> bool:
        """Capture the last frame's view regardless of the policy (space bar).

        Returns False when there is no pattern in view, or when it is where the latest captured
        view was (within 1 px: the same pose twice adds nothing).
        """
        if self.last is None or self.last.view is None:
            return False
        if self.views and motion_px(self.views[-1], self.last.view) < 1.0:
            return False
        self._add(self.last.view, self.last.tilt)
        self.last = replace(self.last, captured=True, reason="captured")
        return True

    def _add(self, view: PatternView, tilt: Tilt | None) -> None:
        self.views.append(view)
        self.coverage.add(view, tilt)
        self.steadiness.reset()  # the next capture needs a fresh still moment
        log.debug("captured %s (%d views, coverage %.0f %%)", view.label, len(self.views), 100 * self.coverage.fraction)

    # ----- progress -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Enough views, image coverage and tilts for a trustworthy calibration."""
        cov = self.coverage
        return (
            cov is not None
            and len(self.views) >= self.config.target_views
            and cov.fraction >= self.config.coverage_target
            and not cov.missing_tilts
        )

    def hint(self) -> str:
        """What the user should do next, in a few words."""
        cov = self.coverage
        if self.size_hint is not None and not self.views:
            return self.size_hint
        if cov is None:
            return f"show the {self.spec.describe()}"
        if cov.missing_tilts:
            return "tilt the board so its " + " / ".join(f"{b} edge" for b in cov.missing_tilts) + " comes closer"
        if cov.fraction < self.config.coverage_target:
            return "move the board towards the red cells (corners and edges of the image)"
        if len(self.views) < self.config.target_views:
            if cov.fraction < 1.0:
                return "move the board towards the red cells, or tilt it another way"
            return "move or tilt the board to a new position"
        if self.result is not None:
            return "calibrated and saved: q to finish, or add views and press c again"
        return "press c to calibrate"

    # ----- solving --------------------------------------------------------------------------
    def calibrate(self) -> CalibrationResult:
        """Calibrate from the captured views (outlier views dropped); also sharpens tilt estimates."""
        if not self.views:
            raise CalibrationError(self.not_found_message())
        self.result = calibrate(self.views, self.options)
        self.coverage.set_camera(self.result.K, self.result.dist)
        return self.result

    def not_found_message(self) -> str:
        if self.frames_with_pattern == 0 and self.size_hint is not None:
            return (f"the {self.spec.describe()} was not found in any of the {self.frames_seen} frames, but "
                    f"{self.size_hint}")
        if self.frames_with_pattern == 0:
            hint = " (a chessboard is counted in inner corners, not squares)" if self.spec.kind == "chessboard" else ""
            return (
                f"the {self.spec.describe()} was not found in any of the {self.frames_seen} frames: check "
                f"--pattern, --rows and --cols{hint}, the lighting and the focus"
            )
        return (
            f"the pattern was seen in {self.frames_with_pattern} of {self.frames_seen} frames but no view was "
            "sharp and still enough to capture: hold the board still for a moment in good light"
        )


def run_headless(
    session: CalibrationSession,
    source: Iterable[tuple[str, np.ndarray]],
    *,
    stop_when_ready: bool = False,
    max_frames: int | None = None,
    on_status: Callable[[FrameStatus], None] | None = None,
) -> CalibrationResult:
    """Drive ``session`` with every frame of ``source`` (no window), then calibrate.

    Args:
        stop_when_ready: stop reading once :attr:`CalibrationSession.ready` (live cameras).
        max_frames: stop after this many frames.
        on_status: called with every frame's :class:`FrameStatus` (progress output).

    Raises:
        CalibrationError: the pattern never showed up, too few views, or the solver failed.
    """
    for i, (label, frame) in enumerate(source):
        status = session.process(frame, label)
        if on_status is not None:
            on_status(status)
        if stop_when_ready and session.ready:
            break
        if max_frames is not None and i + 1 >= max_frames:
            break
    return session.calibrate()
