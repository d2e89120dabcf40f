#!/usr/bin/env python3
"""Live 3D pose viewer: ``python run_live.py [--camera 0] [--calib calib/NAME.yaml] …``.

A thin entry point for ``perspose-rt live`` (same options; ``python run_live.py --help``).
"""

import sys

from perspose_rt.cli import main

if __name__ == "__main__":
    sys.exit(main(["live", *sys.argv[1:]]))
