"""Live sources: webcams (index or device path), network streams (RTSP/HTTP) and a simulated camera.

A live source delivers frames on its own clock; the pipeline keeps only the newest one, so the
frame index has gaps where frames were dropped. Timestamps are ``time.perf_counter()`` at
capture. When the device stops delivering (unplugged camera, network cut), the source retries
for ``retry_s`` seconds, then raises :class:`~perspose_rt.errors.InputError` with one clear line.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.pipeline.sources import Intrinsics
from perspose_rt.types import Frame

log = logging.getLogger(__name__)


class LiveSource:
    """Base class: subclasses implement ``_open() -> bool``, ``_grab() -> image | None``, ``_release()``."""

    live = True
    failed = 0
    dropped = 0
    retry_interval_s = 0.5

    def __init__(self, name: str, intrinsics: Intrinsics | None, retry_s: float) -> None:
        self.name = name
        self.retry_s = float(retry_s)
        self.reconnects = 0
        self._index = 0
        if not self._open():
            raise InputError(f"cannot open {name} (is it connected, and not used by another program?)")
        first = self._grab()
        if first is None:
            self._release()
            raise InputError(f"{name} opened but delivers no frames")
        self._first: np.ndarray | None = first
        h, w = first.shape[:2]
        self.resolution = (w, h)
        self.camera = self._given_camera() or (intrinsics or Intrinsics()).resolve(self.resolution)

    def _given_camera(self):
        """The camera of the first frame when the source knows it itself (else resolved from the
        user's intrinsics)."""
        return

    def _open(self) -> bool:
        raise NotImplementedError

    def _grab(self) -> np.ndarray | None:
        raise NotImplementedError

    def _release(self) -> None:
        raise NotImplementedError

    def _recover(self) -> np.ndarray:
        """The device stopped: reopen it until a frame comes or ``retry_s`` runs out."""
        log.warning("%s stopped delivering frames; trying to reconnect for %.0f s", self.name, self.retry_s)
        deadline = time.monotonic() + self.retry_s
        while time.monotonic() < deadline:
            self._release()
            time.sleep(self.retry_interval_s)
            if self._open():
                img = self._grab()
                if img is not None:
                    if img.shape[1::-1] != self.resolution:
                        raise InputError(f"{self.name} came back at {img.shape[1]}x{img.shape[0]} instead of "
                                         f"{self.resolution[0]}x{self.resolution[1]}; restart to recalibrate")
                    self.reconnects += 1
                    log.warning("%s reconnected", self.name)
                    return img
        raise InputError(f"{self.name} stopped delivering frames and could not be reopened within "
                         f"{self.retry_s:g} s (unplugged or stream down?)")

    def read(self) -> Frame | None:
        img, self._first = self._first, None
        if img is None:
            img = self._grab()
        if img is None:
            img = self._recover()
        frame = Frame(index=self._index, timestamp=time.perf_counter(), image=img, camera=self.camera,
                      source=self.name)
        self._index += 1
        return frame

    def close(self) -> None:
        self._release()


class CameraSource(LiveSource):
    """A webcam (``0``, ``/dev/video2``) or a network stream (``rtsp://…``, ``http://…``) through OpenCV.

    Args:
        spec: device index, device path or stream URL.
        intrinsics: the user's ``--calib/--fov/--f35``.
        width, height, fps: requested capture mode (the device may pick another; the actual
            resolution is read from the first frame and the intrinsics are resolved for it).
        retry_s: how long to try reconnecting when frames stop.
    """

    def __init__(self, spec: int | str, intrinsics: Intrinsics | None = None, *, width: int | None = None,
                 height: int | None = None, fps: float | None = None, retry_s: float = 10.0) -> None:
        self.spec = spec
        self._req = (width, height, fps)
        self._cap: cv2.VideoCapture | None = None
        name = f"camera {spec}" if isinstance(spec, int) or str(spec).startswith("/dev/") else f"stream {spec}"
        super().__init__(name, intrinsics, retry_s)
        got = self._cap.get(cv2.CAP_PROP_FPS) if self._cap is not None else 0.0
        self.fps = float(fps or got or 30.0)
        if width and height and (width, height) != self.resolution:
            log.warning("%s delivers %dx%d, not the requested %dx%d", self.name, *self.resolution, width, height)

    def _open(self) -> bool:
        self._cap = cv2.VideoCapture(self.spec)
        if not self._cap.isOpened():
            return False
        w, h, fps = self._req
        if w and h:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, int(w))
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, int(h))
        if fps:
            self._cap.set(cv2.CAP_PROP_FPS, float(fps))
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the driver's own queue would add latency
        return True

    def _grab(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        ok, img = self._cap.read()
        return img if ok and img is not None else None

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()


class SimulatedCamera(LiveSource):
    """A camera made from a video file or images, delivering frames at ``fps`` in real time.

    Used for headless tests and for the live-latency benchmark: it behaves like a webcam (frames
    arrive on their own clock whether or not the pipeline is ready; the pipeline drops stale
    ones). ``disconnect_after`` makes it stop delivering after that many frames, as an
    unplugged camera does, and ``reconnect`` says whether it comes back.

    Args:
        frames: a video path or a list of BGR images (looped).
        fps: delivery rate.
        num_frames: total frames before the end of input (``None``: forever).
        intrinsics: the user's ``--calib/--fov/--f35``.
        max_decode: at most this many frames are decoded from a video (kept in memory).
        cameras: each image's own camera (e.g. views cut by :mod:`perspose_rt.pipeline.sim_crop`,
            whose principal point moves with the crop); ``intrinsics`` are then not used.
        name: what the camera is called in messages and results.
    """

    def __init__(self, frames: str | Path | list[np.ndarray], fps: float = 30.0, *,
                 num_frames: int | None = None, intrinsics: Intrinsics | None = None,
                 disconnect_after: int | None = None, reconnect: bool = False, retry_s: float = 1.0,
                 max_decode: int = 300, cameras: list | None = None, name: str | None = None) -> None:
        if isinstance(frames, str | Path):
            self._images = decode_frames(Path(frames), max_decode)
            name = name or f"simulated camera ({Path(frames).name} at {fps:g} fps)"
        else:
            self._images = list(frames)
            name = name or f"simulated camera ({fps:g} fps)"
        if not self._images:
            raise InputError("simulated camera: no frames")
        if cameras is not None and len(cameras) != len(self._images):
            raise ValueError(f"{len(cameras)} cameras for {len(self._images)} frames")
        self._cameras = None if cameras is None else list(cameras)
        self._last = 0
        self.fps = float(fps)
        self.num_frames = num_frames
        self.disconnect_after = disconnect_after
        self.reconnect = reconnect
        self.retry_interval_s = 0.05
        self._delivered = 0
        self._t0: float | None = None
        self._connected = True
        super().__init__(name, intrinsics, retry_s)

    @property
    def frames_per_loop(self) -> int:
        """Frames it plays before starting over."""
        return len(self._images)

    def _open(self) -> bool:
        if not self._connected and not self.reconnect:
            return False
        self._connected = True
        return True

    def _grab(self) -> np.ndarray | None:
        if not self._connected:
            return None
        if self.disconnect_after is not None and self._delivered >= self.disconnect_after:
            self._connected = False
            self.disconnect_after = None if self.reconnect else self.disconnect_after
            return None
        now = time.perf_counter()
        due = None if self._t0 is None else self._t0 + self._delivered / self.fps
        if due is None or now - due > 1.0 / self.fps:
            # Nobody read for a while (start-up): like a real camera, do not replay the missed
            # frames in a burst; re-anchor the clock so the next frame is due now.
            self._t0 = now - self._delivered / self.fps
        elif due > now:
            time.sleep(due - now)
        self._last = self._delivered % len(self._images)
        img = self._images[self._last]
        self._delivered += 1
        return img

    def _given_camera(self):
        return None if self._cameras is None else self._cameras[0]

    def _release(self) -> None:
        pass

    def read(self) -> Frame | None:
        if self.num_frames is not None and self._index >= self.num_frames:
            return None
        frame = super().read()
        if frame is not None and self._cameras is not None:
            frame.camera = self._cameras[self._last]
        return frame


def decode_frames(path: Path, limit: int) -> list[np.ndarray]:
    """The first ``limit`` frames of a video, decoded into memory (``InputError`` if none)."""
    if not path.is_file():
        raise InputError(f"video file not found: {path}")
    cap = cv2.VideoCapture(str(path))
    images = []
    while len(images) < limit:
        ok, img = cap.read()
        if not ok:
            break
        images.append(img)
    cap.release()
    if not images:
        raise InputError(f"no readable frame in {path}")
    return images


def open_live_source(spec: str, intrinsics: Intrinsics | None = None, *, width: int | None = None,
                     height: int | None = None, fps: float | None = None,
                     retry_s: float = 10.0, sim_view: str | None = None) -> LiveSource:
    """A live source from the ``--camera`` argument.

    ``0``/``1``… → webcam index; ``/dev/videoN`` → device; ``rtsp://``/``http(s)://``… → stream;
    ``sim:PATH`` → :class:`SimulatedCamera` playing a video (or an image) at ``fps`` (default 30).
    ``sim_view`` (``upper-body``, ``head``, ``hand``; only with ``sim:``) cuts every frame to that
    view of the person first (:func:`open_sim_view`).
    """
    if sim_view is not None and not spec.startswith("sim:"):
        raise InputError(f"--sim-view works with a simulated camera (--camera sim:VIDEO), not with {spec}")
    if spec.startswith("sim:") and sim_view is not None:
        return open_sim_view(Path(spec[4:]), sim_view, intrinsics, size=(width or 640, height or 480),
                             fps=fps or 30.0)
    if spec.startswith("sim:"):
        path = Path(spec[4:])
        if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
            img = cv2.imread(str(path))
            if img is None:
                raise InputError(f"cannot read image {path}")
            return SimulatedCamera([img], fps or 30.0, intrinsics=intrinsics)
        return SimulatedCamera(path, fps or 30.0, intrinsics=intrinsics)
    target: int | str = int(spec) if spec.isdigit() else spec
    return CameraSource(target, intrinsics, width=width, height=height, fps=fps, retry_s=retry_s)


def open_sim_view(path: Path, region: str, intrinsics: Intrinsics | None = None, *,
                  size: tuple[int, int] = (640, 480), fps: float = 30.0, max_decode: int = 300) -> SimulatedCamera:
    """A simulated camera showing ``region`` (``upper-body``: a desk camera; ``head``; ``hand``) of
    the person in a video or photo, cut from each frame at ``size`` with each frame's intrinsics
    following the crop (:func:`perspose_rt.pipeline.sim_crop.cut_clip`). The full frames'
    intrinsics are the user's (``--calib/--fov/--f35``; a photo's EXIF or file-name tag)."""
    from perspose_rt.pipeline.sim_crop import cut_clip

    if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
        img = cv2.imread(str(path))
        if img is None:
            raise InputError(f"cannot read image {path}")
        frames, image_path = [img], path
    else:
        frames, image_path = decode_frames(path, max_decode), None
    h, w = frames[0].shape[:2]
    camera = (intrinsics or Intrinsics()).resolve((w, h), image_path=image_path)
    log.info("cutting %d frame(s) of %s to the %s view", len(frames), path.name, region)
    clip = cut_clip(frames, camera, region, size, static=image_path is not None)
    return SimulatedCamera(clip.images, fps, cameras=clip.cameras,
                           name=f"simulated {region} camera ({path.name} at {fps:g} fps)")
