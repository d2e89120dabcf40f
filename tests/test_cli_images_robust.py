"""``perspose-rt images`` on folders with bad photos: one bad photo never stops the others, a folder
of only bad photos is an error, EXIF nonsense is ignored, oversized photos are refused with the
limit named, and a run writing into its own input folder never reads its own outputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from perspose_rt.cli import main
from perspose_rt.io.results import load_result
from perspose_rt.paths import examples_dir


def _jpeg(path: Path, exif_ifd: dict | None = None, size: tuple[int, int] = (320, 240)) -> Path:
    img = Image.fromarray(np.full((size[1], size[0], 3), 90, np.uint8))
    exif = Image.Exif()
    if exif_ifd:
        ifd = exif.get_ifd(0x8769)
        ifd.update(exif_ifd)
    img.save(path, exif=exif)
    return path


def test_bad_photos_are_skipped_with_their_reason(tmp_path: Path, monkeypatch, capsys) -> None:
    from perspose_rt.camera import exif

    photos = tmp_path / "photos"
    photos.mkdir()
    _jpeg(photos / "a_plain.jpg")
    _jpeg(photos / "b_negative_focal.jpg", {37386: -4.2, 41486: 1000.0, 41488: 2})  # FocalLength < 0
    _jpeg(photos / "c_text_f35.jpg", {41989: "abc"})  # FocalLengthIn35mmFilm a string
    (photos / "d_junk.jpg").write_bytes(os.urandom(2000))
    Image.new("RGB", (1200, 1000)).save(photos / "e_huge.png")
    monkeypatch.setattr(exif, "MAX_IMAGE_PIXELS", 1_000_000)  # e_huge is 1.2 MP
    out = tmp_path / "out"
    assert main(["images", str(photos), "--out", str(out), "--no-3d"]) == 0
    r = load_result(out / "results.npz")
    assert r.meta["files"] == ["a_plain.jpg", "b_negative_focal.jpg", "c_text_f35.jpg"]
    assert all(s.startswith("default:") for s in r.meta["frame_cameras"])  # the nonsense EXIF was ignored
    reasons = r.meta["failed_reasons"]
    assert sorted(reasons) == ["d_junk.jpg", "e_huge.png"]
    assert "cannot read image" in reasons["d_junk.jpg"]
    assert "has 1.2 megapixels, more than the 1 MP" in reasons["e_huge.png"]
    assert r.meta["complete"] is True
    assert "2 skipped" in capsys.readouterr().out


def test_a_folder_of_only_bad_photos_is_an_error(tmp_path: Path, capsys) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.png", "c.heic"):
        (photos / name).write_bytes(os.urandom(500))
    out = tmp_path / "out"
    assert main(["images", str(photos), "--out", str(out), "--no-3d"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("perspose-rt: error: none of the 3 photos")
    assert "a.jpg: cannot read image" in err[0]
    assert not (out / "results.npz").exists()


def test_writing_into_the_input_folder_never_reads_the_outputs(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(examples_dir() / "photos" / "IMG-without-exif-1_26_f35.jpg", photos)
    _jpeg(photos / "empty_room.jpg")
    for _ in range(2):  # twice: the second run finds the first run's overlays beside the photos
        assert main(["images", str(photos), "--out", str(photos), "--no-3d"]) == 0
        r = load_result(photos / "results.npz")
        assert r.meta["files"] == ["IMG-without-exif-1_26_f35.jpg", "empty_room.jpg"]
        assert r.meta["failed_files"] == []
    assert (photos / "empty_room_overlay.jpg").is_file()
    assert not list(photos.glob("*_overlay_overlay.jpg"))


def test_pillows_decompression_bomb_guard_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    """A photo far above Pillow's own limit (192 MP in the report) fails in Image.open already."""
    big = tmp_path / "big.png"
    Image.new("RGB", (1200, 1000)).save(big)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000)  # Pillow refuses above twice this
    assert main(["camera", str(big)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "big.png has 1.2 megapixels" in err[0], err


def test_a_signal_mid_folder_keeps_the_photos_done(tmp_path: Path, monkeypatch) -> None:
    """SIGHUP (like Ctrl-C and SIGTERM) while the 2nd of 3 photos is drawn: the poses computed so
    far (the 1st and 2nd) are saved, marked as interrupted, the 3rd is never read; exit 129."""
    import signal

    from perspose_rt.errors import Interrupted
    from perspose_rt.viz import overlay

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        _jpeg(photos / name)
    real, calls = overlay.draw_hud, []

    def hud(img, lines):
        calls.append(1)
        if len(calls) == 2:
            raise Interrupted(signal.SIGHUP, "SIGHUP")
        return real(img, lines)

    monkeypatch.setattr(overlay, "draw_hud", hud)
    out = tmp_path / "out"
    assert main(["images", str(photos), "--out", str(out), "--no-3d"]) == 129
    r = load_result(out / "results.npz")
    assert r.meta["files"] == ["a.jpg", "b.jpg"] and len(r) == 2
    assert (out / "a_overlay.jpg").is_file() and not (out / "b_overlay.jpg").exists()
    assert r.meta["interrupted"] is True and r.meta["stop_reason"] == "SIGHUP" and r.meta["complete"] is False
