"""Minimal mesh I/O and surface sampling for BEHAVE's PLY/OBJ object templates (no trimesh needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

_PLY_TYPES = {"char": "i1", "uchar": "u1", "int8": "i1", "uint8": "u1", "short": "i2", "ushort": "u2",
              "int16": "i2", "uint16": "u2", "int": "i4", "uint": "u4", "int32": "i4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def _parse_header(lines: list[str]) -> tuple[str, list[tuple[str, int, list[tuple]]]]:
    fmt, elements = "ascii", []
    for line in lines:
        parts = line.split()
        if parts[0] == "format":
            fmt = parts[1]
        elif parts[0] == "element":
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property":
            prop = ("list", parts[2], parts[3], parts[4]) if parts[1] == "list" else ("scalar", parts[1],
                                                                                      parts[2])
            elements[-1][2].append(prop)
    return fmt, elements


def _read_binary(data: bytes, elements: list, order: str) -> dict[str, list[np.ndarray] | np.ndarray]:
    out: dict[str, list[np.ndarray] | np.ndarray] = {}
    offset = 0
    for name, count, props in elements:
        if all(p[0] == "scalar" for p in props):
            dtype = np.dtype([(p[2], order + _PLY_TYPES[p[1]]) for p in props])
            out[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += dtype.itemsize * count
            continue
        rows = []
        for _ in range(count):
            row = []
            for prop in props:
                if prop[0] == "scalar":
                    dt = np.dtype(order + _PLY_TYPES[prop[1]])
                    row.append(np.frombuffer(data, dt, 1, offset))
                    offset += dt.itemsize
                else:
                    count_dt = np.dtype(order + _PLY_TYPES[prop[1]])
                    item_dt = np.dtype(order + _PLY_TYPES[prop[2]])
                    n = int(np.frombuffer(data, count_dt, 1, offset)[0])
                    offset += count_dt.itemsize
                    row.append(np.frombuffer(data, item_dt, n, offset))
                    offset += item_dt.itemsize * n
            rows.append(row)
        out[name] = rows
    return out


def read_ply(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(verts (V,3) float64 in the file's units, faces (F,3) int64; empty faces for point clouds)."""
    raw = Path(path).read_bytes()
    end = raw.index(b"end_header") + len(b"end_header")
    end = raw.index(b"\n", end) + 1
    fmt, elements = _parse_header(raw[:end].decode("ascii").splitlines()[1:])
    sizes = {name: count for name, count, _ in elements}
    if fmt == "ascii":
        tokens = raw[end:].decode("ascii").split("\n")
        n_verts, n_faces = sizes.get("vertex", 0), sizes.get("face", 0)
        verts = np.array([[float(v) for v in tokens[i].split()[:3]] for i in range(n_verts)])
        faces = [[int(v) for v in tokens[n_verts + i].split()[1:]] for i in range(n_faces)]
    else:
        table = _read_binary(raw[end:], elements, "<" if fmt == "binary_little_endian" else ">")
        vtx = table["vertex"]
        verts = np.stack([vtx["x"], vtx["y"], vtx["z"]], axis=1).astype(np.float64)
        face_props = next((props for name, _, props in elements if name == "face"), [])
        list_pos = next((i for i, prop in enumerate(face_props) if prop[0] == "list"), 0)
        faces = [row[list_pos].tolist() for row in table.get("face", [])]
    tris = [[f[0], f[i], f[i + 1]] for f in faces for i in range(1, len(f) - 1)]
    return verts.reshape(-1, 3), np.asarray(tris, dtype=np.int64).reshape(-1, 3)


def write_ply(path: str | Path, verts: np.ndarray, faces: np.ndarray | None = None) -> None:
    """Write an ASCII PLY with vertices (V,3) and optional triangles (F,3)."""
    faces = np.zeros((0, 3), np.int64) if faces is None else np.asarray(faces)
    lines = ["ply", "format ascii 1.0", f"element vertex {len(verts)}", "property float x",
             "property float y", "property float z", f"element face {len(faces)}",
             "property list uchar int vertex_indices", "end_header"]
    lines += [f"{x:.6f} {y:.6f} {z:.6f}" for x, y, z in np.asarray(verts, dtype=np.float64)]
    lines += [f"3 {a} {b} {c}" for a, b, c in faces]
    Path(path).write_text("\n".join(lines) + "\n")


def sample_surface(verts: np.ndarray, faces: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Area-weighted uniform samples (count,3) on a triangle mesh, in the mesh's units and frame."""
    tri = np.asarray(verts, dtype=np.float64)[np.asarray(faces)]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    face_ids = rng.choice(len(faces), size=count, p=area / area.sum())
    u, v = rng.random((2, count))
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    t = tri[face_ids]
    return t[:, 0] + u[:, None] * (t[:, 1] - t[:, 0]) + v[:, None] * (t[:, 2] - t[:, 0])
