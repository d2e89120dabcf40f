#!/usr/bin/env bash
# Set up perspose-rt in ./.venv on Debian/Ubuntu with Python 3.11.
#
#   ./setup.sh          the product: CPU PyTorch, MediaPipe, ONNX Runtime, Open3D viewer, SMPL support
#   ./setup.sh --dev    the same plus the test and lint tools (pytest, hypothesis, ruff, bvh, Xvfb)
#
# Debian packages that the Python wheels need at run time are installed with apt-get when this
# runs as root; otherwise the exact apt-get command is printed and the set-up stops.
# Re-running is safe and quick. Environment: PYTHON (interpreter to use), PERSPOSE_TORCH_INDEX
# (package index for the CPU build of PyTorch; default the PyTorch CPU index).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

extras="viewer,smpl"
dev_deb_pkgs=""
for arg in "$@"; do
  case "$arg" in
    --dev) extras="viewer,smpl,dev"; dev_deb_pkgs="xvfb" ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# 1. Python 3.11
py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      py="$cand"; break
    fi
  done
fi
if [ -z "$py" ]; then
  echo "setup.sh: Python 3.11 is required (mediapipe 0.10.21 and the pinned wheels need it); install python3.11 and python3.11-venv, or set PYTHON" >&2
  exit 1
fi

# 2. Debian run-time libraries: OpenCV (libGL, glib), Open3D (libusb, EGL), PyTorch (OpenMP);
#    for --dev, Xvfb (the tests open real OpenCV windows on a virtual display)
deb_pkgs="libgl1 libglib2.0-0 libegl1 libusb-1.0-0 libgomp1 $dev_deb_pkgs"
if command -v dpkg >/dev/null 2>&1; then
  missing=""
  for p in $deb_pkgs; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing Debian packages:$missing"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
    else
      echo "setup.sh: missing Debian packages:$missing" >&2
      echo "setup.sh: run:  sudo apt-get install -y$missing   then run ./setup.sh again" >&2
      exit 1
    fi
  fi
fi

# 3. Virtual environment and Python packages
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $py"
  "$py" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)
"${pip[@]}" install -q --upgrade pip setuptools wheel
# The CPU build of PyTorch first: a plain 'torch' from PyPI brings gigabytes of CUDA libraries.
if ! .venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null; then
  say "installing PyTorch 2.13.0 (CPU build)"
  torch_index="${PERSPOSE_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
  # Probe the index once (5 s) instead of letting pip retry it for every package.
  if .venv/bin/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/", timeout=5)' "$torch_index" 2>/dev/null; then
    "${pip[@]}" install "torch==2.13.0" --extra-index-url "$torch_index"
  else
    echo "setup.sh: the PyTorch CPU index ($torch_index) is unreachable; installing torch==2.13.0 from the" >&2
    echo "setup.sh: configured package index (a CPU build if it carries one, e.g. a local wheel; else the CUDA build)" >&2
    "${pip[@]}" install "torch==2.13.0"
  fi
fi
say "installing perspose-rt[$extras]"
"${pip[@]}" install -e ".[$extras]"
.venv/bin/python -c 'import cv2, mediapipe, torch, onnxruntime; import perspose_rt' \
  || { echo "setup.sh: the installed packages do not import; see the errors above" >&2; exit 1; }
say "perspose-rt is ready: .venv/bin/perspose-rt --help"
