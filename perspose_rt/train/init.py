"""Where a training run's weights start: an official checkpoint, our weights, the COCO HRNet
backbone of the official recipe, or the official random initialisation (design doc §1.2)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

from perspose_rt.errors import WeightsError
from perspose_rt.models.config import NetConfig

log = logging.getLogger(__name__)

#: Top-level backbone modules the official recipe loads from ``pose_hrnet_w48_256x192.pth``.
BACKBONE_PREFIXES = ("conv1", "bn1", "conv2", "bn2", "layer1", "transition1", "stage2", "transition2",
                     "stage3", "transition3", "stage4")


def official_random_init(net: nn.Module) -> None:
    """Backbone convs ~ N(0, 0.001) with zero bias, BN weight 1 and bias 0; heads keep PyTorch's
    default init and ``cam_layer`` N(0, 0.01) (already set by the network)."""
    for m in net.backbone.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, std=0.001)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def load_backbone_checkpoint(net: nn.Module, path: str | Path) -> str:
    """Load the COCO HRNet pose checkpoint into ``net.backbone`` (strict=False, weights_only=True).

    Keeps only the names under :data:`BACKBONE_PREFIXES` after stripping a leading ``hrnet.`` (and
    ``module.``); tensors of another shape (a variant other than W48) are skipped. Returns a
    one-line summary of what was loaded, skipped and left missing.
    """
    from perspose_rt.models.official import read_official_checkpoint

    obj = read_official_checkpoint(path)
    sd = obj.get("state_dict", obj.get("model", obj)) if isinstance(obj, dict) else None
    if not isinstance(sd, dict) or not sd:
        raise WeightsError(f"{path} is not a state_dict (or a dict with 'state_dict'/'model')")
    own = net.backbone.state_dict()
    keep, skipped_shape, ignored = {}, [], 0
    for k, v in sd.items():
        name = str(k).removeprefix("module.").removeprefix("hrnet.")
        if name.split(".")[0] not in BACKBONE_PREFIXES or not isinstance(v, torch.Tensor):
            ignored += 1
            continue
        if name in own and tuple(own[name].shape) != tuple(v.shape):
            skipped_shape.append(name)
            continue
        keep[name] = v
    res = net.backbone.load_state_dict(keep, strict=False)
    missing = [k for k in res.missing_keys if k.split(".")[0] in BACKBONE_PREFIXES]
    if not keep or len(keep) == len(res.unexpected_keys):
        raise WeightsError(f"{path}: no tensor fits the {net.config.backbone.name} backbone "
                           f"({len(skipped_shape)} of another shape); is it an HRNet pose checkpoint?")
    msg = (f"--init-backbone {path}: loaded {len(keep) - len(res.unexpected_keys)} backbone tensors; "
           f"{len(missing)} backbone tensors missing (kept random)"
           + (f", {len(skipped_shape)} skipped for shape (variant {net.config.backbone.name})" if skipped_shape else "")
           + f", {ignored} outside the loaded modules ignored; the classification head, heads and PE "
           "layer start random")
    return msg


def build_network(variant: str, input_size: int, init: Path | None, init_backbone: Path | None,
                  encoding: str = "pepr"):
    """The network to train and a sentence saying how it was initialised. ``encoding`` (``pepr``,
    ``pr``, ``pe``, ``none``: :data:`~perspose_rt.models.config.ENCODINGS`) is stored in the
    network's config; ``--init`` weights must have been trained with the same."""
    from dataclasses import replace

    from perspose_rt.models.config import ENCODINGS
    from perspose_rt.models.perspose import PersPoseNet

    if init is not None:
        init = Path(init)
        if init.suffix in (".pth", ".pt", ".tar"):
            from perspose_rt.models.official import (
                load_official_state_dict,
                read_official_checkpoint,
            )

            if variant != "w48" or input_size != 256:
                raise WeightsError("official checkpoints are W48 at 256 px: use --variant w48 --input-size 256")
            net = load_official_state_dict(read_official_checkpoint(init))
            how = f"initialised from the official checkpoint {init} (through the importer)"
        else:
            from perspose_rt.models.weights import load_weights

            net = load_weights(init)
            if net.config.backbone.name != variant or net.config.input_size != input_size:
                raise WeightsError(f"{init} is {net.config.backbone.name} at {net.config.input_size} px, "
                                   f"not --variant {variant} --input-size {input_size}")
            how = f"initialised from our weights {init}"
        if init_backbone is not None:
            raise WeightsError("give --init or --init-backbone, not both")
        if net.config.encoding != encoding:
            raise WeightsError(f"{init} was trained with --encoding {net.config.encoding}, not {encoding}")
        return net.train(), how
    pe, pr = ENCODINGS[encoding]
    cfg = NetConfig.variant(variant)
    net = PersPoseNet(replace(NetConfig(backbone=cfg.backbone, input_size=input_size), pe=pe, pr=pr))
    official_random_init(net)
    if init_backbone is not None:
        return net, load_backbone_checkpoint(net, init_backbone)
    return net, ("random initialisation (no --init or --init-backbone): expect a long run; the official "
                 "recipe starts from the COCO HRNet checkpoint")
