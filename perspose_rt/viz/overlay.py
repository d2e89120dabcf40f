"""2D overlay with OpenCV: skeleton, box and a HUD (FPS, latency, drops, estimator, recording).

Everything draws in place on a BGR ``uint8`` image and returns it. Bones are coloured by side
(left blue, right red, centre green, as BGR); joints below ``min_conf`` (not seen) are grey. With
several people (:func:`draw_people`) each track has its own colour (:func:`track_color`) for its
box, joint dots and ID label.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from perspose_rt.metrics.joints import H36M17_NAMES, H36M17_PARENTS, PERSPOSE25_NAMES, SMPL24_PARENTS
from perspose_rt.types import SEEN_CONF, Person, PoseResult

LEFT, RIGHT, CENTRE = (255, 140, 0), (40, 40, 230), (60, 200, 60)
#: joints the camera did not see, and their bones (BGR)
UNSEEN = (150, 150, 150)

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
                  confidence: np.ndarray | None = None, min_conf: float = SEEN_CONF,
                  thickness: int | None = None) -> np.ndarray:
    """Draw bones and joints of one person. ``joints_2d`` (J, 2) in this image's pixels.

    Joints whose confidence is below ``min_conf`` were not seen (the estimator placed them):
    they and their bones are drawn grey and thin."""
    parents, names = SKELETONS[joint_format]
    h, w = image.shape[:2]
    t = thickness or max(2, round(min(h, w) / 240))
    uv = np.asarray(joints_2d, dtype=np.float64)
    finite = np.all(np.isfinite(uv), axis=1)
    seen = finite.copy()
    if confidence is not None:
        seen &= np.asarray(confidence) >= min_conf
    pts = np.round(np.where(finite[:, None], uv, 0)).astype(np.int64)
    for c, p in enumerate(parents):
        if p >= 0 and finite[c] and finite[p]:
            both = seen[c] and seen[p]
            cv2.line(image, tuple(map(int, pts[p])), tuple(map(int, pts[c])),
                     _side(names[c]) if both else UNSEEN, t if both else max(1, t // 2), cv2.LINE_AA)
    for j in np.flatnonzero(finite):
        cv2.circle(image, tuple(map(int, pts[j])), t + 1 if seen[j] else t,
                   (255, 255, 255) if seen[j] else UNSEEN, -1, cv2.LINE_AA)
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


#: Track colours (BGR), chosen to stay distinct from each other and from the side colours.
TRACK_COLORS = ((0, 220, 220), (220, 80, 220), (80, 220, 120), (0, 150, 255), (255, 200, 80),
                (160, 120, 255), (200, 255, 0), (120, 180, 255), (255, 120, 160), (180, 180, 180))


def track_color(track_id: int) -> tuple[int, int, int]:
    """The colour of a track (cycles through :data:`TRACK_COLORS`)."""
    return TRACK_COLORS[int(track_id) % len(TRACK_COLORS)]


def pose_points_2d(pose: PoseResult) -> np.ndarray:
    """The 2D joints that match the 3D joints shown: the projection of the final (smoothed,
    rigid) 3D pose when the pipeline computed it, else the estimator's own 2D joints."""
    proj = getattr(pose, "joints_2d_proj", None)
    return pose.joints_2d if proj is None else proj


def draw_pose(image: np.ndarray, pose: PoseResult | None, *, show_box: bool = True,
              color: tuple[int, int, int] | None = None, label: str | None = None) -> np.ndarray:
    """Skeleton and box of a result (nothing for an invalid one); ``label`` above the box."""
    if pose is None or not pose.valid:
        return image
    c = color or (0, 220, 220)
    if show_box:
        draw_box(image, pose.bbox_xyxy, c)
    if label:
        scale = max(0.45, image.shape[0] / 1400)
        x0, y0 = (int(v) for v in np.round(np.asarray(pose.bbox_xyxy[:2], dtype=np.float64)))
        cv2.putText(image, label, (x0 + 2, max(y0 - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX, scale, c,
                    max(1, round(scale * 2)), cv2.LINE_AA)
    return draw_skeleton(image, pose_points_2d(pose), pose.joint_format, pose.confidence)


def draw_people(image: np.ndarray, people: Sequence[Person], *, show_box: bool = True,
                show_ids: bool = True) -> np.ndarray:
    """Every person of a frame, each track in its own colour with its ID."""
    for person in people:
        draw_pose(image, person.pose, show_box=show_box, color=track_color(person.track_id),
                  label=f"ID {person.track_id}" if show_ids else None)
    return image


def hud_lines(*, fps: float, latency_ms: float, dropped: int, estimator: str, valid: bool,
              recording: bool = False, depth_m: float | None = None, people: int | None = None,
              intrinsics: str | None = None) -> list[str]:
    """The standard HUD text (``people``: how many are tracked, shown when more than one;
    ``intrinsics``: where the camera's K came from, e.g. ``calibration``)."""
    lines = [f"{fps:5.1f} fps   latency {latency_ms:5.1f} ms   dropped {dropped}", f"estimator: {estimator}"]
    if intrinsics:
        lines.append(f"intrinsics: {intrinsics}")
    if not valid:
        lines.append("no person")
    elif people is not None and people > 1:
        lines.append(f"{people} people")
    elif depth_m is not None:
        lines.append(f"root depth {depth_m:.2f} m")
    if recording:
        lines.append("REC (r: stop)")
    return lines
