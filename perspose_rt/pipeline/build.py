"""Assemble the stages of a run from the user's choices, and the metadata that goes with them.

``lifter`` (default): ``detect`` (MediaPipe BlazePose) → ``track`` → ``lift`` → ``smooth`` → ``ik``
→ ``project``, in two threads: ``detect`` alone in one (it is the bottleneck: anything else in its
thread adds to every frame's time), the rest in the ``pose`` thread
(:class:`~perspose_rt.pipeline.chain.StageChain`; timings ``pose.wait``, ``pose.track``,
``pose.lift``, ``pose.smooth``, ``pose.ik``, ``pose.project``; ``wait``: the pose thread starts a
frame once MediaPipe computes the next one, :class:`~perspose_rt.pipeline.lifter_stages.YieldToDetector`). Those stages are numpy on a few joints: they
hold the GIL, so threads of their own would only add queue hops and wake-ups beside MediaPipe
(``docs/PIPELINE.md``, "Performance").
``perspose``: ``perspose`` (detect/track → PR warp + PE → network → 3D) → ``smooth`` → ``ik`` → ``project``
(``project`` in the ``ik`` thread: ``ik.project``).
Every stage after the tracker works per person, with that person's own state
(``docs/DEVELOPING.md``, "People and tracks").
IK gives the H36M-17 skeleton's rotations for the lifter and SMPL θ for the PersPose network
(with the posed mesh when an SMPL model is given).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perspose_rt.errors import UserError
from perspose_rt.io.weights_path import resolve_weights_path

log = logging.getLogger(__name__)

ESTIMATORS = ("lifter", "perspose")
#: what ``--weights NAME`` may stand for, per backend (an engine folder is always taken as is).
_STEM_SUFFIXES = {"torch": (".json", ".safetensors"), "onnxruntime": (".onnx",)}


@dataclass(frozen=True)
class EstimatorOptions:
    """How to estimate poses.

    Attributes:
        name: ``"lifter"`` or ``"perspose"``.
        static_images: unrelated photos (detector on each image, no tracking, no smoothing).
        temporal: lifter only: the causal temporal model instead of the single-frame one.
        lifter_weights: lifter only: a lifter trained with ``perspose-rt train-lifter`` (its
            ``.json``) instead of the shipped one.
        backend: perspose only: ``torch``, ``onnxruntime`` or ``tensorrt``.
        weights: perspose only: weights (torch), ``.onnx`` or engine folder.
        device: ``cpu`` or ``cuda[:N]`` (perspose).
        smoothing: ``kalman-cv``, ``kalman-ca``, ``one-euro`` or ``none``.
        ik: compute joint rotations (lifter).
        rigid: lifter: output the joints of a skeleton with constant bone lengths fitted to the
            track (IK + forward kinematics; see :class:`~perspose_rt.pipeline.post.IKStage`).
        min_detection_confidence: MediaPipe person-detection threshold.
        smpl_dir: perspose: folder of the converted SMPL model (mesh and β0 search in the IK).
        max_people: most people tracked at once (1 … 10).
        extended_search: lifter: when the detector finds nobody, search again around the last
            box, on zoomed tiles and on the turned frame (:mod:`perspose_rt.detect.search`).
        search_runs: lifter: at most about this many detector runs of the extended search per
            frame, the rest on the next frames (``0``: no limit; ``live`` sets one, so a miss
            never stalls the stream).
    """

    name: str = "lifter"
    static_images: bool = False
    temporal: bool = False
    lifter_weights: Path | None = None
    backend: str = "torch"
    weights: Path | None = None
    device: str = "cpu"
    smoothing: str = "kalman-cv"
    ik: bool = True
    rigid: bool = False
    min_detection_confidence: float = 0.5
    smpl_dir: Path | None = None
    max_people: int = 1
    extended_search: bool = True
    search_runs: int = 0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _lifter_stages(opts: EstimatorOptions) -> tuple[list[Any], dict]:
    from perspose_rt.lifter import Lifter
    from perspose_rt.lifter.files import DEFAULT_SINGLE, DEFAULT_TEMPORAL
    from perspose_rt.metrics.joints import H36M17_NAMES
    from perspose_rt.pipeline.lifter_stages import DetectStage, LiftStage, YieldToDetector
    from perspose_rt.pipeline.tracking import TrackerSettings, TrackStage

    path = Path(opts.lifter_weights) if opts.lifter_weights else (DEFAULT_TEMPORAL if opts.temporal else DEFAULT_SINGLE)
    lifter = Lifter.load(path)  # numpy only: the default run never imports torch
    path = lifter.path
    weights_file = path.with_name(str(lifter.metadata.get("weights", path.with_suffix(".safetensors").name)))
    meta = {
        "estimator": "lifter",
        "estimator_detail": f"{_detector_detail(opts)} + lifter {path.stem}",
        "joint_format": "h36m17", "joint_names": list(H36M17_NAMES),
        "weights": path.name,
        "weights_sha256": _sha256(weights_file) if weights_file.is_file() else None,
    }
    # One temporal filter, not two: MediaPipe's landmark smoothing is off when our smoother runs
    # (its lag would add to the one our filters promise); with --smoothing none it is MediaPipe's.
    detector_smoothing = not opts.static_images and opts.smoothing == "none"
    meta["detector_smoothing"] = detector_smoothing
    detector = make_detector(opts, static=opts.static_images, smooth_landmarks=detector_smoothing)
    # one person: reported at once, as MediaPipe's own tracker does; several: a newcomer must be
    # seen twice (the first frame of a stream and photos excepted; see pipeline/tracking.py)
    settings = TrackerSettings(max_people=opts.max_people,
                               birth_hits=1 if opts.max_people == 1 or opts.static_images else 2)
    try:
        search = (lambda: _extended_search(opts)) if opts.extended_search else None
        stages = [DetectStage(detector, search, static=opts.static_images),
                  TrackStage(settings, static=opts.static_images), LiftStage(lifter)]
        computing = getattr(detector, "computing", None)  # the legacy BlazePose (one person)
        if computing is not None and not opts.static_images:
            stages.insert(1, YieldToDetector(computing))
    except BaseException:
        detector.close()
        raise
    return stages, meta


def _extended_search(opts: EstimatorOptions):
    """The second-chance search of the detect stage, with its own photo-mode BlazePose (its views
    are unrelated images: they must not disturb the tracking detector's state)."""
    from perspose_rt.detect import BlazePoseDetector
    from perspose_rt.detect.search import ExtendedSearch, SearchConfig

    return ExtendedSearch(BlazePoseDetector(static_image_mode=True,
                                            min_detection_confidence=opts.min_detection_confidence),
                          SearchConfig(max_runs=opts.search_runs))


def make_detector(opts: EstimatorOptions, static: bool, smooth_landmarks: bool | None = None):
    """The person detector of a run: MediaPipe's legacy one-person solution for one person, the
    Tasks PoseLandmarker (bundle built from the same wheel's models) for several.
    ``smooth_landmarks``: the legacy solution's own landmark smoothing (video only; ``None``: its
    default); the Tasks landmarker has no such switch."""
    if opts.max_people == 1:
        from perspose_rt.detect import BlazePoseDetector

        return BlazePoseDetector(static_image_mode=static, min_detection_confidence=opts.min_detection_confidence,
                                 smooth_landmarks=smooth_landmarks)
    from perspose_rt.detect.tasks_pose import TasksPoseDetector

    return TasksPoseDetector("image" if static else "video", opts.max_people,
                             min_detection_confidence=opts.min_detection_confidence)


def _detector_detail(opts: EstimatorOptions) -> str:
    if opts.max_people == 1:
        return "MediaPipe BlazePose (model_complexity=1)"
    return f"MediaPipe Tasks PoseLandmarker (full, num_poses={opts.max_people})"


def _perspose_stages(opts: EstimatorOptions) -> tuple[list[Any], dict]:
    from perspose_rt.backends import open_backend
    from perspose_rt.metrics.joints import PERSPOSE25_NAMES
    from perspose_rt.pipeline.perspose_stage import PersPoseStage

    # A file, an engine folder, or the stem NAME that import-checkpoint / export wrote files under.
    weights = _check_perspose_options(opts)
    backend = open_backend(opts.backend, weights, device=opts.device)
    detector = make_detector(opts, static=True)  # re-acquisition only: every call stands alone
    stage = PersPoseStage(backend, detector, track=not opts.static_images)
    hash_file = weights if weights.is_file() else None
    if weights.suffix == ".json" and weights.with_suffix(".safetensors").is_file():
        hash_file = weights.with_suffix(".safetensors")
    meta = {
        "estimator": "perspose",
        "estimator_detail": f"PersPose {backend.describe()}; boxes: {_detector_detail(opts)}",
        "joint_format": "perspose25", "joint_names": list(PERSPOSE25_NAMES),
        "weights": weights.name,
        "weights_sha256": _sha256(hash_file) if hash_file is not None else None,
        "detector_smoothing": False,  # the detector runs on each frame alone (static image mode)
    }
    return [stage], meta


def _check_perspose_options(opts: EstimatorOptions) -> Path:
    """The weights path of ``--estimator perspose`` (a file, an engine folder or a stem), checked
    with the device; one-line errors."""
    if opts.weights is None:
        raise UserError("--estimator perspose needs --weights (PersPose weights, an .onnx file or an "
                        "engine folder); no PersPose weights ship with perspose-rt")
    weights = resolve_weights_path(opts.weights, _STEM_SUFFIXES.get(opts.backend, ()))
    from perspose_rt.cli.validate import check_device

    check_device(opts.device)  # "no CUDA GPU" is one line
    return weights


def _check_combinations(opts: EstimatorOptions) -> None:
    if opts.name not in ESTIMATORS:
        raise UserError(f"unknown estimator {opts.name!r}; choose one of {', '.join(ESTIMATORS)}")
    if opts.rigid and opts.static_images:
        raise UserError("--rigid fits bone lengths over time: use it for videos and live input, not photos")
    if opts.rigid and (not opts.ik or opts.name != "lifter"):
        raise UserError("--rigid needs the IK of the lifter's H36M-17 skeleton (not with --no-ik or --estimator perspose)")


def check_estimator_inputs(opts: EstimatorOptions) -> None:
    """Everything about ``opts`` that can be checked before a source is opened or MediaPipe starts:
    option combinations, the weights files (a custom lifter is read once here, which names a
    corrupt file in one line) and the device. Raises a one-line :class:`UserError`."""
    _check_combinations(opts)
    if opts.name == "lifter" and opts.lifter_weights is not None:
        from perspose_rt.lifter.weights import load_weights

        load_weights(opts.lifter_weights)
    elif opts.name == "perspose":
        _check_perspose_options(opts)


def build_stages(opts: EstimatorOptions, fps: float | None = None) -> tuple[list[Any], dict]:
    """The stages of a run and their metadata (estimator, joints, weights hash, smoothing, IK)."""
    from perspose_rt.pipeline.chain import StageChain
    from perspose_rt.pipeline.post import IKStage, ProjectStage, SmoothStage, SMPLIKStage
    from perspose_rt.pipeline.tracking import check_max_people

    check_max_people(opts.max_people)
    _check_combinations(opts)
    if opts.name == "lifter":
        stages, meta = _lifter_stages(opts)
    else:
        stages, meta = _perspose_stages(opts)
    smoothing = "none" if opts.static_images else opts.smoothing
    smooth = SmoothStage(smoothing, len(meta["joint_names"]), fps)
    post: list[Any] = [smooth]
    meta["smoothing"] = smoothing
    meta["smoothing_settings"] = _settings(smooth.smoother)
    if opts.ik and meta["joint_format"] == "h36m17":
        post.append(IKStage(rigid=opts.rigid))
        meta["rotations"] = "local rotation matrices of the H36M-17 skeleton (perspose_rt.kinematics)"
    elif opts.ik and meta["joint_format"] == "perspose25":
        model = None
        if opts.smpl_dir is not None:
            from perspose_rt.kinematics import find_smpl_model, load_smpl_model

            model = load_smpl_model(find_smpl_model(opts.smpl_dir))
        post.append(SMPLIKStage(model))
        meta["rotations"] = ("SMPL theta: 24 local rotation matrices (row 0 global orientation, camera frame) "
                             "+ identity for joint 24; " + ("SMPL model " + model.source if model is not None
                                                              else "generic SMPL skeleton (no --smpl-dir)"))
    post.append(ProjectStage())  # tiny: never a thread of its own
    if opts.name == "lifter":  # numpy on 17 joints: all in one thread beside the detector's
        stages = [stages[0], StageChain(*stages[1:], *post, name="pose")]
    else:  # the network's stage releases the GIL: smoothing and IK overlap with it
        stages += post[:-2] + [StageChain(*post[-2:])]
    meta["max_people"] = int(opts.max_people)
    meta["skeleton"] = "rigid (fitted bone lengths, joints = forward kinematics)" if opts.rigid else "free"
    return stages, meta


def _settings(smoother: Any) -> dict:
    from dataclasses import asdict, is_dataclass

    s = getattr(smoother, "settings", None)
    return asdict(s) if is_dataclass(s) else {}
