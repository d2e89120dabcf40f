"""Profiles, EXIF, file-name tags and the precedence of intrinsics sources."""

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from perspose_rt.camera import (
    FULL_FRAME_DIAGONAL_MM,
    CameraModel,
    camera_from_image,
    f35_from_filename,
    load_image,
    load_profile,
    resolve_camera,
    save_profile,
)
from perspose_rt.errors import CalibrationError, InputError

K = np.array([[812.5, 0, 655.0], [0, 810.0, 362.0], [0, 0, 1]])


def _cam():
    return CameraModel(K=K, resolution=(1280, 720), dist=[0.1, -0.2, 0.001, 0.002, 0.05], name="desk",
                       source="calibration")


def test_profile_round_trip(tmp_path):
    path = save_profile(tmp_path / "calib" / "desk.yaml", _cam(),
                        {"rms_px": 0.21, "pattern": {"type": "chessboard", "rows": 6, "cols": 9, "square_mm": 25.0},
                         "n_views": 20, "per_view_rms_px": np.array([0.2, 0.22])})
    cam = load_profile(path)
    np.testing.assert_array_equal(cam.K, K)
    np.testing.assert_array_equal(cam.dist, _cam().dist)
    assert cam.resolution == (1280, 720) and cam.name == "desk" and not cam.approximate
    assert cam.metadata["pattern"]["rows"] == 6 and cam.metadata["per_view_rms_px"] == [0.2, 0.22]
    assert cam.source == f"profile:{path}"
    assert not list(path.parent.glob(".*"))  # no temporary files left behind


def test_profile_write_is_atomic(tmp_path):
    target = tmp_path / "x.yaml"
    save_profile(target, _cam())
    before = target.read_bytes()
    with pytest.raises(ValueError):  # metadata may not override core keys: nothing is written
        save_profile(target, _cam(), {"K": [[1]]})
    assert target.read_bytes() == before and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("content, msg", [
    ("K: [1, 2", "not valid YAML"),
    ("format: something-else\n", "not a perspose-rt camera profile"),
    ("format: perspose-rt/camera-profile\nversion: 1\nK: [[1,0,0],[0,1,0]]\nresolution: [2, 2]\n", "malformed"),
    ("format: perspose-rt/camera-profile\nversion: 9\n", "version 9"),
])
def test_bad_profiles_give_one_line_errors(tmp_path, content, msg):
    p = tmp_path / "bad.yaml"
    p.write_text(content)
    with pytest.raises(CalibrationError, match=msg) as exc:
        load_profile(p)
    assert "\n" not in str(exc.value)
    with pytest.raises(CalibrationError, match="not found"):
        load_profile(tmp_path / "missing.yaml")


@pytest.mark.parametrize("suffix", [".yml", ".xml"])
def test_opencv_filestorage_profiles(tmp_path, suffix):
    p = str(tmp_path / f"cv{suffix}")
    fs = cv2.FileStorage(p, cv2.FILE_STORAGE_WRITE)
    fs.write("image_width", 1280)
    fs.write("image_height", 720)
    fs.write("camera_matrix", K)
    fs.write("distortion_coefficients", np.array([[0.1], [-0.2], [0.0], [0.0], [0.05]]))
    fs.write("avg_reprojection_error", 0.3)
    fs.release()
    cam = load_profile(p)
    np.testing.assert_allclose(cam.K, K)
    np.testing.assert_allclose(cam.dist, [0.1, -0.2, 0, 0, 0.05])
    assert cam.resolution == (1280, 720) and cam.metadata["avg_reprojection_error"] == 0.3


def test_real_opencv_calibration_file(calibration_dir):
    cam = load_profile(calibration_dir / "out_camera_data_right.xml")
    assert cam.fx == pytest.approx(512.17068744744154) and cam.resolution == (640, 512)
    assert cam.dist[0] == pytest.approx(-0.080166570993205649)


def test_filename_tag():
    assert f35_from_filename("IMG-without-exif-1_26_f35.jpg") == 26.0
    assert f35_from_filename("/a/b/photo_24.5_F35.JPG") == 24.5
    assert f35_from_filename("IMG_f35.jpg") is None


def test_real_photos_exif_and_orientation(photos_dir):
    # iPhone 14 Pro, 2× mode: 6.86 mm lens on 1.22 µm pixels ≈ 5623 px; EXIF says f35 = 48.
    img, cam = load_image(photos_dir / "IMG-from-iPhone-1.HEIC")
    assert img.shape[:2] == (4032, 3024) and cam.resolution == (3024, 4032)  # portrait, pixels and K agree
    assert cam.source == "exif:FocalLengthIn35mmFilm=48"
    assert cam.fx == pytest.approx(48 * 5040 / FULL_FRAME_DIAGONAL_MM)
    assert cam.fx == pytest.approx(6.86 / 1.22e-3, rel=0.02)  # the physical focal length in pixels
    # the official demo's width rule would give 48/36·3024 = 4032 px, 28 % short
    img2, cam2 = load_image(photos_dir / "IMG-from-iPhone-2.HEIC")
    assert img2.shape[:2] == (3024, 4032) and cam2.resolution == (4032, 3024)
    assert cam2.fx == pytest.approx(26 * 5040 / FULL_FRAME_DIAGONAL_MM)
    img3, cam3 = load_image(photos_dir / "IMG-without-exif-2_32_f35.jpg")
    assert cam3.source == "filename:_32_f35" and cam3.resolution == (img3.shape[1], img3.shape[0])
    assert cam3.fx == pytest.approx(32 * math.hypot(1920, 1080) / FULL_FRAME_DIAGONAL_MM)


def test_exif_orientation_is_applied_to_pixels_and_size(tmp_path):
    from PIL import Image

    raw = np.zeros((100, 200, 3), np.uint8)
    raw[:, :50] = 255  # white left band in the stored (landscape) pixels
    im = Image.fromarray(raw)
    exif = im.getexif()
    exif[274] = 6  # rotate 90° clockwise to display
    exif.get_ifd(0x8769)[41989] = 28
    im.save(tmp_path / "rot.jpg", exif=exif)
    img, cam = load_image(tmp_path / "rot.jpg")
    assert img.shape[:2] == (200, 100) and cam.resolution == (100, 200)
    assert img[:40, :, 0].mean() > 200  # the left band is now at the top
    assert cam.fx == pytest.approx(28 * math.hypot(100, 200) / FULL_FRAME_DIAGONAL_MM)


def test_focal_length_with_focal_plane_resolution(tmp_path):
    from PIL import Image

    im = Image.fromarray(np.zeros((300, 400, 3), np.uint8))
    exif = im.getexif()
    ifd = exif.get_ifd(0x8769)
    ifd[37386] = 4.0  # mm
    ifd[41486] = 250.0  # px per unit
    ifd[41488] = 4  # unit: mm → 250 px/mm
    ifd[40962], ifd[40963] = 800, 600  # captured at 800×600, file resized to 400×300
    im.save(tmp_path / "fp.jpg", exif=exif)
    cam = camera_from_image(tmp_path / "fp.jpg")
    assert cam.fx == pytest.approx(4.0 * 250.0 * 400 / 800)


def test_precedence_profile_exif_tag_flag_default(tmp_path, caplog):
    from PIL import Image

    img = Image.fromarray(np.zeros((720, 1280, 3), np.uint8))
    exif = img.getexif()
    exif.get_ifd(0x8769)[41989] = 30
    img.save(tmp_path / "shot_24_f35.jpg", exif=exif)
    Image.fromarray(np.zeros((720, 1280, 3), np.uint8)).save(tmp_path / "plain_24_f35.jpg")
    Image.fromarray(np.zeros((720, 1280, 3), np.uint8)).save(tmp_path / "plain.jpg")
    prof = save_profile(tmp_path / "p.yaml", _cam())
    res = (1280, 720)
    assert resolve_camera(res, calib=prof, image_path=tmp_path / "shot_24_f35.jpg", fov=60).source.startswith("profile:")
    assert resolve_camera(res, image_path=tmp_path / "shot_24_f35.jpg", fov=60).source.startswith("exif:")
    assert resolve_camera(res, image_path=tmp_path / "plain_24_f35.jpg", fov=60).source.startswith("filename:")
    assert resolve_camera(res, image_path=tmp_path / "plain.jpg", fov=60).source == "fov:60h"
    assert resolve_camera(res, f35=35).source == "f35:35mm"
    assert resolve_camera(res).source.startswith("default:")
    with pytest.raises(CalibrationError, match="aspect"):
        resolve_camera((640, 480), calib=prof)
    assert resolve_camera((640, 360), calib=prof).resolution == (640, 360)


def test_unreadable_images_raise_input_error(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot read image"):
        load_image(bad)
    with pytest.raises(InputError, match="not found"):
        load_image(Path(tmp_path / "none.jpg"))
