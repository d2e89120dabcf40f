"""Calibrate intrinsics from pattern views, dropping outlier views.

:func:`calibrate` runs ``cv2.calibrateCameraExtended`` (Zhang's method + Levenberg–Marquardt on
all views) and then, while some view's RMS reprojection error is far above the others
(``> max(outlier_factor × median, outlier_floor_px)``), drops the worst view and solves again —
one view at a time, never below ``min_views`` and never more than ``max_rejected_fraction`` of
them. A view that a blurred frame, a bent board or a wrong detection spoils thus cannot drag
the whole solution, and the user is told which views went.

The RMS figures are OpenCV's: ``sqrt(Σ‖reprojection error‖² / N)`` over points, in pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from perspose_rt.calib.detect import PatternView
from perspose_rt.errors import CalibrationError

#: name in profiles and on the command line → OpenCV flag
FLAG_NAMES: dict[str, int] = {
    "fix_aspect_ratio": cv2.CALIB_FIX_ASPECT_RATIO,
    "fix_principal_point": cv2.CALIB_FIX_PRINCIPAL_POINT,
    "zero_tangent_dist": cv2.CALIB_ZERO_TANGENT_DIST,
    "fix_k3": cv2.CALIB_FIX_K3,
    "fix_k4": cv2.CALIB_FIX_K4,
    "fix_k5": cv2.CALIB_FIX_K5,
    "rational_model": cv2.CALIB_RATIONAL_MODEL,
}


@dataclass(frozen=True)
class SolveOptions:
    """What to estimate and how to treat outliers.

    Attributes:
        flags: names from :data:`FLAG_NAMES` (e.g. the OpenCV sample's ``fix_aspect_ratio``,
            ``fix_principal_point``, ``zero_tangent_dist``, ``fix_k4``, ``fix_k5``).
        aspect_ratio: ``fx / fy`` kept when ``fix_aspect_ratio`` is set.
        min_views: fewest views to calibrate from (and to keep after rejection).
        outlier_factor, outlier_floor_px: a view is an outlier when its RMS exceeds both
            ``outlier_factor × median view RMS`` and ``outlier_floor_px``.
        max_rejected_fraction: at most this share of the views is ever dropped.
    """

    flags: tuple[str, ...] = ()
    aspect_ratio: float = 1.0
    min_views: int = 5
    outlier_factor: float = 3.0
    outlier_floor_px: float = 0.3
    max_rejected_fraction: float = 0.3

    def __post_init__(self) -> None:
        unknown = [f for f in self.flags if f not in FLAG_NAMES]
        if unknown:
            raise CalibrationError(f"unknown calibration flag(s) {unknown}: use {', '.join(FLAG_NAMES)}")
        if self.min_views < 1:
            raise CalibrationError(f"--min-views must be at least 1 (got {self.min_views})")

    @property
    def cv_flags(self) -> int:
        out = 0
        for name in self.flags:
            out |= FLAG_NAMES[name]
        return out


@dataclass(frozen=True)
class CalibrationResult:
    """Intrinsics and how well they explain the views.

    Attributes:
        K: (3, 3) float64. dist: (N,) OpenCV order. image_size: ``(w, h)``.
        rms_px: RMS reprojection error over all points of the kept views.
        per_view_rms_px: (V,) RMS of each kept view, in the order of ``views``.
        views: the kept views. rejected: ``(view, rms_px)`` of dropped views, worst first.
        std_intrinsics: 1-σ uncertainty of ``(fx, fy, cx, cy)`` from the solver's covariance.
        rvecs, tvecs: (V, 3) board poses of the kept views (mm).
        flags: the option names used.
    """

    K: np.ndarray
    dist: np.ndarray
    image_size: tuple[int, int]
    rms_px: float
    per_view_rms_px: np.ndarray
    views: list[PatternView]
    rejected: list[tuple[PatternView, float]]
    std_intrinsics: np.ndarray
    rvecs: np.ndarray
    tvecs: np.ndarray
    flags: tuple[str, ...] = field(default=())

    @property
    def n_views(self) -> int:
        return len(self.views)

    def warnings(self) -> list[str]:
        """Reasons not to trust the result, in words (empty when it looks fine)."""
        out = []
        fx, fy = self.K[0, 0], self.K[1, 1]
        rel = self.std_intrinsics[:2] / np.array([fx, fy])
        if np.any(rel > 0.01):
            out.append(
                f"focal length uncertain (±{100 * rel.max():.1f} %): add views with the board tilted "
                "30–45° left, right, up and down"
            )
        if self.rms_px > 1.0:
            out.append(
                f"RMS reprojection error {self.rms_px:.2f} px is high: keep the board flat and still, "
                "well lit, and in focus"
            )
        return out

    def summary(self) -> str:
        """Several human lines: K, distortion, RMS, per-view errors, rejected views, warnings."""
        fx, fy, cx, cy = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2]
        s = self.std_intrinsics
        lines = [
            (f"calibrated from {self.n_views} views at {self.image_size[0]}x{self.image_size[1]}: "
            f"RMS reprojection error {self.rms_px:.3f} px"),
            (f"  fx = {fx:.2f} ± {s[0]:.2f}  fy = {fy:.2f} ± {s[1]:.2f}  "
            f"cx = {cx:.2f} ± {s[2]:.2f}  cy = {cy:.2f} ± {s[3]:.2f}  (px, 1 σ)"),
            "  distortion (k1 k2 p1 p2 k3 …) = " + " ".join(f"{d:+.5f}" for d in self.dist),
            "  per-view RMS (px): "
            + ", ".join(f"{v.label or i}={e:.2f}" for i, (v, e) in enumerate(zip(self.views, self.per_view_rms_px))),
        ]
        if self.rejected:
            lines.append(
                "  dropped as outliers: " + ", ".join(f"{v.label or '?'} ({e:.2f} px)" for v, e in self.rejected)
            )
        lines += [f"  warning: {w}" for w in self.warnings()]
        return "\n".join(lines)


def calibrate(views: list[PatternView], options: SolveOptions | None = None) -> CalibrationResult:
    """Calibrate from ``views`` (all of one image size), rejecting outlier views.

    Raises:
        CalibrationError: fewer than ``options.min_views`` views, mixed image sizes, or a solver
            failure, with what to do about it.
    """
    options = options or SolveOptions()
    if len(views) < options.min_views:
        raise CalibrationError(
            f"only {len(views)} view(s) with the pattern (at least {options.min_views} needed): "
            "capture more views, or check the pattern options (--pattern, --rows, --cols)"
        )
    sizes = sorted({v.image_size for v in views})
    if len(sizes) > 1:
        raise CalibrationError(
            f"the views have different image sizes {sizes}: calibrate one resolution at a time"
        )
    kept = list(views)
    rejected: list[tuple[PatternView, float]] = []
    max_reject = int(options.max_rejected_fraction * len(views))
    while True:
        result = _solve(kept, sizes[0], options)
        per = result.per_view_rms_px
        if len(kept) <= options.min_views or len(rejected) >= max_reject:
            break
        worst = int(np.argmax(per))
        if per[worst] <= max(options.outlier_factor * float(np.median(per)), options.outlier_floor_px):
            break
        rejected.append((kept.pop(worst), float(per[worst])))
    return CalibrationResult(
        result.K, result.dist, result.image_size, result.rms_px, result.per_view_rms_px, kept,
        rejected, result.std_intrinsics, result.rvecs, result.tvecs, options.flags,
    )


def _solve(views: list[PatternView], size: tuple[int, int], options: SolveOptions) -> CalibrationResult:
    obj = [v.object_points.astype(np.float32).reshape(-1, 1, 3) for v in views]
    img = [v.image_points.astype(np.float32).reshape(-1, 1, 2) for v in views]
    K0 = np.eye(3)
    K0[0, 0] = options.aspect_ratio
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    try:
        rms, K, dist, rvecs, tvecs, std_in, _, per_view = cv2.calibrateCameraExtended(
            obj, img, size, K0, None, flags=options.cv_flags, criteria=crit
        )
    except cv2.error as exc:
        msg = str(exc).strip().splitlines()[-1]
        raise CalibrationError(
            f"OpenCV could not calibrate from these {len(views)} views ({msg}): use more views with "
            "the board at different tilts and positions"
        ) from exc
    std = np.asarray(std_in, np.float64).ravel()[:4].copy()
    if options.cv_flags & cv2.CALIB_FIX_ASPECT_RATIO:
        std[0] = std[1] * K[0, 0] / K[1, 1]  # fx follows fy, OpenCV reports 0 for it
    w = size[0]
    if not (np.all(np.isfinite(K)) and 0.05 * w < K[0, 0] < 50 * w and 0.05 * w < K[1, 1] < 50 * w):
        raise CalibrationError(
            f"calibration diverged (fx = {K[0, 0]:.4g} px for a {w} px wide image): use more views "
            "with the board tilted 30–45° in every direction"
        )
    return CalibrationResult(
        K=np.asarray(K, np.float64),
        dist=np.asarray(dist, np.float64).ravel(),
        image_size=size,
        rms_px=float(rms),
        per_view_rms_px=np.asarray(per_view, np.float64).ravel(),
        views=list(views),
        rejected=[],
        std_intrinsics=std,
        rvecs=np.asarray(rvecs, np.float64).reshape(-1, 3),
        tvecs=np.asarray(tvecs, np.float64).reshape(-1, 3),
        flags=options.flags,
    )
