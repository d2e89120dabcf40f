"""The command-line front: help, one-line errors and exit codes, the camera command."""

import subprocess
import sys

import pytest

from perspose_rt.cli import COMMANDS, main
from perspose_rt.paths import REPO_ROOT


def test_help_lists_every_registered_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name, _ in COMMANDS:
        assert name in out


def test_user_error_is_one_line_and_exit_2(capsys):
    assert main(["camera", "--calib", "does/not/exist.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("perspose-rt: error: calibration profile not found") and "\n" not in err


def test_camera_command_reports_source(capsys):
    assert main(["camera", "--resolution", "1280x720", "--fov", "90"]) == 0
    out = capsys.readouterr().out
    assert "fx=639.5" not in out and "fx=640.0" in out and "from fov:90h" in out
    assert main(["camera", "--calib", str(REPO_ROOT / "calib" / "example-webcam-720p.yaml")]) == 0
    assert "(approximate)" in capsys.readouterr().out
    assert main(["camera", "--resolution", "12x"]) == 2


def test_example_profile_is_what_its_comment_says():
    from perspose_rt.camera import load_profile

    cam = load_profile(REPO_ROOT / "calib" / "example-webcam-720p.yaml")
    assert cam.approximate and cam.resolution == (1280, 720)
    assert cam.fov_deg()[2] == pytest.approx(78.0)


def test_console_script_runs_as_a_module():
    r = subprocess.run([sys.executable, "-m", "perspose_rt", "--version"], capture_output=True, text=True, check=True)
    assert r.stdout.startswith("perspose-rt ")


def test_the_cli_limits_openblas_threads_before_numpy_loads():
    """One BLAS thread per calling thread (see perspose_rt/cli/__init__.py); a user's setting wins."""
    import os

    code = ("import sys, os; import perspose_rt.cli; assert 'numpy' not in sys.modules; "
            "print(os.environ['OPENBLAS_NUM_THREADS'])")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "OPENBLAS_NUM_THREADS": "2"},
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
