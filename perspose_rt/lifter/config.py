"""The lifter's network configuration (torch-free, so the live path can read it without torch)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from perspose_rt.lifter.encoding import VARIANTS


@dataclass(frozen=True)
class LifterConfig:
    """Everything needed to rebuild a network (saved as JSON beside the weights)."""

    kind: str = "single"  # "single" | "temporal"
    variant: str = "pepr"
    width: int = 1024
    blocks: int = 2  # residual blocks (single) or dilated layers after the first (temporal)
    dropout: float = 0.1
    #: temporal only: width of a single-frame residual MLP (``blocks`` = 2) whose output for the
    #: newest frame the convnet corrects (0 = none). Trained first, then frozen (``--init-base``).
    base_width: int = 0

    @property
    def window(self) -> int:
        return 1 if self.kind == "single" else 3 ** (self.blocks + 1)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LifterConfig:
        cfg = cls(**{k: d[k] for k in ("kind", "variant", "width", "blocks", "dropout", "base_width")
                     if k in d})
        if cfg.kind not in ("single", "temporal") or cfg.variant not in VARIANTS:
            raise ValueError(f"unsupported lifter config {d}")
        return cfg
