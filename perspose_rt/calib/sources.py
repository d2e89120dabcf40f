"""Frame sources for the calibration wizard: a live camera, a video file, a folder of images.

Every source is an iterable of ``(label, BGR uint8 image)`` and a context manager; ``label``
names the frame in messages (``"frame 12"``, ``"right03.jpg"``). The wizard does not care where
frames come from, which is what makes it testable headless from files.

This is a deliberately small adapter over ``cv2.VideoCapture`` for calibration only; the
threaded capture of the pose pipeline lives in ``perspose_rt.pipeline``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

from perspose_rt.camera import IMAGE_SUFFIXES, read_image
from perspose_rt.errors import InputError


class _Source:
    name = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:  # pragma: no cover - abstract
        raise NotImplementedError


class CameraSource(_Source):
    """A live camera by index (``cv2.VideoCapture(index)``), optionally at a requested size.

    Raises:
        InputError: the camera cannot be opened or delivers no frame.
    """

    def __init__(self, index: int, resolution: tuple[int, int] | None = None) -> None:
        device = _v4l2_name(index)
        self.name = f"camera {index}" + (f" ({device})" if device else "")
        self._cap = cv2.VideoCapture(int(index))
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(
                f"camera {index} cannot be opened: check that it is connected and not used by another "
                "program, or choose another with --camera N"
            )
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # show the newest frame, not a queue of old ones
        if resolution:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, resolution[0])
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, resolution[1])
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise InputError(f"camera {index} opened but delivers no frames: check its connection and permissions")
        self._first: np.ndarray | None = first
        if resolution and (first.shape[1], first.shape[0]) != tuple(resolution):
            got = f"{first.shape[1]}x{first.shape[0]}"
            self._cap.release()
            raise InputError(
                f"camera {index} delivers {got}, not the requested {resolution[0]}x{resolution[1]}: "
                f"calibrate at {got} (omit --resolution) or pick a size the camera supports"
            )

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        i = 0
        if self._first is not None:
            yield "frame 0", self._first
            self._first = None
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                raise InputError(f"{self.name} stopped delivering frames (disconnected?)")
            i += 1
            yield f"frame {i}", frame

    def close(self) -> None:
        self._cap.release()


def _v4l2_name(index: int) -> str:
    """The device's own name on Linux (e.g. "HD Pro Webcam C920"), or "" where unknown."""
    try:
        return Path(f"/sys/class/video4linux/video{int(index)}/name").read_text(encoding="utf-8").strip()
    except (OSError, ValueError):
        return ""


class LiveStreamSource(_Source):
    """Any other source ``perspose-rt live --camera`` takes: a device path (``/dev/video2``), a
    stream URL (``rtsp://…``) or ``sim:VIDEO`` (a simulated camera playing a video in real time),
    through the pose pipeline's live sources (reconnection included).
    """

    def __init__(self, spec: str, resolution: tuple[int, int] | None = None, fps: float | None = None) -> None:
        from perspose_rt.pipeline.live_sources import open_live_source
        from perspose_rt.pipeline.sources import Intrinsics

        w, h = resolution or (None, None)
        # The live source wants intrinsics for its frames; calibration ignores them (it measures
        # them), so a placeholder field of view keeps the "no intrinsics" warning away.
        self._src = open_live_source(spec, Intrinsics(fov=60.0), width=w, height=h, fps=fps, retry_s=5.0)
        self.name = self._src.name
        if hasattr(self._src, "frames_per_loop"):  # a simulated camera: the recording once, then stop
            self._src.num_frames = self._src.frames_per_loop
        if resolution and tuple(self._src.resolution) != tuple(resolution):
            got = f"{self._src.resolution[0]}x{self._src.resolution[1]}"
            self._src.close()
            raise InputError(f"{self.name} delivers {got}, not the requested {resolution[0]}x{resolution[1]}: "
                             f"calibrate at {got} (omit --resolution) or pick a size the camera supports")

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        while (frame := self._src.read()) is not None:
            yield f"frame {frame.index}", frame.image

    def close(self) -> None:
        self._src.close()


def open_camera(spec: str | int, resolution: tuple[int, int] | None = None,
                fps: float | None = None) -> _Source:
    """The wizard's live source from ``--camera``: an index (``0``), or anything else
    ``perspose-rt live --camera`` accepts (``/dev/video2``, ``rtsp://…``, ``sim:VIDEO``)."""
    spec = str(spec)
    if spec.isdigit():
        return CameraSource(int(spec), resolution)
    return LiveStreamSource(spec, resolution, fps)


class VideoFileSource(_Source):
    """Frames of a video file, every ``step``-th one.

    Raises:
        InputError: the file does not exist or OpenCV cannot decode it.
    """

    def __init__(self, path: str | Path, step: int = 1) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.step = max(1, int(step))
        if not self.path.is_file():
            raise InputError(f"video not found: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            self._cap.release()
            raise InputError(f"cannot decode video {self.path} (not a video, or a codec OpenCV lacks)")

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        i = 0
        while True:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                return
            if i % self.step == 0:
                yield f"frame {i}", frame
            i += 1

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource(_Source):
    """The images of a folder in name order (EXIF orientation applied, HEIC included).

    Raises:
        InputError: the folder is missing or holds no image, or an image cannot be read.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.name = self.folder.name
        if not self.folder.is_dir():
            raise InputError(f"image folder not found: {self.folder}")
        self.paths = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise InputError(
                f"no images in {self.folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for p in self.paths:
            bgr, _ = read_image(p)
            yield p.name, bgr


class FrameListSource(_Source):
    """Frames already in memory (tests, notebooks): an iterable of images, labelled by index."""

    def __init__(self, frames: Iterable[np.ndarray], name: str = "frames") -> None:
        self._frames = frames
        self.name = name

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        for i, frame in enumerate(self._frames):
            yield f"frame {i}", frame
