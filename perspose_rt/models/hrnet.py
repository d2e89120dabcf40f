"""HRNet backbone with HybrIK's classification head, in plain PyTorch.

Module and parameter names follow the official PersPose checkpoint exactly (``backbone.*`` in
``official_state_dict.tsv``), so an official state_dict loads with ``strict=True``.

Data flow for a (B, 3, 256, 256) crop (W48 widths shown):

* stem: two 3×3 stride-2 convs → (B, 64, 64, 64); ``layer1`` (Bottlenecks) → (B, 256, 64, 64);
* **PE fusion**: the caller's ``pe_feat`` (B, 256, 64, 64) is added here, before ``transition1``;
* stages 2–4 of multi-resolution modules → 4 branches (B, 48|96|192|384, 64|32|16|8, …);
* outputs: ``y_list[0]`` (B, 48, 64, 64) and the global feature (B, 2048) from the
  ``incre_modules`` / ``downsamp_modules`` / ``final_feat_layer`` head and a spatial mean.
"""

from __future__ import annotations

import torch
from torch import nn

from perspose_rt.models.config import HRNetSpec

BN_MOMENTUM = 0.1
STEM_CHANNELS = 64
LAYER1_PLANES = 64


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, momentum=BN_MOMENTUM)


def _conv3x3(cin: int, cout: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=bias)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = _bn(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = _bn(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = _bn(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = _bn(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = _bn(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


def make_layer(block: type[BasicBlock | Bottleneck], inplanes: int, planes: int, blocks: int,
               stride: int = 1) -> nn.Sequential:
    """``blocks`` residual blocks; the first gets a 1×1 conv + BN shortcut when shapes change."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                                   _bn(planes * block.expansion))
    layers = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """Parallel BasicBlock branches followed by the all-to-all fuse layers (multi-scale output)."""

    def __init__(self, widths: list[int], num_blocks: int):
        super().__init__()
        n = len(widths)
        self.branches = nn.ModuleList([make_layer(BasicBlock, w, w, num_blocks) for w in widths])
        fuse: list[nn.Module] = []
        for i in range(n):
            row: list[nn.Module | None] = []
            for j in range(n):
                if j > i:  # lower resolution → 1×1 conv, BN, nearest upsampling
                    row.append(nn.Sequential(nn.Conv2d(widths[j], widths[i], 1, bias=False), _bn(widths[i]),
                                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(None)
                else:  # higher resolution → chain of stride-2 3×3 convs (ReLU on all but the last)
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = widths[i] if last else widths[j]
                        mods: list[nn.Module] = [_conv3x3(widths[j], cout, 2), _bn(cout)]
                        if not last:
                            mods.append(nn.ReLU(inplace=True))
                        steps.append(nn.Sequential(*mods))
                    row.append(nn.Sequential(*steps))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        out = []
        for i, row in enumerate(self.fuse_layers):
            y = xs[0] if i == 0 else row[0](xs[0])
            for j in range(1, len(xs)):
                y = y + (xs[j] if i == j else row[j](xs[j]))
            out.append(self.relu(y))
        return out


def _transition(prev: list[int], cur: list[int]) -> nn.ModuleList:
    """Adapts branch channels between stages and creates the new lowest-resolution branch."""
    layers: list[nn.Module | None] = []
    for i, c in enumerate(cur):
        if i < len(prev):
            layers.append(None if prev[i] == c else
                          nn.Sequential(_conv3x3(prev[i], c), _bn(c), nn.ReLU(inplace=True)))
        else:
            steps = []
            for k in range(i + 1 - len(prev)):
                cin = prev[-1]
                cout = c if k == i - len(prev) else cin
                steps.append(nn.Sequential(_conv3x3(cin, cout, 2), _bn(cout), nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HRNetBackbone(nn.Module):
    """HRNet with the HybrIK classification head; see the module docstring for shapes."""

    def __init__(self, spec: HRNetSpec):
        super().__init__()
        self.spec = spec
        w = list(spec.widths)
        self.conv1 = _conv3x3(3, STEM_CHANNELS, 2)
        self.bn1 = _bn(STEM_CHANNELS)
        self.conv2 = _conv3x3(STEM_CHANNELS, STEM_CHANNELS, 2)
        self.bn2 = _bn(STEM_CHANNELS)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = make_layer(Bottleneck, STEM_CHANNELS, LAYER1_PLANES, spec.layer1_blocks)
        l1_out = LAYER1_PLANES * Bottleneck.expansion
        self.transition1 = _transition([l1_out], w[:2])
        self.stage2 = self._stage(w[:2], spec.stage_modules[0], spec.stage_blocks[0])
        self.transition2 = _transition(w[:2], w[:3])
        self.stage3 = self._stage(w[:3], spec.stage_modules[1], spec.stage_blocks[1])
        self.transition3 = _transition(w[:3], w[:4])
        self.stage4 = self._stage(w[:4], spec.stage_modules[2], spec.stage_blocks[2])
        head = [p * Bottleneck.expansion for p in spec.head_planes]
        self.incre_modules = nn.ModuleList(
            [make_layer(Bottleneck, w[i], spec.head_planes[i], 1) for i in range(4)])
        self.downsamp_modules = nn.ModuleList(
            [nn.Sequential(_conv3x3(head[i], head[i + 1], 2, bias=True), _bn(head[i + 1]), nn.ReLU(inplace=True))
             for i in range(3)])
        self.final_feat_layer = nn.Sequential(nn.Conv2d(head[3], spec.feat_dim, 1, bias=True),
                                              _bn(spec.feat_dim), nn.ReLU(inplace=True))
        self.pe_channels = l1_out

    @staticmethod
    def _stage(widths: list[int], modules: int, blocks: int) -> nn.Sequential:
        return nn.Sequential(*[HighResolutionModule(widths, blocks) for _ in range(modules)])

    @staticmethod
    def _apply_transition(trans: nn.ModuleList, ys: list[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for i, t in enumerate(trans):
            if t is None:
                out.append(ys[i])
            else:
                out.append(t(ys[i] if i < len(ys) else ys[-1]))
        return out

    def forward(self, x: torch.Tensor, pe_feat: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x (B,3,H,W) normalised image; pe_feat (B,256,H/4,W/4) or None.

        Returns: (B, widths[0], H/4, W/4) high-resolution features and (B, feat_dim) global feature.
        """
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.layer1(x)
        if pe_feat is not None:
            x = x + pe_feat
        ys = self.stage2(self._apply_transition(self.transition1, [x]))
        ys = self.stage3(self._apply_transition(self.transition2, ys))
        ys = self.stage4(self._apply_transition(self.transition3, ys))
        y = self.incre_modules[0](ys[0])
        for i, down in enumerate(self.downsamp_modules):
            y = self.incre_modules[i + 1](ys[i + 1]) + down(y)
        y = self.final_feat_layer(y)
        return ys[0], y.mean(dim=(2, 3))
