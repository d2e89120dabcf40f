"""Render a calibration board through a known camera (pinhole + OpenCV distortion).

Used to check the whole calibration chain against ground truth: a printed pattern
(:meth:`PatternSpec.render`) is seen by a camera with intrinsics ``K`` and distortion ``dist``
from a pose ``(rvec, tvec)`` (board mm → camera mm, as ``cv2.projectPoints`` takes it).

Rendering is exact inverse mapping: every output pixel (supersampled) is undistorted to its
ray, the ray is intersected with the board plane, and the board texture is sampled there. So a
board point ``X`` appears where ``cv2.projectPoints(X, rvec, tvec, K, dist)`` says it does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from perspose_rt.calib.patterns import BoardImage, PatternSpec


def board_pose(
    spec: PatternSpec,
    yaw_deg: float = 0.0,
    pitch_deg: float = 0.0,
    roll_deg: float = 0.0,
    distance_mm: float = 600.0,
    offset_mm: tuple[float, float] = (0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Pose ``(rvec (3,), tvec (3,))`` putting the board's centre at ``(offset, distance)`` mm.

    The board is first turned by ``roll`` about its normal, then ``pitch`` about the camera's
    x axis and ``yaw`` about its y axis. Zero angles: board parallel to the image plane.
    """
    obj = spec.object_points().astype(np.float64)
    centre = (obj.min(0) + obj.max(0)) / 2
    rz, _ = cv2.Rodrigues(np.array([0.0, 0.0, np.deg2rad(roll_deg)]))
    rx, _ = cv2.Rodrigues(np.array([np.deg2rad(pitch_deg), 0.0, 0.0]))
    ry, _ = cv2.Rodrigues(np.array([0.0, np.deg2rad(yaw_deg), 0.0]))
    R = ry @ rx @ rz
    t = np.array([offset_mm[0], offset_mm[1], distance_mm]) - R @ centre
    return cv2.Rodrigues(R)[0].reshape(3), t


@dataclass
class SyntheticCamera:
    """A camera that renders boards. ``K`` (3, 3), ``dist`` (N,) OpenCV order, ``image_size`` (w, h)."""

    K: np.ndarray
    dist: np.ndarray
    image_size: tuple[int, int]
    supersample: int = 2
    _rays: np.ndarray | None = field(default=None, repr=False)

    def rays(self) -> np.ndarray:
        """``(H·S, W·S, 2)`` normalised undistorted coordinates of the supersampled pixel centres."""
        if self._rays is None:
            w, h = self.image_size
            s = self.supersample
            us = (np.arange(w * s) + 0.5) / s - 0.5
            vs = (np.arange(h * s) + 0.5) / s - 0.5
            grid = np.stack(np.meshgrid(us, vs), -1).reshape(-1, 1, 2)
            crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12)
            norm = cv2.undistortPointsIter(
                grid, np.asarray(self.K, np.float64), np.asarray(self.dist, np.float64), None, None, crit
            )
            self._rays = norm.reshape(h * s, w * s, 2)
        return self._rays

    def project(self, object_points: np.ndarray, rvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
        """``(N, 3)`` board mm → ``(N, 2)`` pixels (with distortion)."""
        uv, _ = cv2.projectPoints(
            np.asarray(object_points, np.float64).reshape(-1, 1, 3),
            np.asarray(rvec, np.float64),
            np.asarray(tvec, np.float64),
            np.asarray(self.K, np.float64),
            np.asarray(self.dist, np.float64),
        )
        return uv.reshape(-1, 2)

    def render(
        self,
        board: BoardImage,
        rvec: np.ndarray,
        tvec: np.ndarray,
        *,
        background: int = 170,
        blur_sigma: float = 0.0,
        noise_sigma: float = 0.0,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """The board seen from ``(rvec, tvec)``: ``(H, W)`` uint8, optional blur and Gaussian noise."""
        R, _ = cv2.Rodrigues(np.asarray(rvec, np.float64))
        plane = np.column_stack([R[:, 0], R[:, 1], np.asarray(tvec, np.float64).reshape(3)])
        inv = np.linalg.inv(plane)
        rays = self.rays()
        hom = rays[..., 0:1] * inv[:, 0] + rays[..., 1:2] * inv[:, 1] + inv[:, 2]
        w = hom[..., 2]
        in_front = w > 1e-12
        w = np.where(in_front, w, 1.0)
        xy = hom[..., :2] / w[..., None]
        tex = board.to_pixels(xy).astype(np.float32)
        tex[~in_front] = -1e6
        hi = cv2.remap(
            board.image,
            tex[..., 0],
            tex[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=int(background),
        )
        img = cv2.resize(hi, self.image_size, interpolation=cv2.INTER_AREA).astype(np.float32)
        if blur_sigma > 0:
            img = cv2.GaussianBlur(img, (0, 0), blur_sigma)
        if noise_sigma > 0:
            rng = rng or np.random.default_rng(0)
            img += rng.normal(0.0, noise_sigma, img.shape).astype(np.float32)
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def demo_poses(
    spec: PatternSpec,
    n: int = 12,
    K: np.ndarray | None = None,
    image_size: tuple[int, int] = (640, 480),
    *,
    fill: float = 0.5,
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` varied board poses, as a careful user would hold the board for calibration.

    Tilts cycle through frontal, ±30° about each axis and the four diagonals (with some jitter
    and a random roll); positions cycle over a 3 × 3 grid of the image. The distance makes the
    board about ``fill`` of the image width, and each pose is pulled towards the centre until
    the whole board (with its quiet zone) lies inside the image of ``K`` (default: 60°
    horizontal field of view).
    """
    rng = np.random.default_rng(seed)
    w, h = image_size
    if K is None:
        f = w / 2 / np.tan(np.radians(30))
        K = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]])
    K = np.asarray(K, np.float64)
    bw, bh = spec.board_size_mm()
    ox, oy = spec.board_origin_mm()
    margin = spec.square_mm / 2
    outline = np.array([[-ox - margin, -oy - margin], [bw - ox + margin, -oy - margin],
                        [bw - ox + margin, bh - oy + margin], [-ox - margin, bh - oy + margin]])
    outline = np.column_stack([outline, np.zeros(4)])
    d0 = K[0, 0] * max(bw, bh) / (fill * w)
    tilts = [(0, 0), (30, 0), (-30, 0), (0, 30), (0, -30), (25, 25), (-25, 25), (25, -25), (-25, -25)]
    cells = [(-1, -1), (0, 0), (1, 1), (1, -1), (-1, 1), (0, -1), (0, 1), (-1, 0), (1, 0)]
    poses = []
    for i in range(n):
        yaw, pitch = tilts[i % len(tilts)]
        yaw += rng.uniform(-6, 6)
        pitch += rng.uniform(-6, 6)
        roll = rng.uniform(-20, 20)
        d = d0 * rng.uniform(0.9, 1.1)
        cx, cy = cells[(i + i // len(cells)) % len(cells)]
        target = np.array([cx * 0.5 * w / 2, cy * 0.5 * h / 2]) / K[0, 0] * d  # mm at distance d
        for _ in range(30):
            rvec, tvec = board_pose(spec, yaw, pitch, roll, d, (float(target[0]), float(target[1])))
            R = cv2.Rodrigues(rvec)[0]
            X = outline @ R.T + tvec
            uv = X[:, :2] / X[:, 2:] * K[0, 0] + K[:2, 2]
            if np.all(uv > 0.02 * np.array([w, h])) and np.all(uv < 0.98 * np.array([w, h])):
                break
            target *= 0.8
            d *= 1.03
        poses.append((rvec, tvec))
    return poses


def render_views(
    spec: PatternSpec,
    camera: SyntheticCamera,
    n: int = 12,
    *,
    seed: int = 0,
    noise_sigma: float = 2.0,
    blur_sigma: float = 0.6,
    px_per_mm: float = 4.0,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``n`` rendered views ``(image (H, W) uint8, rvec, tvec)`` of ``spec`` from :func:`demo_poses`."""
    board = spec.render(px_per_mm, margin_mm=spec.square_mm / 2)
    rng = np.random.default_rng(seed)
    out = []
    for rvec, tvec in demo_poses(spec, n, camera.K, camera.image_size, seed=seed):
        img = camera.render(board, rvec, tvec, blur_sigma=blur_sigma, noise_sigma=noise_sigma, rng=rng)
        out.append((img, rvec, tvec))
    return out
