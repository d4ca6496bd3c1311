"""Triangle-mesh files and surface sampling: the one mesh reader (trimesh) and area-weighted sampler.

trimesh reads PLY (ASCII and binary), OBJ, STL, OFF and GLB as published, so no format is parsed by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def read_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V,3) float64 in the file's units and frame, triangles (F,3) int64 (polygons triangulated).

    Vertices are kept as stored (no merging or reordering), so per-vertex annotations stay aligned.
    A point cloud without faces returns an empty (0,3) face array.
    """
    import trimesh

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"mesh file {path} does not exist")
    loaded = trimesh.load(path, force="mesh", process=False, maintain_order=True)
    if isinstance(loaded, trimesh.PointCloud):
        return np.asarray(loaded.vertices, np.float64), np.zeros((0, 3), np.int64)
    verts = np.asarray(loaded.vertices, np.float64)
    if len(verts) == 0:
        raise ValueError(f"{path} has no vertices")
    return verts, np.asarray(loaded.faces, np.int64).reshape(-1, 3)


def write_mesh(path: str | Path, verts: np.ndarray, faces: np.ndarray | None = None) -> None:
    """Write vertices (V,3) and 0-based triangles (F,3) in the format of the suffix (.ply, .obj, .stl, ...)."""
    import trimesh

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    faces = np.zeros((0, 3), np.int64) if faces is None else np.asarray(faces, np.int64)
    trimesh.Trimesh(np.asarray(verts, np.float64), faces, process=False).export(path)


def sample_surface(verts: Any, faces: Any, count: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """`count` points (count,3) float64 drawn uniformly on a triangle mesh surface (area-weighted), seeded.

    verts (V,3) and faces (F,3) as numpy or torch; units and frame of the vertices (trimesh's sampler).
    """
    import trimesh

    v = np.asarray(verts.detach().cpu() if hasattr(verts, "detach") else verts, np.float64)
    f = np.asarray(faces.detach().cpu() if hasattr(faces, "detach") else faces, np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) == 0:
        raise ValueError(f"verts must be a non-empty (V, 3) array, got shape {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
        raise ValueError(f"faces must be a non-empty (F, 3) integer array, got shape {f.shape}")
    mesh = trimesh.Trimesh(v, f, process=False, validate=False)
    if not mesh.area > 0:
        raise ValueError("mesh has zero surface area")
    points, _ = trimesh.sample.sample_surface(mesh, count, seed=seed)
    return np.asarray(points, np.float64)
