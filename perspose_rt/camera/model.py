"""The camera model: intrinsics, lens distortion, resolution, and where they came from."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from perspose_rt.errors import CalibrationError

log = logging.getLogger(__name__)

#: Diagonal of the 36 × 24 mm frame that defines 35 mm-equivalent focal lengths.
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)  # 43.2666 mm
#: Focal length assumed when nothing better is known (the official demo's default).
DEFAULT_F35_MM = 50.0
#: Relative aspect-ratio difference above which a profile is not simply rescaled.
ASPECT_TOLERANCE = 0.01


@dataclass(frozen=True, eq=False)
class CameraModel:
    """Pinhole intrinsics with OpenCV lens distortion.

    Pixel convention: OpenCV's (pixel centres at integer coordinates).

    Attributes:
        K: (3, 3) float64 ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``.
        resolution: ``(width, height)`` in pixels that ``K`` is valid for.
        dist: (N,) OpenCV distortion ``(k1, k2, p1, p2[, k3[, k4, k5, k6[, …]]])``.
        source: where the intrinsics came from, e.g. ``"profile:calib/cam.yaml"``,
            ``"exif:FocalLengthIn35mmFilm=26"``, ``"filename:_26_f35"``, ``"fov:60h"``,
            ``"default:f35=50"``.
        approximate: ``True`` unless the intrinsics were measured by calibration.
        name: a human-readable camera name.
        metadata: free-form facts kept with a profile (RMS, pattern, date, …).
    """

    K: np.ndarray
    resolution: tuple[int, int]
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    source: str = ""
    approximate: bool = False
    name: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        K = np.array(self.K, dtype=np.float64).reshape(3, 3)
        if not np.all(np.isfinite(K)) or K[0, 0] <= 0 or K[1, 1] <= 0:
            raise CalibrationError(f"invalid camera matrix (focal lengths must be positive): {K.tolist()}")
        if not np.allclose(K[2], [0, 0, 1]) or abs(K[1, 0]) > 0 or abs(K[2, 0]) > 0:
            raise CalibrationError(f"camera matrix must be upper triangular with last row [0, 0, 1]: {K.tolist()}")
        dist = np.array(self.dist, dtype=np.float64).ravel()
        if dist.size not in (0, 4, 5, 8, 12, 14) or not np.all(np.isfinite(dist)):
            raise CalibrationError(f"distortion must have 4, 5, 8, 12 or 14 finite OpenCV coefficients, got {dist.tolist()}")
        w, h = (int(v) for v in self.resolution)
        if w <= 0 or h <= 0:
            raise CalibrationError(f"invalid resolution {self.resolution}")
        K.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "dist", dist if dist.size else np.zeros(5))
        object.__setattr__(self, "resolution", (w, h))

    # -- accessors -------------------------------------------------------------------------
    fx = property(lambda self: float(self.K[0, 0]))
    fy = property(lambda self: float(self.K[1, 1]))
    cx = property(lambda self: float(self.K[0, 2]))
    cy = property(lambda self: float(self.K[1, 2]))
    width = property(lambda self: self.resolution[0])
    height = property(lambda self: self.resolution[1])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0))

    def fov_deg(self) -> tuple[float, float, float]:
        """Horizontal, vertical and diagonal field of view in degrees (pinhole, centred)."""
        w, h = self.resolution
        hf = 2 * math.degrees(math.atan(w / (2 * self.fx)))
        vf = 2 * math.degrees(math.atan(h / (2 * self.fy)))
        f = (self.fx + self.fy) / 2
        df = 2 * math.degrees(math.atan(math.hypot(w, h) / (2 * f)))
        return hf, vf, df

    def describe(self) -> str:
        hf, vf, df = self.fov_deg()
        approx = " (approximate)" if self.approximate else ""
        return (f"{self.width}x{self.height} fx={self.fx:.1f} fy={self.fy:.1f} cx={self.cx:.1f} cy={self.cy:.1f} "
                f"FOV {hf:.1f}°h/{vf:.1f}°v/{df:.1f}°d, from {self.source}{approx}")

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_focal_px(cls, f_px: float, resolution: tuple[int, int], *, source: str,
                      approximate: bool = True, name: str = "") -> CameraModel:
        """Square pixels, principal point at the image centre ``((w−1)/2, (h−1)/2)``."""
        w, h = resolution
        K = np.array([[f_px, 0.0, (w - 1) / 2.0], [0.0, f_px, (h - 1) / 2.0], [0.0, 0.0, 1.0]])
        return cls(K=K, resolution=(w, h), source=source, approximate=approximate, name=name)

    @classmethod
    def from_f35(cls, f35_mm: float, resolution: tuple[int, int], *, source: str | None = None) -> CameraModel:
        """From a 35 mm-equivalent focal length, defined on the frame **diagonal** (43.27 mm).

        ``f_px = f35 · diag_px / 43.27``, the same for landscape and portrait images (the
        official demo uses the image width, which is wrong for portrait photos).
        """
        if not f35_mm > 0:
            raise CalibrationError(f"35 mm-equivalent focal length must be positive, got {f35_mm}")
        w, h = resolution
        f_px = f35_mm * math.hypot(w, h) / FULL_FRAME_DIAGONAL_MM
        return cls.from_focal_px(f_px, resolution, source=source or f"f35:{f35_mm:g}mm")

    @classmethod
    def from_fov(cls, fov_deg: float, resolution: tuple[int, int], diagonal: bool = False) -> CameraModel:
        """From a horizontal (default) or diagonal field of view in degrees (0 < FOV < 180)."""
        if not 0 < fov_deg < 180:
            raise CalibrationError(f"field of view must be between 0 and 180 degrees, got {fov_deg}")
        w, h = resolution
        extent = math.hypot(w, h) if diagonal else w
        f_px = extent / 2.0 / math.tan(math.radians(fov_deg) / 2.0)
        return cls.from_focal_px(f_px, resolution, source=f"fov:{fov_deg:g}{'d' if diagonal else 'h'}")

    @classmethod
    def default(cls, resolution: tuple[int, int], warn: bool = True) -> CameraModel:
        """A 35 mm-equivalent 50 mm lens (≈ 47° diagonal FOV), with a warning on how to do better."""
        if warn:
            log.warning(
                "no camera intrinsics given: assuming a 35 mm-equivalent focal length of %g mm; "
                "depth and scale may be off. Calibrate with `perspose-rt calibrate`, or pass "
                "--calib PROFILE, --fov DEGREES or --f35 MM.", DEFAULT_F35_MM)
        return cls.from_f35(DEFAULT_F35_MM, resolution, source=f"default:f35={DEFAULT_F35_MM:g}")

    # -- resolution changes ----------------------------------------------------------------
    def scaled_to(self, width: int, height: int, force: bool = False) -> CameraModel:
        """The same camera at another resolution of the same aspect ratio.

        With pixel centres at integers, ``u' = (u + 0.5)·s − 0.5``, so the focal lengths scale by
        ``s`` and ``c' = (c + 0.5)·s − 0.5``. Distortion (in normalised coordinates) is unchanged.

        Raises:
            CalibrationError: when the aspect ratio differs by more than 1 % and ``force`` is
            False (a different aspect ratio usually means a sensor crop, not a scaling).
        """
        w0, h0 = self.resolution
        if (width, height) == (w0, h0):
            return self
        sx, sy = width / w0, height / h0
        if abs(sx / sy - 1.0) > ASPECT_TOLERANCE and not force:
            raise CalibrationError(
                f"camera '{self.name or self.source}' was calibrated at {w0}x{h0} but the stream is "
                f"{width}x{height} (another aspect ratio): calibrate at this resolution, or force the "
                "rescaling (--force-aspect) if you know the sensor is not cropped")
        K = self.K.copy()
        K[0, :] *= sx
        K[1, :] *= sy
        K[2, 2] = 1.0
        K[0, 2] = (self.cx + 0.5) * sx - 0.5
        K[1, 2] = (self.cy + 0.5) * sy - 0.5
        return replace(self, K=K, resolution=(width, height),
                       source=f"{self.source} (scaled from {w0}x{h0})")

    # -- projection and distortion ---------------------------------------------------------
    def project(self, X: np.ndarray) -> np.ndarray:
        """Project camera-frame points (..., 3) with lens distortion → pixels (..., 2)."""
        X = np.asarray(X, dtype=np.float64)
        flat = X.reshape(-1, 1, 3)
        uv, _ = cv2.projectPoints(flat, np.zeros(3), np.zeros(3), self.K, self.dist)
        return uv.reshape(*X.shape[:-1], 2)

    def undistort_points(self, uv: np.ndarray) -> np.ndarray:
        """Distorted pixels (..., 2) → the pixels an ideal pinhole with the same K would see."""
        uv = np.asarray(uv, dtype=np.float64)
        if not self.has_distortion or uv.size == 0:
            return uv.copy()
        out = cv2.undistortPointsIter(uv.reshape(-1, 1, 2), self.K, self.dist, None, self.K,
                                      (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-10))
        return out.reshape(uv.shape)

    def undistort_image(self, image: np.ndarray) -> np.ndarray:
        """Undistort a whole image (same K, same size).

        The remap tables are computed on the first call and kept with this (immutable) model, so
        undistorting every frame of a stream costs one ``cv2.remap`` per frame.
        """
        if not self.has_distortion:
            return image
        undistorter = self.__dict__.get("_undistorter")
        if undistorter is None:
            undistorter = Undistorter(self)
            object.__setattr__(self, "_undistorter", undistorter)
        return undistorter(image)


class Undistorter:
    """Undistorts many frames of one camera with remap tables computed once."""

    def __init__(self, camera: CameraModel) -> None:
        self.camera = camera
        self._maps = None
        if camera.has_distortion:
            self._maps = cv2.initUndistortRectifyMap(camera.K, camera.dist, None, camera.K,
                                                     camera.resolution, cv2.CV_16SC2)

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if self._maps is None:
            return image
        h, w = image.shape[:2]
        if (w, h) != self.camera.resolution:
            raise CalibrationError(f"frame is {w}x{h} but the camera model is {self.camera.width}x{self.camera.height}")
        return cv2.remap(image, self._maps[0], self._maps[1], cv2.INTER_LINEAR)
