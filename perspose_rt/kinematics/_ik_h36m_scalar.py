"""The H36M-17 IK of :mod:`perspose_rt.kinematics.ik_h36m` for a few frames, in plain Python floats.

A live pipeline solves one person-frame at a time, where numpy's per-call overhead (about 500
small-array operations) costs more than the arithmetic. This module runs the very same formulas
(same plan, same thresholds) on Python floats; ``tests/test_kinematics_ik.py`` checks that both
paths agree to 1e-12 on random, straight-limb and degenerate poses.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Vec = tuple[float, float, float]
Mat = tuple[Vec, Vec, Vec]  # rows


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _norm(a: Vec) -> float:
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


def _unit(a: Vec) -> Vec:
    n = math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]) + 1e-30
    return (a[0] / n, a[1] / n, a[2] / n)


def _mv(M: Mat, v: Vec) -> Vec:
    return (_dot(M[0], v), _dot(M[1], v), _dot(M[2], v))


def _mtv(M: Mat, v: Vec) -> Vec:
    """Mᵀ v."""
    return (M[0][0] * v[0] + M[1][0] * v[1] + M[2][0] * v[2],
            M[0][1] * v[0] + M[1][1] * v[1] + M[2][1] * v[2],
            M[0][2] * v[0] + M[1][2] * v[1] + M[2][2] * v[2])


def _mm(A: Mat, B: Mat) -> Mat:
    c0, c1, c2 = (B[0][0], B[1][0], B[2][0]), (B[0][1], B[1][1], B[2][1]), (B[0][2], B[1][2], B[2][2])
    return tuple((_dot(r, c0), _dot(r, c1), _dot(r, c2)) for r in A)  # type: ignore[return-value]


def _swing(a: Vec, b: Vec) -> Mat:
    a, b = _unit(a), _unit(b)
    v = _cross(a, b)
    c = _dot(a, b)
    v2 = _dot(v, v)
    if c < 0 and v2 < 1e-30:
        e = (1.0, 0.0, 0.0) if abs(a[0]) < 0.9 else (0.0, 1.0, 0.0)
        d = _dot(e, a)
        u = _unit((e[0] - d * a[0], e[1] - d * a[1], e[2] - d * a[2]))
        return tuple(tuple(2.0 * u[i] * u[j] - (1.0 if i == j else 0.0) for j in range(3))
                     for i in range(3))  # type: ignore[return-value]
    k = 1.0 / max(1.0 + c, 1e-30) if c >= 0 else (1.0 - c) / max(v2, 1e-30)
    x, y, z = v
    return ((c + k * x * x, -z + k * x * y, y + k * x * z),
            (z + k * y * x, c + k * y * y, -x + k * y * z),
            (-y + k * z * x, x + k * z * y, c + k * z * z))


def _frame(a: Vec, h: Vec) -> Mat:
    a = _unit(a)
    d = _dot(h, a)
    hp = _unit((h[0] - d * a[0], h[1] - d * a[1], h[2] - d * a[2]))
    t = _cross(a, hp)
    return ((a[0], hp[0], t[0]), (a[1], hp[1], t[1]), (a[2], hp[2], t[2]))


def _hinted(a_loc: Vec, hint: Vec, strength: float, lo: float, hi: float, flip: bool, rest_dir: Vec,
            rest_hint: Vec, rest_frame_t: Mat) -> tuple[Mat, float]:
    if _norm(a_loc) < 1e-9:
        a_loc = (a_loc[0] + rest_dir[0], a_loc[1] + rest_dir[1], a_loc[2] + rest_dir[2])
    u = _unit(a_loc)
    p = _mv(_swing(rest_dir, a_loc), rest_hint)
    d = _dot(p, u)
    p = _unit((p[0] - d * u[0], p[1] - d * u[1], p[2] - d * u[2]))
    t = min(max((strength - lo) / (hi - lo), 0.0), 1.0)
    w = t * t * (3.0 - 2.0 * t)
    d = _dot(hint, u)
    n = _unit((hint[0] - d * u[0], hint[1] - d * u[1], hint[2] - d * u[2]))
    if flip and w < 1.0 and _dot(n, p) < 0.0:
        n = (-n[0], -n[1], -n[2])
    q = _cross(u, p)
    phi = w * math.atan2(_dot(n, q), _dot(n, p))
    c, s = math.cos(phi), math.sin(phi)
    h = (c * p[0] + s * q[0], c * p[1] + s * q[1], c * p[2] + s * q[2])
    return _mm(_frame(a_loc, h), rest_frame_t), w


def scalar_plan(levels: Any) -> list[dict[str, Any]]:
    """Python-float copy of the vectorised plan (see ``ik_h36m._plan``)."""
    out = []
    for lev in levels:
        kinds: list[tuple] = [("free",)] * len(lev.joints)
        for i, g in lev.planes:
            kinds[i] = ("plane", g)
        for i, a, b in lev.lines:
            kinds[i] = ("line", a, b)
        out.append({
            "joints": list(lev.joints), "parents": list(lev.parents), "children": list(lev.children),
            "kinds": kinds, "lo": [float(v) for v in lev.lo], "hi": [float(v) for v in lev.hi],
            "flip": [bool(v) for v in lev.flip],
            "rest_dir": [tuple(map(float, r)) for r in lev.rest_dir],
            "rest_hint": [tuple(map(float, r)) for r in lev.rest_hint],
            "rest_frame_t": [tuple(tuple(map(float, row)) for row in m) for m in lev.rest_frame_t],
            "kids": [(int(c), int(o), tuple(map(float, off)))
                     for c, o, off in zip(lev.all_children, lev.owner_joints, lev.child_offsets)],
        })
    return out


def solve_frames(P: np.ndarray, plan: list[dict[str, Any]]) -> tuple[np.ndarray, ...]:
    """Solve each frame of ``P`` (N, 17, 3) float64; returns ``(L, G, Q, W)`` like the vectorised
    path: (N, 17, 3, 3), (N, 17, 3, 3), (N, 17, 3), (N, 17)."""
    eye: Mat = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    zero: Mat = ((0.0, 0.0, 0.0),) * 3
    Ls, Gs, Qs, Ws = [], [], [], []
    for frame in P.tolist():
        p = [tuple(v) for v in frame]
        L = [eye] * 17
        G = [zero] * 17
        Q = [(0.0, 0.0, 0.0)] * 17
        W = [0.0] * 17
        Q[0] = p[0]
        for lev in plan:
            for i, j in enumerate(lev["joints"]):
                c = lev["children"][i]
                a_t = _sub(p[c], p[j])
                kind = lev["kinds"][i]
                if kind[0] == "plane":
                    b_t = _sub(p[kind[1]], p[c])
                    hint = _cross(a_t, b_t)
                    strength = _norm(hint) / max(_norm(a_t) * _norm(b_t), 1e-12)
                elif kind[0] == "line":
                    hint = _sub(p[kind[1]], p[kind[2]])
                    strength = _norm(_cross(_unit(a_t), _unit(hint)))
                else:
                    hint, strength = (0.0, 0.0, 0.0), 0.0
                par = lev["parents"][i]
                if par >= 0:
                    a_t, hint = _mtv(G[par], a_t), _mtv(G[par], hint)
                Lj, w = _hinted(a_t, hint, strength, lev["lo"][i], lev["hi"][i], lev["flip"][i], lev["rest_dir"][i],
                                lev["rest_hint"][i], lev["rest_frame_t"][i])
                L[j], W[j] = Lj, w
                G[j] = Lj if par < 0 else _mm(G[par], Lj)
            for c, owner, off in lev["kids"]:
                d = _mv(G[owner], off)
                q = Q[owner]
                Q[c] = (q[0] + d[0], q[1] + d[1], q[2] + d[2])
        Ls.append(L)
        Gs.append(G)
        Qs.append(Q)
        Ws.append(W)
    return np.array(Ls), np.array(Gs), np.array(Qs), np.array(Ws)
