"""Pixels from geometry: a CPU z-buffer rasterizer for the 3-D face preview and figures."""

from generators.render.rasterizer import Camera, render_mesh, vertex_normals

__all__ = ["Camera", "render_mesh", "vertex_normals"]
