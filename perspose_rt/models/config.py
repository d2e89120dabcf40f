"""Network configuration: the HRNet variant, joints, input size and normalisation.

The configuration travels with every weights file (``*.json`` beside ``*.safetensors``) and with
every engine manifest, so that a file can never be loaded into a network of another shape.

Variants (all share the official PersPose layout: 64-channel stem, 4 stages, PE added to the
256-channel output of ``layer1``, HybrIK's classification head giving a 2048-d global feature):

=========  ==========================  ================  ================  ============
name       branch widths               modules s2/s3/s4  blocks / branch   layer1 blocks
=========  ==========================  ================  ================  ============
``w48``    48, 96, 192, 384 (official)  1 / 4 / 3         4                 4
``w32``    32, 64, 128, 256            1 / 4 / 3         4                 4
``w18s``   18, 36, 72, 144             1 / 3 / 2         2                 2
=========  ==========================  ================  ================  ============

``w18s`` follows HRNet-W18-small-v2 (fewer modules and blocks); it is the CPU/edge variant.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from perspose_rt.errors import WeightsError

#: Version of the weights/config format written by :func:`NetConfig.to_dict`.
FORMAT_NAME = "perspose-rt/perspose-net"
FORMAT_VERSION = 1

#: The ablation's input variants (``--encoding``): name → (PE on, PR on).
ENCODINGS: dict[str, tuple[bool, bool]] = {"pepr": (True, True), "pr": (False, True), "pe": (True, False),
                                           "none": (False, False)}
ENCODINGS_BY_FLAGS = {v: k for k, v in ENCODINGS.items()}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class HRNetSpec:
    """Shape of an HRNet backbone with the HybrIK classification head.

    Attributes:
        name: variant name (``w48``, ``w32``, ``w18s``).
        widths: channels of the 4 branches (resolutions 1/4, 1/8, 1/16, 1/32 of the input).
        layer1_blocks: Bottlenecks in ``layer1`` (planes 64, output 256 channels).
        stage_modules: HighResolutionModules in stages 2, 3 and 4.
        stage_blocks: BasicBlocks per branch in every module of stages 2, 3 and 4.
        head_planes: Bottleneck planes of the 4 ``incre_modules`` (outputs are 4× these).
        feat_dim: channels of ``final_feat_layer`` = length of the global feature.
    """

    name: str
    widths: tuple[int, int, int, int]
    layer1_blocks: int = 4
    stage_modules: tuple[int, int, int] = (1, 4, 3)
    stage_blocks: tuple[int, int, int] = (4, 4, 4)
    head_planes: tuple[int, int, int, int] = (32, 64, 128, 256)
    feat_dim: int = 2048


BACKBONES: dict[str, HRNetSpec] = {
    "w48": HRNetSpec("w48", (48, 96, 192, 384)),
    "w32": HRNetSpec("w32", (32, 64, 128, 256)),
    "w18s": HRNetSpec("w18s", (18, 36, 72, 144), layer1_blocks=2, stage_modules=(1, 3, 2),
                      stage_blocks=(2, 2, 2)),
}


@dataclass(frozen=True)
class NetConfig:
    """Everything needed to rebuild a :class:`~perspose_rt.models.PersPoseNet`.

    Attributes:
        backbone: the HRNet variant.
        num_joints: 25 = SMPL joints 0–23 + the H36M-regressor pelvis.
        num_betas: SMPL shape coefficients predicted (11, as the official code).
        num_leaf: leaf rotations predicted (SMPL joints 22, 23, 10, 11, 15).
        input_size: square crop side in pixels (256).
        heatmap_stride: crop pixels per heatmap/PE cell (4, so a 64×64 grid).
        mean, std: ImageNet normalisation of RGB in [0, 1] (design doc §3.3).
        pe: Perspective Encoding on. Off (the ablation's "PR only" and "neither"), the 2-channel
            PE map is replaced by zeros, so ``cam_layer`` adds nothing: the architecture and the
            tensors stay the same, only the input the network sees changes.
        pr: Perspective Rotation on. Off (the ablation's "PE only" and "neither"), the crop is
            the axis-aligned box crop of :func:`perspose_rt.geometry.prepare_box_crop` (no
            rotation, ``K_crop`` keeps the original, off-centre principal point). Whoever
            crops for this network (trainer, ``eval-net``, the pipeline stage) reads it here.
        Weights written before these two fields existed load with both on.
    """

    backbone: HRNetSpec = field(default_factory=lambda: BACKBONES["w48"])
    num_joints: int = 25
    num_betas: int = 11
    num_leaf: int = 5
    input_size: int = 256
    heatmap_stride: int = 4
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    pe: bool = True
    pr: bool = True

    @classmethod
    def variant(cls, name: str) -> NetConfig:
        """The default configuration with backbone ``name`` (``w48``, ``w32`` or ``w18s``)."""
        if name not in BACKBONES:
            raise WeightsError(f"unknown network variant {name!r}; choose one of {sorted(BACKBONES)}")
        return cls(backbone=BACKBONES[name])

    @property
    def encoding(self) -> str:
        """``pepr``, ``pr``, ``pe`` or ``none``: which of PE and PR the network was trained with."""
        return ENCODINGS_BY_FLAGS[(self.pe, self.pr)]

    @property
    def heatmap_size(self) -> int:
        return self.input_size // self.heatmap_stride

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "architecture": "perspose-hrnet-pe", **d}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "config") -> NetConfig:
        """Parse a dict written by :meth:`to_dict`; any mismatch is a :class:`WeightsError`."""
        if not isinstance(d, dict) or d.get("format") != FORMAT_NAME:
            raise WeightsError(f"{source} is not a perspose-rt network config (format must be {FORMAT_NAME!r})")
        if d.get("version") != FORMAT_VERSION:
            raise WeightsError(f"{source} has config version {d.get('version')!r}, this perspose-rt reads "
                               f"version {FORMAT_VERSION}; re-export the weights with this version")
        if d.get("architecture") != "perspose-hrnet-pe":
            raise WeightsError(f"{source} describes architecture {d.get('architecture')!r}, "
                               "expected 'perspose-hrnet-pe'")
        try:
            b = d["backbone"]
            spec = HRNetSpec(name=str(b["name"]), widths=_ints(b["widths"], 4),
                             layer1_blocks=int(b["layer1_blocks"]),
                             stage_modules=_ints(b["stage_modules"], 3),
                             stage_blocks=_ints(b["stage_blocks"], 3),
                             head_planes=_ints(b["head_planes"], 4), feat_dim=int(b["feat_dim"]))
            cfg = cls(backbone=spec, num_joints=int(d["num_joints"]), num_betas=int(d["num_betas"]),
                      num_leaf=int(d["num_leaf"]), input_size=int(d["input_size"]),
                      heatmap_stride=int(d["heatmap_stride"]), mean=_floats(d["mean"], 3),
                      std=_floats(d["std"], 3), pe=_flag(d.get("pe", True)), pr=_flag(d.get("pr", True)))
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"{source} is malformed ({type(exc).__name__}: {exc}); "
                               "re-export the weights") from None
        if cfg.num_joints != 25 or cfg.num_leaf != 5 or cfg.input_size % cfg.heatmap_stride:
            raise WeightsError(f"{source}: unsupported joints/leaf/input size "
                               f"({cfg.num_joints}, {cfg.num_leaf}, {cfg.input_size})")
        return cfg


def _flag(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected true or false, got {v!r}")
    return v


def _ints(v: Any, n: int) -> tuple:
    t = tuple(int(x) for x in v)
    if len(t) != n:
        raise ValueError(f"expected {n} integers, got {len(t)}")
    return t


def _floats(v: Any, n: int) -> tuple:
    t = tuple(float(x) for x in v)
    if len(t) != n:
        raise ValueError(f"expected {n} numbers, got {len(t)}")
    return t
