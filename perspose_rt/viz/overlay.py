"""2D overlay with OpenCV: skeleton, box and a HUD (FPS, latency, drops, estimator, recording).

Everything draws in place on a BGR ``uint8`` image and returns it. Bones are coloured by side
(left blue, right red, centre green, as BGR); joints below ``min_conf`` are not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from perspose_rt.metrics.joints import H36M17_NAMES, H36M17_PARENTS, PERSPOSE25_NAMES, SMPL24_PARENTS
from perspose_rt.types import PoseResult

LEFT, RIGHT, CENTRE = (255, 140, 0), (40, 40, 230), (60, 200, 60)

#: joint format → (parents, names)
SKELETONS: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "h36m17": (H36M17_PARENTS, H36M17_NAMES),
    "perspose25": (SMPL24_PARENTS + (0,), PERSPOSE25_NAMES),
}


def skeleton_edges(joint_format: str) -> list[tuple[int, int]]:
    """(parent, child) pairs of a joint format (PersPose-25's H36M pelvis hangs off the SMPL pelvis)."""
    parents, _ = SKELETONS[joint_format]
    return [(p, c) for c, p in enumerate(parents) if p >= 0]


def _side(name: str) -> tuple[int, int, int]:
    n = name.lower()
    if n.startswith(("l", "left")) and not n.startswith("leg"):
        return LEFT
    if n.startswith(("r", "right")):
        return RIGHT
    return CENTRE


def draw_skeleton(image: np.ndarray, joints_2d: np.ndarray, joint_format: str,
                  confidence: np.ndarray | None = None, min_conf: float = 0.3,
                  thickness: int | None = None) -> np.ndarray:
    """Draw bones and joints of one person. ``joints_2d`` (J, 2) in this image's pixels."""
    parents, names = SKELETONS[joint_format]
    h, w = image.shape[:2]
    t = thickness or max(2, round(min(h, w) / 240))
    uv = np.asarray(joints_2d, dtype=np.float64)
    ok = np.all(np.isfinite(uv), axis=1)
    if confidence is not None:
        ok &= np.asarray(confidence) >= min_conf
    pts = np.round(uv).astype(np.int64)
    for c, p in enumerate(parents):
        if p >= 0 and ok[c] and ok[p]:
            cv2.line(image, tuple(map(int, pts[p])), tuple(map(int, pts[c])), _side(names[c]), t, cv2.LINE_AA)
    for j in np.flatnonzero(ok):
        cv2.circle(image, tuple(map(int, pts[j])), t + 1, (255, 255, 255), -1, cv2.LINE_AA)
    return image


def draw_box(image: np.ndarray, bbox_xyxy: np.ndarray, color: tuple[int, int, int] = (0, 220, 220)) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in np.round(np.asarray(bbox_xyxy, dtype=np.float64)))
    cv2.rectangle(image, (x0, y0), (x1, y1), color, 1, cv2.LINE_AA)
    return image


def draw_hud(image: np.ndarray, lines: Sequence[str], origin: tuple[int, int] = (10, 10)) -> np.ndarray:
    """Text lines on a translucent dark panel in the top-left corner."""
    h = image.shape[0]
    scale = max(0.45, h / 1400)
    th = max(1, round(scale * 2))
    sizes = [cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale, th)[0] for s in lines]
    if not sizes:
        return image
    lh = max(s[1] for s in sizes) + int(10 * scale) + 4
    x0, y0 = origin
    x1, y1 = x0 + max(s[0] for s in sizes) + 16, y0 + lh * len(lines) + 8
    roi = image[y0:y1, x0:x1]
    roi[:] = (roi * 0.4).astype(image.dtype)
    for i, s in enumerate(lines):
        cv2.putText(image, s, (x0 + 8, y0 + lh * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), th, cv2.LINE_AA)
    return image


def draw_pose(image: np.ndarray, pose: PoseResult | None, *, show_box: bool = True) -> np.ndarray:
    """Skeleton and box of a result (nothing for an invalid one)."""
    if pose is None or not pose.valid:
        return image
    if show_box:
        draw_box(image, pose.bbox_xyxy)
    return draw_skeleton(image, pose.joints_2d, pose.joint_format, pose.confidence)


def hud_lines(*, fps: float, latency_ms: float, dropped: int, estimator: str, valid: bool,
              recording: bool = False, depth_m: float | None = None, intrinsics: str | None = None) -> list[str]:
    """The standard HUD text (``intrinsics``: where the camera's K came from, e.g. ``calibration``)."""
    lines = [f"{fps:5.1f} fps   latency {latency_ms:5.1f} ms   dropped {dropped}", f"estimator: {estimator}"]
    if intrinsics:
        lines.append(f"intrinsics: {intrinsics}")
    if not valid:
        lines.append("no person")
    elif depth_m is not None:
        lines.append(f"root depth {depth_m:.2f} m")
    if recording:
        lines.append("REC (r: stop)")
    return lines
