"""Frame sources: video files (good, truncated, missing, not a video), image folders, intrinsics."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.camera import CameraModel, save_profile
from perspose_rt.errors import CalibrationError, InputError
from perspose_rt.pipeline.live_sources import CameraSource, SimulatedCamera, open_live_source
from perspose_rt.pipeline.sources import ImageFolderSource, Intrinsics, VideoFileSource


def _write_avi(path: Path, n: int = 20, size: tuple[int, int] = (96, 64)) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, size)
    for i in range(n):
        img = np.full((size[1], size[0], 3), (i * 10) % 255, np.uint8)
        cv2.putText(img, str(i), (5, 40), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
        w.write(img)
    w.release()
    return path


def test_video_file_reads_every_frame(tmp_path: Path) -> None:
    src = VideoFileSource(_write_avi(tmp_path / "v.avi", 20), Intrinsics(fov=60))
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    src.close()
    assert [f.index for f in frames] == list(range(20)) and src.failed == 0
    assert frames[3].timestamp == pytest.approx(3 / 25)
    assert src.resolution == (96, 64) and src.camera.source.startswith("fov:60")
    assert frames[0].camera is src.camera


def test_truncated_video_counts_failed_frames(tmp_path: Path) -> None:
    good = _write_avi(tmp_path / "v.avi", 40)
    data = good.read_bytes()
    bad = tmp_path / "truncated.avi"
    bad.write_bytes(data[: len(data) // 2])
    src = VideoFileSource(bad)
    n = 0
    while src.read() is not None:
        n += 1
    assert 5 < n < 40 and src.failed == 0 and src.missing == 40 - n


def test_max_frames(tmp_path: Path) -> None:
    src = VideoFileSource(_write_avi(tmp_path / "v.avi", 20), max_frames=5)
    n = 0
    while src.read() is not None:
        n += 1
    assert n == 5 and src.failed == 0 and src.missing == 0 and len(src) == 5


def test_missing_and_unreadable_videos(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    with pytest.raises(InputError, match="cannot open|no readable frame"):
        VideoFileSource(junk)


def test_calibration_resolution_mismatch(tmp_path: Path) -> None:
    video = _write_avi(tmp_path / "v.avi", 3, size=(96, 64))
    same_aspect = save_profile(tmp_path / "a.yaml", CameraModel.from_fov(60, (192, 128)))
    cam = VideoFileSource(video, Intrinsics(calib=same_aspect)).camera
    assert cam.resolution == (96, 64) and "scaled" in cam.source
    other_aspect = save_profile(tmp_path / "b.yaml", CameraModel.from_fov(60, (640, 480)))
    with pytest.raises(CalibrationError, match="aspect ratio"):
        VideoFileSource(video, Intrinsics(calib=other_aspect))


def test_image_folder_skips_unreadable_files(tmp_path: Path) -> None:
    for name in ("b_26_f35.jpg", "a.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((40, 60, 3), np.uint8))
    (tmp_path / "c.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "notes.txt").write_text("ignored")
    src = ImageFolderSource(tmp_path, Intrinsics(fov=50))
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    assert [f.source for f in frames] == ["a.png", "b_26_f35.jpg"]
    assert frames[1].camera.source == "filename:_26_f35"  # the file-name tag beats the flag
    assert frames[0].camera.source.startswith("fov:50")
    assert src.failed == 1 and src.failed_paths == ["c.jpg"]


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no images"):
        ImageFolderSource(tmp_path)
    with pytest.raises(InputError, match="not found"):
        ImageFolderSource(tmp_path / "nope")


def test_camera_that_cannot_be_opened() -> None:
    with pytest.raises(InputError, match="cannot open"):
        CameraSource("/dev/video-perspose-missing", retry_s=0)


def test_open_live_source_simulated(tmp_path: Path) -> None:
    src = open_live_source(f"sim:{_write_avi(tmp_path / 'v.avi', 5)}", Intrinsics(f35=28), fps=50)
    assert isinstance(src, SimulatedCamera) and src.live and src.camera.source.startswith("f35:28")
    a, b = src.read(), src.read()
    assert b.index == a.index + 1 and b.timestamp - a.timestamp == pytest.approx(0.02, abs=0.015)


def test_corrupt_middle_counts_failed_frames(tmp_path: Path) -> None:
    good = _write_avi(tmp_path / "v.avi", 40)
    data = bytearray(good.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 4000] = bytes(4000)  # wipe a stretch in the middle of the frame data
    bad = tmp_path / "corrupt.avi"
    bad.write_bytes(bytes(data))
    src = VideoFileSource(bad)
    idx = []
    while (f := src.read()) is not None:
        idx.append(f.index)
    assert len(idx) + src.failed + src.missing == 40 and len(idx) < 40
    assert idx == sorted(set(idx))  # failed frames leave gaps, never reused indices


def test_real_video_header(video_path: Path) -> None:
    src = VideoFileSource(video_path, max_frames=3)
    assert src.resolution == (1280, 720) and src.fps == 25 and src.declared_frames > 150
    assert src.read().index == 0
    src.close()
