"""Shared fixtures. Data under ../shared/data is research data that is never shipped: tests that
need it skip with the reason below when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from perspose_rt.paths import shared_data_dir


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent (research data is not shipped; set PERSPOSE_SHARED_DATA to its folder)")
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The research data folder (``../shared/data`` or ``$PERSPOSE_SHARED_DATA``)."""
    return _require(shared_data_dir())


@pytest.fixture(scope="session")
def h36m_dir(shared_data: Path) -> Path:
    return _require(shared_data / "h36m")


@pytest.fixture(scope="session")
def photos_dir(shared_data: Path) -> Path:
    return _require(shared_data / "photos_exif")


@pytest.fixture(scope="session")
def video_path(shared_data: Path) -> Path:
    return _require(shared_data / "videos" / "figure_skating_720p25.mp4")


@pytest.fixture(scope="session")
def long_video(video_path: Path, tmp_path_factory) -> Path:
    """1200 frames (640×480) of the shared video played forwards and backwards: a run that a test
    interrupts must still be busy seconds after it started (the 185-frame clip now ends in ~3 s)."""
    from perspose_rt.bench.startup import make_video

    out = tmp_path_factory.mktemp("long_video") / "skating_1200.mp4"
    make_video(video_path, out, 1200)
    return out


@pytest.fixture(scope="session")
def cmu_bvh_dir(shared_data: Path) -> Path:
    return _require(shared_data / "cmu_bvh")


@pytest.fixture(scope="session")
def calibration_dir(shared_data: Path) -> Path:
    return _require(shared_data / "calibration" / "acircles_4x11_right")
