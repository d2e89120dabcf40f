"""``perspose-rt images``: the README's main-job command on the bundled example photos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from perspose_rt.cli import main
from perspose_rt.io.results import load_result
from perspose_rt.paths import examples_dir


def test_example_photos(tmp_path: Path, capsys) -> None:
    photos = examples_dir() / "photos"
    out = tmp_path / "demo"
    assert main(["images", str(photos), "--out", str(out)]) == 0
    r = load_result(out / "results.npz")
    names = sorted(p.name for p in photos.iterdir() if p.suffix.lower() in (".jpg", ".heic"))
    assert r.meta["files"] == names and len(r) == len(names)
    assert r["valid"].all()  # one person in every example photo
    sources = r.meta["frame_cameras"]
    assert sum(s.startswith("exif:") for s in sources) == 2  # the iPhone HEICs
    assert sum(s.startswith("filename:") for s in sources) == 3  # the *_NN_f35.jpg files
    assert r.meta["smoothing"] == "none"  # unrelated photos are not filtered in time
    depth = r["joints_cam"][:, 0, 2]
    assert np.all((depth > 0.5) & (depth < 20))
    for name in names:
        stem = Path(name).stem
        img = cv2.imread(str(out / f"{stem}_overlay.jpg"))
        assert img is not None and img.shape[0] > 100
        assert (out / f"{stem}_3d.png").is_file()
    stdout = capsys.readouterr().out
    assert f"wrote {out / 'results.npz'}" in stdout


def test_folder_without_images(tmp_path: Path, capsys) -> None:
    assert main(["images", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no images" in capsys.readouterr().err
