"""Frame sources: video files, image folders, webcams and network streams, and a simulated camera.

Every source has ``read() -> Frame | None`` (``None`` = end of input), ``close()``, ``live``
(a live source delivers frames on its own clock: the pipeline keeps only the newest),
``failed`` (frames that could not be decoded), ``fps``, ``resolution`` and ``camera``; video
files also count ``missing`` frames (declared by the header, never delivered).

Intrinsics come from :class:`Intrinsics` (the user's ``--calib/--fov/--f35``) through
:func:`perspose_rt.camera.resolve_camera` once the real stream resolution is known; a profile of
another resolution is scaled when the aspect ratio matches and refused otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from perspose_rt.camera import CameraModel, resolve_camera
from perspose_rt.camera.exif import IMAGE_SUFFIXES
from perspose_rt.errors import InputError, UserError
from perspose_rt.types import Frame

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")
STREAM_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "tcp://", "rtmp://")


@dataclass(frozen=True)
class Intrinsics:
    """What the user said about the camera (all optional; see :func:`resolve_camera`)."""

    calib: str | Path | None = None
    fov: float | None = None
    fov_diagonal: bool = False
    f35: float | None = None
    force_aspect: bool = False

    def resolve(self, resolution: tuple[int, int], image_path: str | Path | None = None) -> CameraModel:
        return resolve_camera(resolution, calib=self.calib, image_path=image_path, fov=self.fov,
                              fov_diagonal=self.fov_diagonal, f35=self.f35, force_aspect=self.force_aspect)


class VideoFileSource:
    """Every frame of a video file, in order (``live = False``: nothing is dropped).

    Timestamps are ``index / fps``. A frame the decoder cannot read in the middle of the stream
    (corruption) is skipped and counted in ``failed`` (its index is left out). When the stream
    ends before the frame count in the container's header, the difference is counted in
    ``missing``: a truncated file, or frames the container's edit list hides (the figure-skating
    test video's MP4 declares 207 frames and presents 185, starting 0.86 s into its track), which
    OpenCV cannot tell apart.

    Raises:
        InputError: the file is missing, not a video, or has no readable frame.
    """

    live = False
    max_consecutive_failures = 25

    def __init__(self, path: str | Path, intrinsics: Intrinsics | None = None,
                 max_frames: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"video file not found: {self.path}")
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise InputError(f"cannot open {self.path} as a video (unknown format or corrupt file)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise InputError(f"no readable frame in {self.path} (empty, truncated or not a video)")
        self._pending: np.ndarray | None = first
        h, w = first.shape[:2]
        self.resolution = (w, h)
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 1000 else 30.0
        self.declared_frames = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self.camera = (intrinsics or Intrinsics()).resolve(self.resolution)
        self.max_frames = max_frames
        self.name = self.path.name
        self.failed = 0
        self.missing = 0
        self._next_index = 0
        self._done = False

    def __len__(self) -> int:
        n = self.declared_frames
        return min(n, self.max_frames) if self.max_frames is not None else n

    def read(self) -> Frame | None:
        if self._done or (self.max_frames is not None and self._next_index >= self.max_frames):
            self._done = True
            return None
        img = self._pending
        self._pending = None
        failures = 0
        while img is None:
            ok, img = self._cap.read()
            if ok and img is not None:
                break
            img = None
            failures += 1
            if self._next_index + failures >= self.declared_frames or failures > self.max_consecutive_failures:
                self._finish()
                return None
        self.failed += failures
        index = self._next_index + failures
        self._next_index = index + 1
        if img.shape[1::-1] != self.resolution:
            raise InputError(f"{self.name}: frame {index} is {img.shape[1]}x{img.shape[0]}, "
                             f"the video started at {self.resolution[0]}x{self.resolution[1]}")
        return Frame(index=index, timestamp=index / self.fps, image=img, camera=self.camera, source=self.name)

    def _finish(self) -> None:
        """End of the stream: count the frames the header declared that never came."""
        expected = self.declared_frames if self.max_frames is None else min(self.max_frames, self.declared_frames)
        self.missing = max(0, expected - self._next_index)
        if self.missing:
            log.warning("%s: the header declares %d frames but %d could be read (truncated file, corrupt "
                        "end, or an edit list)", self.name, expected, self._next_index - self.failed)
        self._done = True

    def close(self) -> None:
        self._cap.release()


class ImageFolderSource:
    """The photos of a folder, sorted by name, each with its own intrinsics (EXIF, file-name tag, flags).

    A photo that cannot be used (unreadable, too large, EXIF or intrinsics that make no sense) is
    skipped, logged and counted in ``failed``, with its reason in ``failed_reasons``: one bad
    photo never stops the others. ``paths`` lists the files in frame order (``Frame.index``
    indexes it). ``exclude(path)`` leaves files out (a run writing into its own input folder
    must not read its own outputs).

    Raises:
        InputError: the folder is missing or holds no image.
    """

    live = False
    fps = 0.0

    def __init__(self, folder: str | Path, intrinsics: Intrinsics | None = None,
                 exclude: Callable[[Path], bool] | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"image folder not found: {self.folder}")
        self.paths = sorted(p for p in self.folder.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                            and not (exclude is not None and exclude(p)))
        if not self.paths:
            raise InputError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.folder}")
        self.failed_reasons: dict[str, str] = {}
        self.intrinsics = intrinsics or Intrinsics()
        self.name = self.folder.name
        self.failed = 0
        self.failed_paths: list[str] = []
        self._i = 0
        self.camera: CameraModel | None = None
        self.resolution: tuple[int, int] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def read(self) -> Frame | None:
        from perspose_rt.camera import load_image

        while self._i < len(self.paths):
            i, path = self._i, self.paths[self._i]
            self._i += 1
            try:
                i_ = self.intrinsics
                img, cam = load_image(path, calib=i_.calib, fov=i_.fov, fov_diagonal=i_.fov_diagonal,
                                      f35=i_.f35, force_aspect=i_.force_aspect)
            except (OSError, ValueError, UserError) as exc:
                log.warning("skipping %s: %s", path.name, exc)
                self.failed += 1
                self.failed_paths.append(path.name)
                self.failed_reasons[path.name] = str(exc)
                continue
            self.camera, self.resolution = cam, cam.resolution
            return Frame(index=i, timestamp=float(i), image=img, camera=cam, source=path.name)
        return None

    def close(self) -> None:
        pass


class ArraySource:
    """Frames already in memory, as a file source (``live = False``): benchmarks and tests.

    Args:
        images: BGR frames (all the same size).
        fps: nominal rate (timestamps are ``index / fps``).
        camera: intrinsics of the frames.
        total: frames to deliver, cycling through ``images`` (default: each image once).
        cameras: each image's own camera (cut views), instead of ``camera`` for all.
    """

    live = False
    failed = 0

    def __init__(self, images: list[np.ndarray], fps: float, camera: CameraModel, total: int | None = None,
                 name: str = "memory", cameras: list[CameraModel] | None = None) -> None:
        if not images:
            raise InputError("no frames")
        if cameras is not None and len(cameras) != len(images):
            raise ValueError(f"{len(cameras)} cameras for {len(images)} images")
        self.images, self.fps, self.camera = images, float(fps), camera
        self.cameras = cameras
        self.resolution = camera.resolution
        self.total = len(images) if total is None else int(total)
        self.name = name
        self._i = 0

    def __len__(self) -> int:
        return self.total

    def read(self) -> Frame | None:
        if self._i >= self.total:
            return None
        i = self._i
        self._i += 1
        k = i % len(self.images)
        return Frame(index=i, timestamp=i / self.fps, image=self.images[k],
                     camera=self.camera if self.cameras is None else self.cameras[k], source=self.name)

    def close(self) -> None:
        pass
