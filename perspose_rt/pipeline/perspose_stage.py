"""The PersPose image network as one pipeline stage: track → PR warp + PE → network → 3D.

Per frame:

1. **Box.** The box comes from the previous frame's 2D joints (the tracker); only when there is
   no track (first frame, person lost) does the detector run (MediaPipe's person box) to
   (re)acquire the person. The box is scaled ×1.2 about its centre, as the official demo does.
2. **Preprocess.** :func:`perspose_rt.geometry.prepare_crop` gives the single fused homography
   (PR rotation + symmetric crop + focal equalisation) and ``K_crop``; the frame is warped once
   (``cv2.warpPerspective`` on the CPU; on CUDA the frame is uploaded once and warped with
   ``grid_sample``) and ImageNet-normalised. Frames with lens distortion are undistorted first.
3. **Network** through the backend interface (torch, onnxruntime or tensorrt); the Perspective
   Encoding map is computed from ``K_crop`` inside the network.
4. **Postprocess.** ``xyz + xyz0`` is the absolute 3D pose in the PR-rotated camera;
   ``Rᵀ`` returns it to the real camera; the 2D joints are its projection with the real lens.

The SMPL outputs (``beta``, ortho-``twist`` rotated back to the real camera, ``leaf_rot``) go to
``pose.extras`` for the SMPL IK stage. The network gives no per-joint confidence, so ``confidence`` is 1 for every joint of a valid
frame. The track is dropped (and the detector runs on the next frame) when fewer than half of
the projected joints fall inside the image or the joint box collapses below ``min_box_px``.
"""

from __future__ import annotations

import time

import numpy as np

from perspose_rt.geometry import normalize_crop, prepare_crop, project_points, to_original_camera, warp_crop
from perspose_rt.metrics.joints import PERSPOSE25_NAMES
from perspose_rt.pipeline.post import ROOT, invalid_pose
from perspose_rt.pipeline.runner import Packet
from perspose_rt.types import PoseResult

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


class PersPoseStage:
    """Track, crop, run the network and lift to the camera frame.

    Args:
        backend: a :class:`perspose_rt.backends.base.Backend`.
        detector: an object with ``detect(bgr) -> Detection | None`` (re-acquisition), e.g.
            :class:`perspose_rt.detect.BlazePoseDetector`; ``close()`` is called at the end.
        warp: ``"cv2"``, ``"torch"`` (``grid_sample`` on ``device``) or ``"auto"`` (torch on CUDA).
        device: device of the torch warp (the backend's device for ``"auto"``).
        track: use the previous frame's joints for the next box (False: detector every frame).
        min_box_px: a joint box smaller than this (longer side, pixels) ends the track.
    """

    name = "perspose"

    def __init__(self, backend, detector, *, warp: str = "auto", device: str | None = None,
                 track: bool = True, min_box_px: float = 16.0) -> None:
        self.backend = backend
        self.detector = detector
        self.size = int(backend.config.input_size)
        dev = device or str(getattr(backend, "device", "cpu"))
        if warp == "auto":
            warp = "torch" if dev.startswith("cuda") else "cv2"
        if warp not in ("cv2", "torch"):
            raise ValueError(f"warp must be 'cv2', 'torch' or 'auto', not {warp!r}")
        self.warp, self.device = warp, dev
        self.track = track
        self.min_box_px = float(min_box_px)
        self._box: np.ndarray | None = None
        self.detector_runs = 0

    # ------------------------------------------------------------------ steps
    def _acquire(self, p: Packet) -> np.ndarray | None:
        t0 = time.perf_counter()
        det = self.detector.detect(p.frame.image)
        p.timings["detect"] = (time.perf_counter() - t0) * 1000.0
        self.detector_runs += 1
        p.detection = det
        if det is None:
            return None
        # the crop is cut from the undistorted frame: its box must be in those pixels too
        return undistorted_box(p.frame.camera, np.asarray(det.bbox_xyxy, dtype=np.float64))

    def _crop(self, image: np.ndarray, H: np.ndarray):
        if self.warp == "cv2":
            return normalize_crop(warp_crop(image, H, self.size))[None], np.asarray(H)[None]
        import torch

        from perspose_rt.geometry import normalize_crop_torch, warp_crop_torch

        img = torch.from_numpy(image).to(self.device, non_blocking=True)
        img = img.permute(2, 0, 1)[None].float()
        Ht = torch.as_tensor(H, dtype=torch.float32, device=self.device)[None]
        return normalize_crop_torch(warp_crop_torch(img, Ht, self.size)), Ht

    def __call__(self, p: Packet) -> Packet:
        frame = p.frame
        cam = frame.camera
        K = np.asarray(cam.K, dtype=np.float64)
        image = cam.undistort_image(frame.image) if cam.has_distortion else frame.image
        box = self._box if self.track else None
        if box is None:
            box = self._acquire(p)
            if box is None:
                p.pose = invalid_pose(frame, NUM_JOINTS, JOINT_FORMAT)
                return p
        t0 = time.perf_counter()
        try:
            geom = prepare_crop(K, box, out_size=self.size, pad=BOX_PAD)
        except ValueError:  # degenerate or > 180° box: lose the track, try the detector next frame
            self._box = None
            p.pose = invalid_pose(frame, NUM_JOINTS, JOINT_FORMAT)
            return p
        x, _ = self._crop(image, geom.H)
        t1 = time.perf_counter()
        K_crop = np.asarray(geom.K_crop, dtype=np.float32)[None]
        if self.warp == "torch":
            import torch

            K_crop = torch.as_tensor(K_crop, device=self.device)
        out = self.backend.infer(x, K_crop)
        t2 = time.perf_counter()
        xyz = np.asarray(out.xyz[0], dtype=np.float64) + np.asarray(out.xyz0[0], dtype=np.float64)
        joints = to_original_camera(xyz, geom.R)
        ok = bool(np.all(np.isfinite(joints)) and np.all(joints[:, 2] > 0))
        uv = cam.project(joints) if ok else None
        p.timings.update(warp=(t1 - t0) * 1000.0, infer=(t2 - t1) * 1000.0,
                         post=(time.perf_counter() - t2) * 1000.0)
        if not ok:
            self._box = None
            p.pose = invalid_pose(frame, NUM_JOINTS, JOINT_FORMAT)
            return p
        # next box: the joints' pinhole projection, i.e. in the undistorted frame the crop is cut from
        self._box = self._next_box(project_points(joints, K), frame.image.shape)
        p.pose = PoseResult(
            frame_index=frame.index, timestamp=frame.timestamp, valid=True, joint_format=JOINT_FORMAT,
            bbox_xyxy=np.asarray(box, dtype=np.float64), K=K, joints_2d=uv, joints_cam=joints,
            joints_rel=joints - joints[ROOT], confidence=np.ones(NUM_JOINTS),
            extras={"beta": np.asarray(out.beta[0], dtype=np.float64),
                    # twist directions live in the PR-rotated frame like the joints: rotate them back
                    "twist": to_original_camera(np.asarray(out.twist[0], dtype=np.float64), geom.R),
                    "leaf_rot": np.asarray(out.leaf_rot[0], dtype=np.float64)})
        return p

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
