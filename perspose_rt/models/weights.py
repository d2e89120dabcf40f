"""Our weights format: ``NAME.safetensors`` (tensors) + ``NAME.json`` (the :class:`NetConfig`).

The config is also stored in the safetensors header (``metadata["perspose_rt_config"]``) so that a
``.json`` paired with the wrong tensors is detected. Loading checks the format version, rebuilds
the network the config describes, and refuses — naming the keys — any tensor that is missing,
unexpected or of the wrong shape.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from perspose_rt.errors import WeightsError
from perspose_rt.io.weights import file_sha256, read_json, write_pair
from perspose_rt.io.weights import read_tensors as _read_safetensors
from perspose_rt.models.config import NetConfig

__all__ = ["file_sha256", "load_weights", "read_config", "read_tensors", "save_weights", "weights_paths"]

META_KEY = "perspose_rt_config"
MAX_NAMES = 12


def weights_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(``.safetensors``, ``.json``) for ``path`` given with either suffix or none."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


@dataclass
class StateDictReport:
    """Differences between the tensors a network expects and those given."""

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    misshaped: list[str] = field(default_factory=list)  # "name: got (…) expected (…)"

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.misshaped)

    def summary(self) -> str:
        parts = []
        for label, names in (("missing", self.missing), ("unexpected", self.unexpected),
                             ("wrong shape", self.misshaped)):
            if names:
                shown = ", ".join(names[:MAX_NAMES])
                more = f", … ({len(names) - MAX_NAMES} more)" if len(names) > MAX_NAMES else ""
                parts.append(f"{len(names)} {label}: {shown}{more}")
        return "; ".join(parts)

    def lines(self) -> list[str]:
        """Every problem, one per line (for a full listing on the console)."""
        return ([f"missing: {n}" for n in self.missing] + [f"unexpected: {n}" for n in self.unexpected]
                + [f"wrong shape: {n}" for n in self.misshaped])


def compare_state_dict(expected: Mapping[str, tuple[int, ...]],
                       given: Mapping[str, torch.Tensor]) -> StateDictReport:
    """Compare names and shapes (``expected`` maps name → shape)."""
    rep = StateDictReport()
    rep.missing = sorted(k for k in expected if k not in given)
    rep.unexpected = sorted(k for k in given if k not in expected)
    for k in sorted(set(expected) & set(given)):
        got = tuple(given[k].shape)
        if got != tuple(expected[k]):
            rep.misshaped.append(f"{k}: got {got} expected {tuple(expected[k])}")
    return rep


def expected_shapes(config: NetConfig) -> dict[str, tuple[int, ...]]:
    """Name → shape of every tensor of the network ``config`` describes (built on the meta device)."""
    from perspose_rt.models.perspose import PersPoseNet

    with torch.device("meta"):
        net = PersPoseNet(config)
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


def check_tensors(config: NetConfig, tensors: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise :class:`WeightsError` unless ``tensors`` fit the network of ``config`` exactly."""
    rep = compare_state_dict(expected_shapes(config), tensors)
    if not rep.ok:
        raise WeightsError(f"{source} does not match the {config.backbone.name} network: {rep.summary()}")
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise WeightsError(f"{source} has non-finite values in {', '.join(bad[:MAX_NAMES])}")


def save_weights(net: torch.nn.Module, path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write the network's tensors and config (both atomically). Returns the two paths."""
    st_path, json_path = weights_paths(path)
    cfg_json = net.config.to_json()
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    tensors = {k: (v.float() if v.is_floating_point() else v) for k, v in tensors.items()}
    return write_pair(st_path, json_path, tensors, cfg_json, header={META_KEY: cfg_json})


def read_config(path: str | os.PathLike[str]) -> NetConfig:
    """The :class:`NetConfig` of a weights file (reads only the ``.json``)."""
    _, json_path = weights_paths(path)
    data = read_json(json_path, "weights config (expected beside the .safetensors file)")
    return NetConfig.from_dict(data, source=str(json_path))


def read_tensors(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], NetConfig]:
    """Tensors and config of a weights file, with the pairing of the two files checked."""
    st_path, json_path = weights_paths(path)
    if not st_path.is_file():
        raise WeightsError(f"weights file {st_path} not found; import an official checkpoint with "
                           "`perspose-rt import-checkpoint` or train one with `perspose-rt train`")
    config = read_config(path)
    tensors, meta = _read_safetensors(st_path)
    if META_KEY in meta:
        try:
            stored = NetConfig.from_dict(json.loads(meta[META_KEY]), source=f"{st_path} header")
        except json.JSONDecodeError:
            raise WeightsError(f"{st_path} has a corrupt config header") from None
        if stored != config:
            raise WeightsError(f"{json_path} ({config.backbone.name}) does not belong to {st_path} "
                               f"({stored.backbone.name}); keep the .json written with the weights")
    return tensors, config


def load_weights(path: str | os.PathLike[str], flip_test: bool = False,
                 expected: NetConfig | None = None) -> torch.nn.Module:
    """Build and load the :class:`PersPoseNet` stored at ``path`` (eval mode, CPU, FP32).

    Args:
        path: ``NAME``, ``NAME.safetensors`` or ``NAME.json``.
        flip_test: default flip-test setting of the returned network.
        expected: if given, the config the caller requires; any other is a :class:`WeightsError`.
    """
    from perspose_rt.models.perspose import PersPoseNet

    tensors, config = read_tensors(path)
    st_path, _ = weights_paths(path)
    if expected is not None and expected != config:
        raise WeightsError(f"{st_path} is a {config.backbone.name} network but a "
                           f"{expected.backbone.name} network was requested")
    check_tensors(config, tensors, str(st_path))
    net = PersPoseNet(config, flip_test=flip_test)
    net.load_state_dict(tensors, strict=True)
    return net.eval()
