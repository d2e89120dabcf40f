"""Read BVH motion through the independent PyPI ``bvh`` parser, and pose it by forward kinematics.

Used to check our own files (the round trip of ``export-bvh``) and to bring real motion capture
(CMU) into tests. Channel semantics follow the BVH convention: the rotation channels of a joint,
in the listed order, compose intrinsically (``Zrotation Yrotation Xrotation`` → ``Rz·Ry·Rx``);
position channels replace the joint's offset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perspose_rt.errors import InputError
from perspose_rt.kinematics.euler import euler_to_matrix


@dataclass(frozen=True)
class BvhMotion:
    """A parsed BVH file. End Sites are extra joints named ``<parent>_end`` with no channels.

    Attributes:
        names: (J,) joint names.
        parents: (J,) parent indices (-1 for the root).
        offsets: (J, 3) OFFSETs in the file's units.
        is_end_site: (J,) bool.
        rotations: (N, J, 3, 3) local rotations (identity for End Sites and joints without
            rotation channels).
        positions: (N, J, 3) position channels (NaN where a joint has none).
        frame_time: seconds per frame.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    is_end_site: np.ndarray
    rotations: np.ndarray
    positions: np.ndarray
    frame_time: float

    def joint_positions(self) -> np.ndarray:
        """(N, J, 3) world positions by forward kinematics, in the file's units."""
        N, J = self.rotations.shape[:2]
        G = np.empty((N, J, 3, 3))
        P = np.empty((N, J, 3))
        for j, p in enumerate(self.parents):
            local_t = np.where(np.isnan(self.positions[:, j]), self.offsets[j], self.positions[:, j])
            if p < 0:
                G[:, j] = self.rotations[:, j]
                P[:, j] = local_t
            else:
                G[:, j] = G[:, p] @ self.rotations[:, j]
                P[:, j] = P[:, p] + (G[:, p] @ local_t[..., None])[..., 0]
        return P

    def index(self, name: str) -> int:
        return self.names.index(name)


def read_bvh(path: str | os.PathLike[str]) -> BvhMotion:
    """Parse a BVH file with the ``bvh`` package.

    Raises:
        InputError: missing or malformed file.
    """
    import bvh

    path = Path(path)
    if not path.is_file():
        raise InputError(f"BVH file not found: {path}")
    try:
        mocap = bvh.Bvh(path.read_text(encoding="utf-8", errors="replace"))
        root = next(mocap.root.filter("ROOT"))
        motion = np.array([[float(v) for v in f] for f in mocap.frames], dtype=np.float64)
        frame_time = float(mocap.frame_time)
    except (StopIteration, LookupError, ValueError, IndexError) as exc:
        raise InputError(f"{path} is not a readable BVH file: {exc}") from exc
    names: list[str] = []
    parents: list[int] = []
    offsets: list[tuple[float, float, float]] = []
    ends: list[bool] = []
    chans: list[tuple[int, list[str]]] = []  # (first column, channel names) per joint
    col = 0

    def visit(node, parent: int) -> None:
        nonlocal col
        j = len(names)
        names.append(node.value[1])
        parents.append(parent)
        offsets.append(tuple(float(v) for v in node["OFFSET"]))
        ends.append(False)
        ch = node["CHANNELS"]
        n = int(ch[0]) if ch else 0
        chans.append((col, list(ch[1:1 + n]) if ch else []))
        col += n
        for child in node.children:
            if child.value and child.value[0] == "JOINT":
                visit(child, j)
            elif child.value[:2] == ["End", "Site"]:
                names.append(f"{names[j]}_end")
                parents.append(j)
                offsets.append(tuple(float(v) for v in child["OFFSET"]))
                ends.append(True)
                chans.append((col, []))

    visit(root, -1)
    if motion.ndim != 2 or motion.shape[1] != col:
        raise InputError(f"{path}: {motion.shape[-1] if motion.ndim == 2 else 0} values per frame, "
                         f"the hierarchy has {col} channels")
    N, J = motion.shape[0], len(names)
    rot = np.broadcast_to(np.eye(3), (N, J, 3, 3)).copy()
    pos = np.full((N, J, 3), np.nan)
    for j, (c0, ch) in enumerate(chans):
        rcols = [(c0 + i, c[0]) for i, c in enumerate(ch) if c.endswith("rotation")]
        pcols = {c[0]: c0 + i for i, c in enumerate(ch) if c.endswith("position")}
        if rcols:
            order = "".join(a for _, a in rcols)
            if len(order) == 3:
                rot[:, j] = euler_to_matrix(np.radians(motion[:, [c for c, _ in rcols]]), order)
            else:
                for c, a in rcols:
                    rot[:, j] = rot[:, j] @ euler_to_matrix(
                        np.radians(np.stack([motion[:, c], 0 * motion[:, c], 0 * motion[:, c]], -1)),
                        a + {"X": "YZ", "Y": "ZX", "Z": "XY"}[a])
        if len(pcols) == 3:
            pos[:, j] = motion[:, [pcols["X"], pcols["Y"], pcols["Z"]]]
    return BvhMotion(tuple(names), tuple(parents), np.array(offsets), np.array(ends), rot, pos,
                     frame_time)
