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
def cmu_bvh_dir(shared_data: Path) -> Path:
    return _require(shared_data / "cmu_bvh")


@pytest.fixture(scope="session")
def calibration_dir(shared_data: Path) -> Path:
    return _require(shared_data / "calibration" / "acircles_4x11_right")
