"""The PersPose image network as one pipeline stage: track → PR warp + PE → network → 3D.

Per frame:

1. **Boxes.** Each tracked person's box comes from their previous frame's 2D joints; the detector
   (MediaPipe's person box) runs only when nobody is tracked (first frame, people lost), and every
   ``redetect_every`` frames while fewer than ``max_people`` are, to find newcomers. The tracker
   (Hungarian assignment, :mod:`perspose_rt.pipeline.tracking`) keeps each person's identity. The
   box is scaled ×1.2 about its centre, as the official demo does.
2. **Preprocess.** :func:`perspose_rt.geometry.prepare_crop` gives, for all boxes at once, the
   single fused homography (PR rotation + symmetric crop + focal equalisation), ``K_crop`` and a
   validity mask (a bad box loses only its own person); the frame is warped once per person
   (``cv2.warpPerspective`` on the CPU; on CUDA the frame is uploaded once and warped with
   ``grid_sample``) and ImageNet-normalised. Frames with lens distortion are undistorted first.
3. **Network** on all the people's crops as one batch, through the backend interface (torch,
   onnxruntime or tensorrt); the Perspective
   Encoding map is computed from ``K_crop`` inside the network.
4. **Postprocess.** ``xyz + xyz0`` is the absolute 3D pose in the PR-rotated camera;
   ``Rᵀ`` returns it to the real camera; the 2D joints are its projection with the real lens.
   The stored box is in the frame's own pixels (as seen, with the lens's distortion).

The SMPL outputs (``beta``, ortho-``twist`` rotated back to the real camera, ``leaf_rot``) go to
``pose.extras`` for the SMPL IK stage. The network gives no per-joint confidence, so ``confidence`` is 1 for every joint of a valid
frame. The track is dropped (and the detector runs on the next frame) when fewer than half of
the projected joints fall inside the image or the joint box collapses below ``min_box_px``.
"""

from __future__ import annotations

import time

import numpy as np

from perspose_rt.geometry import (
    normalize_crop,
    prepare_box_crop,
    prepare_crop,
    project_points,
    to_original_camera,
    warp_crop,
)
from perspose_rt.metrics.joints import PERSPOSE25_NAMES
from perspose_rt.pipeline.post import ROOT
from perspose_rt.types import Person, PoseResult

JOINT_FORMAT = "perspose25"
NUM_JOINTS = len(PERSPOSE25_NAMES)
BOX_PAD = 1.2  # the official demo's detector-box scaling (design doc §4)


def undistorted_box(camera, box: np.ndarray) -> np.ndarray:
    """The box in the undistorted image of a box seen in the (distorted) frame.

    Lens distortion bends the box's edges, so the corners and edge midpoints are undistorted and
    their bounds taken. Without distortion the box is returned unchanged.
    """
    if not camera.has_distortion:
        return box
    x0, y0, x1, y1 = box
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    edge = np.array([[x0, y0], [xm, y0], [x1, y0], [x1, ym], [x1, y1], [xm, y1], [x0, y1], [x0, ym]])
    u = camera.undistort_points(edge)
    return np.r_[u.min(0), u.max(0)]


def box_from_joints(uv: np.ndarray, margin: float = 0.1) -> np.ndarray:
    """Tight box of 2D joints grown by ``margin`` of its size on each side (joints lie inside the body)."""
    lo, hi = uv.min(0), uv.max(0)
    size = np.maximum(hi - lo, 1.0)
    return np.r_[lo - margin * size, hi + margin * size]


def distorted_box(camera, box: np.ndarray) -> np.ndarray:
    """The box in the (distorted) frame of a box in the undistorted image (inverse of
    :func:`undistorted_box`): its corners and edge midpoints seen through the lens, bounded.
    Without distortion the box is returned unchanged."""
    if not camera.has_distortion:
        return np.asarray(box, dtype=np.float64)
    x0, y0, x1, y1 = box
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    edge = np.array([[x0, y0], [xm, y0], [x1, y0], [x1, ym], [x1, y1], [xm, y1], [x0, y1], [x0, ym]])
    rays = np.c_[edge, np.ones(len(edge))] @ np.linalg.inv(np.asarray(camera.K, dtype=np.float64)).T
    uv = camera.project(rays)
    return np.r_[uv.min(0), uv.max(0)]


class PersPoseStage:
    """Track, crop, run the network on every person's crop in one batch, and lift to the camera.

    It owns the tracker (:class:`~perspose_rt.pipeline.tracking.Tracker`) and the people's
    :class:`~perspose_rt.pipeline.people.PersonState`: a person's box for the next frame is the
    projection of their 3D joints (``state.next_box``); the detector runs when no person is
    tracked, and every ``redetect_every`` frames while fewer than ``max_people`` are (to find
    people who walked in). Detections that overlap a tracked box are left to the track.

    Args:
        backend: a :class:`perspose_rt.backends.base.Backend`.
        detector: a :class:`~perspose_rt.types.Detector` (person boxes; ``close()`` at the end),
            e.g. :class:`perspose_rt.detect.BlazePoseDetector`; its ``max_people`` is the
            stage's.
        warp: ``"cv2"``, ``"torch"`` (``grid_sample`` on ``device``) or ``"auto"`` (torch on CUDA).
        device: device of the torch warp (the backend's device for ``"auto"``).
        track: use the previous frame's joints for the next box (False: detector every frame,
            each frame's people numbered from 0: photos).
        min_box_px: a joint box smaller than this (longer side, pixels) ends the track.
        redetect_every: frames between detector runs while fewer than ``max_people`` are tracked.
    """

    name = "perspose"

    def __init__(self, backend, detector, *, warp: str = "auto", device: str | None = None,
                 track: bool = True, min_box_px: float = 16.0, redetect_every: int = 10) -> None:
        from perspose_rt.pipeline.tracking import Tracker, TrackerSettings

        self.backend = backend
        self.detector = detector
        self.size = int(backend.config.input_size)
        self.pr = bool(backend.config.pr)  # weights trained without PR are given box crops
        dev = device or str(getattr(backend, "device", "cpu"))
        if warp == "auto":
            warp = "torch" if dev.startswith("cuda") else "cv2"
        if warp not in ("cv2", "torch"):
            raise ValueError(f"warp must be 'cv2', 'torch' or 'auto', not {warp!r}")
        self.warp, self.device = warp, dev
        self.track = track
        self.min_box_px = float(min_box_px)
        self.max_people = int(getattr(detector, "max_people", 1))
        self.redetect_every = int(redetect_every)
        self.tracker = Tracker(TrackerSettings(max_people=self.max_people, birth_hits=1))
        self._since_detect = 0
        self.detector_runs = 0

    # ------------------------------------------------------------------ steps
    def _candidates(self, p) -> tuple[list, list]:
        """Boxes to crop this frame (undistorted pixels): the tracked ones, then new detections."""
        from perspose_rt.pipeline.tracking import Candidate, box_iou

        own = [t for t in self.tracker.tracks if t.confirmed and t.next_box is not None] if self.track else []
        cands = [Candidate(t.next_box) for t in own]
        dets: list = [None] * len(cands)
        self._since_detect += 1
        if not own or (len(own) < self.max_people and self._since_detect >= self.redetect_every):
            t0 = time.perf_counter()
            found = self.detector.detect(p.frame.image, p.frame.timestamp)
            p.timings["detect"] = (time.perf_counter() - t0) * 1000.0
            self.detector_runs += 1
            self._since_detect = 0
            for d in found:
                # the crop is cut from the undistorted frame: its box must be in those pixels too
                box = undistorted_box(p.frame.camera, np.asarray(d.bbox_xyxy, dtype=np.float64))
                if own and box_iou(box[None], np.stack([t.next_box for t in own])).max() > 0.3:
                    continue  # already tracked
                cands.append(Candidate(box))
                dets.append(d)
        return cands, dets

    def _crops(self, image: np.ndarray, H: np.ndarray):
        if self.warp == "cv2":
            return np.stack([normalize_crop(warp_crop(image, h, self.size)) for h in H])
        import torch

        from perspose_rt.geometry import normalize_crop_torch, warp_crop_torch

        img = torch.from_numpy(image).to(self.device, non_blocking=True)
        img = img.permute(2, 0, 1)[None].float().expand(len(H), -1, -1, -1)
        Ht = torch.as_tensor(np.asarray(H), dtype=torch.float32, device=self.device)
        return normalize_crop_torch(warp_crop_torch(img, Ht, self.size))

    def __call__(self, p):
        frame = p.frame
        cam = frame.camera
        K = np.asarray(cam.K, dtype=np.float64)
        if not self.track:
            self.tracker.reset()
        cands, dets = self._candidates(p)
        for t in self.tracker.tracks:
            t.next_box = None  # set again below for the people whose pose comes out well
        assigned = self.tracker.update(frame.index, cands)
        people = [(c, d, *a) for c, d, a in zip(cands, dets, assigned, strict=True) if a is not None]
        p.people, p.states = [], {}
        if not people:
            return p
        t0 = time.perf_counter()
        boxes = np.stack([c.box for c, *_ in people])
        crop = prepare_crop if self.pr else prepare_box_crop
        geom = crop(np.broadcast_to(K, (len(boxes), 3, 3)), boxes, out_size=self.size, pad=BOX_PAD)
        ok_crop = np.asarray(geom.valid)
        for (_, _, state, _), ok in zip(people, ok_crop, strict=True):
            state.interrupted = not ok  # degenerate or > 180° box: no pose, detector next frame
        if not ok_crop.any():
            return p
        image = cam.undistort_image(frame.image) if cam.has_distortion else frame.image
        x = self._crops(image, geom.H[ok_crop])
        t1 = time.perf_counter()
        K_crop = np.ascontiguousarray(geom.K_crop[ok_crop], dtype=np.float32)
        if self.warp == "torch":
            import torch

            K_crop = torch.as_tensor(K_crop, device=self.device)
        out = self.backend.infer(x, K_crop)
        t2 = time.perf_counter()
        for b, i in enumerate(np.flatnonzero(ok_crop)):
            cand, det, state, new_segment = people[i]
            person = self._person(out, b, geom.R[i], cand.box, det, frame)
            if person is None:
                state.interrupted = True
                continue
            person.track_id, person.new_segment = state.track_id, new_segment
            state.next_box = self._next_box(project_points(person.pose.joints_cam, K), frame.image.shape)
            p.people.append(person)
            p.states[state.track_id] = state
        p.timings.update(warp=(t1 - t0) * 1000.0, infer=(t2 - t1) * 1000.0,
                         post=(time.perf_counter() - t2) * 1000.0)
        return p

    def _person(self, out, b: int, R: np.ndarray, box: np.ndarray, det, frame) -> Person | None:
        """Sample ``b`` of the network's output → a :class:`Person` with a valid pose, or ``None``."""
        cam = frame.camera
        xyz = np.asarray(out.xyz[b], dtype=np.float64) + np.asarray(out.xyz0[b], dtype=np.float64)
        joints = to_original_camera(xyz, R)
        if not (np.all(np.isfinite(joints)) and np.all(joints[:, 2] > 0)):
            return None
        pose = PoseResult(
            frame_index=frame.index, timestamp=frame.timestamp, valid=True, joint_format=JOINT_FORMAT,
            # stored in the frame's own pixels (as seen), like every box of the result file
            bbox_xyxy=distorted_box(cam, box), K=np.asarray(cam.K, dtype=np.float64),
            joints_2d=cam.project(joints), joints_cam=joints, joints_rel=joints - joints[ROOT],
            confidence=np.ones(NUM_JOINTS),
            extras={"beta": np.asarray(out.beta[b], dtype=np.float64),
                    # twist directions live in the PR-rotated frame like the joints: rotate them back
                    "twist": to_original_camera(np.asarray(out.twist[b], dtype=np.float64), R),
                    "leaf_rot": np.asarray(out.leaf_rot[b], dtype=np.float64)})
        return Person(detection=det, pose=pose)

    def _next_box(self, uv: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
        h, w = shape[:2]
        inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h)
        box = box_from_joints(uv)
        if inside.mean() < 0.5 or max(box[2] - box[0], box[3] - box[1]) < self.min_box_px:
            return None
        return box

    def close(self) -> None:
        close = getattr(self.detector, "close", None)
        if close is not None:
            close()
        self.backend.close()
