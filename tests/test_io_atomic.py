import numpy as np
import pytest

from perspose_rt.io import atomic_path, atomic_write_text


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.npz"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == target.parent
        np.savez(tmp, a=np.arange(3))
    assert np.load(target)["a"].tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        np.savez(tmp, a=np.arange(5))
        raise RuntimeError("interrupted half-way")
    assert np.load(target)["a"].tolist() == [0, 1, 2]  # the old file is intact
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.npz"]  # no temporary left


def test_atomic_output_has_ordinary_permissions(tmp_path):
    import os
    import stat

    atomic_write_text(tmp_path / "b.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o666 & ~umask
    # a writer that deletes the path and creates its own private file (as safetensors does)
    with atomic_path(tmp_path / "c.bin") as tmp:
        tmp.unlink()
        os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600))
    assert stat.S_IMODE((tmp_path / "c.bin").stat().st_mode) == 0o666 & ~umask


def test_atomic_write_text(tmp_path):
    atomic_write_text(tmp_path / "a.txt", "héllo")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo"
