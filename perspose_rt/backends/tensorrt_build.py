"""Build a TensorRT 10 engine from the ONNX export (untested here: TensorRT is not installable).

FP16 mode lets TensorRT pick FP16 kernels for the HRNet backbone (layers named ``/net/backbone/…``
by the exporter) while every other layer — PE, heads, softmax/soft-argmax and the lifting — is
constrained to FP32, mirroring the PyTorch FP16 backend. The optimisation profile covers batch
1…``max_batch`` and is tuned for ``opt_batch``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from perspose_rt.backends.tensorrt_backend import import_tensorrt
from perspose_rt.errors import UserError
from perspose_rt.io.atomic import atomic_write_bytes

log = logging.getLogger(__name__)

BACKBONE_PREFIX = "/net/backbone/"


def build_trt_engine(onnx_path: str | os.PathLike[str], engine_path: str | os.PathLike[str],
                     precision: str = "fp16", max_batch: int = 8, opt_batch: int = 1,
                     input_size: int = 256, workspace_gib: float = 4.0) -> Path:
    """Parse ``onnx_path``, build a serialised engine and write it atomically to ``engine_path``."""
    trt = import_tensorrt()
    if precision not in ("fp16", "fp32"):
        raise UserError(f"precision must be fp16 or fp32, got {precision!r}")
    if not 1 <= opt_batch <= max_batch:
        raise UserError(f"need 1 <= opt batch ({opt_batch}) <= max batch ({max_batch})")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise UserError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        pinned = 0
        for i in range(network.num_layers):
            layer = network.get_layer(i)
            if layer.name.startswith(BACKBONE_PREFIX):
                continue
            outs = [layer.get_output(k) for k in range(layer.num_outputs)]
            if outs and all(t.dtype == trt.DataType.FLOAT for t in outs):
                layer.precision = trt.DataType.FLOAT
                for k in range(layer.num_outputs):
                    layer.set_output_type(k, trt.DataType.FLOAT)
                pinned += 1
        log.info("FP16 build: %d non-backbone layers constrained to FP32", pinned)
    profile = builder.create_optimization_profile()
    S = input_size
    profile.set_shape("image", (1, 3, S, S), (opt_batch, 3, S, S), (max_batch, 3, S, S))
    profile.set_shape("K_crop", (1, 3, 3), (opt_batch, 3, 3), (max_batch, 3, 3))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise UserError("TensorRT failed to build the engine (see the TensorRT log above)")
    engine_path = Path(engine_path)
    atomic_write_bytes(engine_path, bytes(serialized))
    return engine_path
