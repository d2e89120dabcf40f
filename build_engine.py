#!/usr/bin/env python3
"""Export our weights to ONNX (validated against PyTorch) and build a TensorRT engine when possible.

Same as ``perspose-rt build-engine``; see ``engines/README.md``. Example::

    python build_engine.py --weights weights/perspose_w48.safetensors --precision fp16 \\
        --max-batch 8 --out engines/w48_fp16
"""

import sys

from perspose_rt.cli import main

if __name__ == "__main__":
    sys.exit(main(["build-engine", *sys.argv[1:]]))
