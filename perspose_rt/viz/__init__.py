"""Visualisation: the 2D overlay and HUD (OpenCV) and the 3D viewer (Open3D, offscreen-capable).

``perspose_rt.viz.viewer3d`` imports Open3D only when a :class:`~perspose_rt.viz.viewer3d.Viewer3D`
is created.
"""

from perspose_rt.viz.overlay import (
    draw_box,
    draw_hud,
    draw_people,
    draw_pose,
    draw_skeleton,
    hud_lines,
    skeleton_edges,
    track_color,
)

__all__ = ["draw_box", "draw_hud", "draw_people", "draw_pose", "draw_skeleton", "hud_lines", "skeleton_edges",
           "track_color"]
