"""Minimal Wavefront OBJ reading/writing (vertices and triangular faces only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_obj(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V,3) float32 and triangles (F,3) int64 of an OBJ file (polygons fan-triangulated)."""
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    with open(path) as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                ids = [int(tok.split("/")[0]) for tok in line.split()[1:]]
                ids = [i - 1 if i > 0 else len(verts) + i for i in ids]
                faces += [[ids[0], ids[k], ids[k + 1]] for k in range(1, len(ids) - 1)]
    if not verts or not faces:
        raise ValueError(f"{path} has no vertices or faces")
    return np.asarray(verts, np.float32), np.asarray(faces, np.int64)


def write_obj(path: str | Path, verts: np.ndarray, faces: np.ndarray) -> None:
    """Write vertices (V,3) and triangles (F,3) (0-based) as an OBJ file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in np.asarray(verts, np.float64)]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in np.asarray(faces, np.int64)]
    path.write_text("\n".join(lines) + "\n")
