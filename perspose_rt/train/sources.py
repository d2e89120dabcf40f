"""Opening the training and validation sets named on the command line, all checked before training.

Bad input is one :class:`~perspose_rt.errors.InputError` line (exit 2): a missing image, annotation
arrays of unequal length, an unknown set name, ratios that sum to 0, a mix naming a set absent
from the data root, a HumanMesh set without ``--smpl-dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.data.mix import parse_mix
from perspose_rt.data.official import MIX_NAMES, SETS, OfficialSource
from perspose_rt.data.portable import PortableSource
from perspose_rt.errors import InputError


class SubsetSource:
    """Samples ``[start, stop)`` of another source (the held-out validation tail, or the rest)."""

    def __init__(self, src, start: int, stop: int, suffix: str = "") -> None:
        self.src, self.start, self.stop = src, start, stop
        self.name, self.kind = src.name + suffix, src.kind

    def __len__(self) -> int:
        return self.stop - self.start

    def record(self, i: int):
        return self.src.record(self.start + i)


@dataclass
class OpenedSets:
    names: list[str]
    train: list  # sources with ratio > 0
    ratios: list[float]
    val: list  # validation sources (3D labels)


def parse_data_specs(specs: list[str] | None, option: str = "--data") -> dict[str, Path]:
    out: dict[str, Path] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise InputError(f"{option} {spec!r}: expected NAME=INDEX.npz")
        if name in out or name in SETS:
            raise InputError(f"{option} name {name!r} is used twice or is an official set name")
        out[name] = Path(path)
    return out


def smpl_joints_fn(smpl_dir: Path | None):
    """``(theta (N,24,3), beta (N,B), transl (N,3)) → {"joints", "twist"}`` (both (N,24,3), camera
    frame) with the user's neutral SMPL: the joints of the posed mesh and the ortho-twists of the
    SMPL loss (:mod:`perspose_rt.data.smpl_labels`)."""
    if smpl_dir is None:
        return None
    from perspose_rt.kinematics.smpl_model import find_smpl_model, load_smpl_model

    model = load_smpl_model(find_smpl_model(smpl_dir, "neutral"))

    def labels(theta: np.ndarray, beta: np.ndarray, transl: np.ndarray) -> dict[str, np.ndarray]:
        from perspose_rt.data.smpl_labels import ortho_twists
        from perspose_rt.geometry import axis_angle_to_matrix

        joints, twists = [], []
        nb = min(beta.shape[-1], model.num_betas)
        for s in range(0, len(theta), 4096):
            R = axis_angle_to_matrix(theta[s:s + 4096])
            b = beta[s:s + 4096, :nb]
            joints.append(model.mesh(b, R, transl[s:s + 4096])[1].numpy())
            twists.append(ortho_twists(model.rest_joints(b), R))
        return {"joints": np.concatenate(joints), "twist": np.concatenate(twists)}

    return labels


def open_training_sets(data_root: Path | None, mix: str | None, data: list[str] | None,
                       val: list[str] | None, smpl_dir: Path | None, val_fraction: float) -> OpenedSets:
    """Open and check every set; hold out a validation split unless ``val`` names one."""
    portable = parse_data_specs(data)
    if data_root is not None and not Path(data_root).is_dir():
        raise InputError(f"--data-root {data_root} is not a folder")
    if data_root is None and not portable:
        raise InputError("no training data: give --data-root DIR --mix NAME=RATIO,... or --data NAME=INDEX.npz")
    known = (MIX_NAMES if data_root is not None else ()) + tuple(portable)
    ratios = parse_mix(mix, known) if mix else {n: 1.0 for n in portable}
    if data_root is not None and not mix:
        raise InputError("--data-root needs --mix NAME=RATIO,... (names: " + ", ".join(MIX_NAMES) + ")")
    smpl = smpl_joints_fn(smpl_dir)
    names, train, rs, held = [], [], [], []
    val_sets = [PortableSource(n, p) for n, p in parse_data_specs(val, "--val").items()]
    for name, r in ratios.items():
        if r <= 0:
            continue
        src = PortableSource(name, portable[name]) if name in portable else OfficialSource(data_root, name, smpl)
        if not val_sets and src.kind != "coco" and val_fraction > 0:
            k = min(1000, max(1, round(len(src) * val_fraction)))
            if len(src) - k < 1:
                raise InputError(f"set {name} has {len(src)} sample(s): too few to hold out a validation "
                                 "split; give --val NAME=INDEX.npz or --val-fraction 0")
            held.append(SubsetSource(src, len(src) - k, len(src), "[val]"))
            src = SubsetSource(src, 0, len(src) - k)
        names.append(name)
        train.append(src)
        rs.append(r)
    return OpenedSets(names, train, rs, val_sets or held)


def open_eval_set(data_root: Path | None, set_name: str | None, data: list[str] | None, smpl_dir: Path | None):
    """The one set ``eval-net`` scores: ``--data-root DIR --set NAME`` or ``--data NAME=INDEX.npz``."""
    portable = parse_data_specs(data)
    if (set_name is None) == (not portable) or len(portable) > 1:
        raise InputError("give either --data-root DIR --set NAME or one --data NAME=INDEX.npz")
    if portable:
        (name, path), = portable.items()
        return PortableSource(name, path)
    if data_root is None:
        raise InputError("--set needs --data-root DIR")
    if set_name not in SETS or SETS[set_name].kind == "coco":
        raise InputError(f"unknown evaluation set {set_name!r}; choose 3dhp_test, h36m_test or 3dpw_test")
    return OfficialSource(data_root, set_name, smpl_joints_fn(smpl_dir))
