"""The MediaPipe Tasks ``pose_landmarker.task`` bundle, built from the models inside the wheel.

MediaPipe's multi-person ``PoseLandmarker`` (Tasks API) loads a ``.task`` bundle that is normally
downloaded. Nothing is downloaded here: the two models the legacy single-person solution uses
ship inside ``mediapipe==0.10.21`` (``modules/pose_detection/pose_detection.tflite`` and
``modules/pose_landmark/pose_landmark_full.tflite``) and the bundle is made from them:

1. Each model gets the image-normalisation metadata the Tasks graphs read. The constants are
   **read from the legacy graph shipped in the same wheel** (``pose_landmark_cpu.binarypb``,
   expanded with its subgraphs): its ``ImageToTensorCalculator`` nodes map pixels to
   ``[-1, 1]`` for the detector and ``[0, 1]`` for the landmark model, i.e. ``(p − mean) / std``
   with mean/std 127.5/127.5 and 0/255 (:func:`legacy_normalisation`).
2. The two models are zipped (stored, 4-byte aligned, with MediaPipe's own zip writer) as
   ``pose_detector.tflite`` and ``pose_landmarks_detector.tflite``.

The bundle is built at first use into ``$XDG_CACHE_HOME/perspose-rt`` (default
``~/.cache/perspose-rt``; ``$PERSPOSE_CACHE_DIR`` overrides it), written atomically, and named
after the SHA-256 of the two models, so another mediapipe wheel gets its own bundle. A sidecar
``.sha256`` holds the bundle's own hash: a cached bundle that does not match it (truncated,
edited, half-copied) is rebuilt with a one-line notice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import zipfile
from pathlib import Path

from perspose_rt.errors import WeightsError
from perspose_rt.io.atomic import atomic_path

log = logging.getLogger(__name__)

DETECTOR = "modules/pose_detection/pose_detection.tflite"
LANDMARKER = "modules/pose_landmark/pose_landmark_full.tflite"
LEGACY_GRAPH = "modules/pose_landmark/pose_landmark_cpu.binarypb"
#: bundle member names the Tasks PoseLandmarker looks for
BUNDLE_NAMES = {DETECTOR: "pose_detector.tflite", LANDMARKER: "pose_landmarks_detector.tflite"}
#: legacy graph node → the model it feeds
_LEGACY_NODES = {DETECTOR: "posedetectioncpu__ImageToTensorCalculator",
                 LANDMARKER: "poselandmarkbyroicpu__ImageToTensorCalculator"}
_BUNDLE_FORMAT = 1  # bump when the way the bundle is made changes


def mediapipe_root() -> Path:
    import mediapipe

    return Path(mediapipe.__file__).resolve().parent


def cache_dir() -> Path:
    """Where built bundles are kept (created on demand)."""
    env = os.environ.get("PERSPOSE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perspose-rt"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def legacy_normalisation() -> dict[str, tuple[float, float]]:
    """``{model: (mean, std)}`` read from the wheel's legacy pose graph.

    The legacy ``ImageToTensorCalculator`` of each model maps a pixel ``p`` in ``[0, 255]`` to
    ``lo + p / 255 · (hi − lo)`` (``output_tensor_float_range``); the Tasks metadata writes the
    same map as ``(p − mean) / std``, so ``std = 255 / (hi − lo)`` and ``mean = −lo · std``.
    """
    from mediapipe.framework import calculator_pb2
    from mediapipe.python._framework_bindings import validated_graph_config

    path = mediapipe_root() / LEGACY_GRAPH
    if not path.is_file():
        raise WeightsError(f"MediaPipe's legacy pose graph is missing ({path}): reinstall mediapipe==0.10.21")
    vgc = validated_graph_config.ValidatedGraphConfig()
    vgc.initialize(binary_graph_path=str(path))  # expands the detection and landmark subgraphs
    graph = calculator_pb2.CalculatorGraphConfig()
    graph.ParseFromString(vgc.binary_config)
    from mediapipe.calculators.tensor import image_to_tensor_calculator_pb2 as itt

    ext = itt.ImageToTensorCalculatorOptions.ext
    nodes = {n.name: n for n in graph.node}
    out = {}
    for model, name in _LEGACY_NODES.items():
        if name not in nodes or not nodes[name].options.HasExtension(ext):
            raise WeightsError(f"the legacy pose graph has no {name} node: is this mediapipe==0.10.21?")
        rng = nodes[name].options.Extensions[ext].output_tensor_float_range
        std = 255.0 / (rng.max - rng.min)
        out[model] = (-rng.min * std + 0.0, std)  # + 0.0: no "-0.0"
    return out


def _with_metadata(model: bytes, mean: float, std: float, name: str) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "from the mediapipe 0.10.21 wheel; metadata written by perspose-rt")
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    buf, _ = writer.populate()
    return bytes(buf)


def _model_bytes() -> dict[str, bytes]:
    root = mediapipe_root()
    out = {}
    for rel in BUNDLE_NAMES:
        path = root / rel
        if not path.is_file():
            raise WeightsError(f"MediaPipe's bundled pose model is missing ({path}): reinstall mediapipe==0.10.21")
        out[rel] = path.read_bytes()
    return out


def bundle_path(models: dict[str, bytes] | None = None) -> Path:
    """The cache path of the bundle for the installed wheel's models."""
    models = models or _model_bytes()
    key = _sha256(b"".join(_sha256(models[k]).encode() for k in sorted(models)) + bytes([_BUNDLE_FORMAT]))
    return cache_dir() / f"pose_landmarker_{key[:16]}.task"


def build_bundle(path: Path, models: dict[str, bytes]) -> Path:
    """Write the bundle (and its ``.sha256``) atomically to ``path``."""
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    norm = legacy_normalisation()
    members = {BUNDLE_NAMES[rel]: _with_metadata(data, *norm[rel], name=Path(rel).stem)
               for rel, data in models.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".task") as tmp, \
            model_asset_bundle_utils.AlignZipFile(str(tmp), mode="w", alignment=4) as zf:
        # what create_model_asset_bundle does, with a fixed date: the same models give the same bytes
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    digest = _sha256(path.read_bytes())
    with atomic_path(path.with_suffix(".sha256")) as tmp:
        Path(tmp).write_text(digest + "\n", encoding="ascii")
    return path


def _intact(path: Path) -> bool:
    sidecar = path.with_suffix(".sha256")
    try:
        return _sha256(path.read_bytes()) == sidecar.read_text(encoding="ascii").strip()
    except OSError:
        return False


def ensure_bundle() -> Path:
    """The path of a valid bundle for the installed wheel, built now if needed (never downloaded)."""
    models = _model_bytes()
    path = bundle_path(models)
    if path.exists() or path.with_suffix(".sha256").exists():
        if _intact(path):
            return path
        print(f"perspose-rt: the cached MediaPipe pose bundle {path} is damaged; rebuilding it", file=sys.stderr)
    else:
        log.info("building the MediaPipe pose bundle %s from the wheel's models", path)
    try:
        return build_bundle(path, models)
    except OSError as exc:
        raise WeightsError(f"cannot write the MediaPipe pose bundle to {path.parent} ({exc.strerror or exc}); "
                           "set PERSPOSE_CACHE_DIR to a writable folder") from exc
