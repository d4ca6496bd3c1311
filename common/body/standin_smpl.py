"""Deterministic stand-in SMPL model: capsule body, 6890 vertices, real SMPL tree, smplx pickle format."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.body.constants import SMPL_JOINT_NAMES, SMPL_PARENTS, SMPL_PART_NAMES
from common.body.meshing import (
    MeshBuilder,
    capsule,
    capsule_vertex_count,
    nearest_free_vertex,
    orient_consistently,
    permutation_with_fixed_ids,
)

NUM_VERTS = 6890
NUM_BETAS = 10
_LEFT_REST = {  # left-side (+x) and mid-line rest joints in metres, y up, z forward
    0: (0.0, -0.24, 0.025), 1: (0.06, -0.33, 0.02), 3: (0.0, -0.115, 0.0), 4: (0.105, -0.705, 0.03),
    6: (0.0, 0.02, 0.025), 7: (0.09, -1.128, -0.015), 9: (0.0, 0.078, 0.03), 10: (0.12, -1.185, 0.108),
    12: (0.0, 0.293, -0.005), 13: (0.077, 0.2, 0.013), 15: (0.0, 0.37, 0.045), 16: (0.173, 0.229, -0.01),
    18: (0.433, 0.215, -0.036), 20: (0.682, 0.22, -0.04), 22: (0.766, 0.213, -0.054),
}
# Extra (virtual) skeleton nodes: name -> (parent node, left-side position); mirrored on the right.
_LEFT_EXTRA = {
    "toe": (10, (0.125, -1.2, 0.178)), "heel": (7, (0.09, -1.19, -0.06)),
    "thumb": (20, (0.79, 0.2, 0.035)), "index": (22, (0.865, 0.213, -0.025)),
    "middle": (22, (0.875, 0.213, -0.05)), "ring": (22, (0.862, 0.213, -0.072)),
    "pinky": (22, (0.845, 0.213, -0.09)),
}
_FINGER_BASES = {"thumb": (0.70, 0.205, -0.012), "index": (0.78, 0.213, -0.028),
                 "middle": (0.782, 0.213, -0.05), "ring": (0.78, 0.213, -0.07),
                 "pinky": (0.772, 0.213, -0.088)}
# smplx vertex ids (VERTEX_IDS['smplh']) and HybrIK's head top: stand-in landmarks (left-side targets).
_SMPLX_LANDMARKS_LEFT = {"lthumb": 2746, "lindex": 2319, "lmiddle": 2445, "lring": 2556, "lpinky": 2673,
                         "LBigToe": 3216, "LSmallToe": 3226, "LHeel": 3387, "leye": 2800, "lear": 583}
_SMPLX_LANDMARKS_RIGHT = {"rthumb": 6191, "rindex": 5782, "rmiddle": 5905, "rring": 6016, "rpinky": 6133,
                          "RBigToe": 6617, "RSmallToe": 6624, "RHeel": 6787, "reye": 6260, "rear": 4071}
NOSE_ID, HEAD_TOP_ID = 332, 411


@dataclass
class Part:
    """One capsule: endpoints as skeleton node ids, skinning joint, part name and joint rings it defines."""

    start: int
    end: int
    skin_joint: int
    part: str
    radii_a: tuple[float, float]
    radii_b: tuple[float, float]
    hint: tuple[float, float, float]
    n_around: int
    n_mid: int = 3
    start_joint: int | None = None
    end_joint: int | None = None


def skeleton_nodes() -> tuple[np.ndarray, list[int], dict[str, int]]:
    """Positions (N,3) and parents of the 24 SMPL joints followed by the virtual nodes; name -> node id."""
    pos = np.zeros((24, 3))
    for j, p in _LEFT_REST.items():
        pos[j] = p
        name = SMPL_JOINT_NAMES[j]
        if name.startswith("left_"):
            pos[SMPL_JOINT_NAMES.index("right_" + name[5:])] = (-p[0], p[1], p[2])
    parents = list(SMPL_PARENTS)
    nodes, names = [pos[j] for j in range(24)], {}
    for side, sign, offset in (("left", 1.0, 0), ("right", -1.0, 1)):
        for key, (parent, p) in _LEFT_EXTRA.items():
            names[f"{side}_{key}"] = len(nodes)
            nodes.append(np.array([sign * p[0], p[1], p[2]]))
            parents.append(parent + offset if parent not in (15,) else parent)
    names["head_top"] = len(nodes)
    nodes.append(np.array([0.0, 0.45, 0.02]))
    parents.append(15)
    return np.stack(nodes), parents, names


def body_parts(names: dict[str, int]) -> list[Part]:
    """The capsules of the stand-in body (torso, head, limbs, feet, fingers)."""
    x, z = (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)
    parts = [
        Part(0, 3, 0, "torso", (0.14, 0.1), (0.13, 0.095), x, 24, 5, start_joint=0, end_joint=3),
        Part(3, 6, 3, "torso", (0.13, 0.095), (0.14, 0.1), x, 24, 5, end_joint=6),
        Part(6, 9, 6, "torso", (0.14, 0.1), (0.15, 0.1), x, 24, 5, end_joint=9),
        Part(9, 12, 9, "torso", (0.13, 0.09), (0.06, 0.055), x, 24, 3, end_joint=12),
        Part(12, 15, 12, "head", (0.055, 0.055), (0.06, 0.06), x, 16, 2, end_joint=15),
        Part(15, names["head_top"], 15, "head", (0.08, 0.095), (0.085, 0.095), x, 24, 3),
    ]
    for side, s in (("left", 0), ("right", 1)):
        hip, knee, ankle, foot = 1 + s, 4 + s, 7 + s, 10 + s
        collar, shoulder, elbow, wrist, hand = 13 + s, 16 + s, 18 + s, 20 + s, 22 + s
        parts += [
            Part(0, hip, 0, "torso", (0.085, 0.085), (0.085, 0.085), z, 16, 1, end_joint=hip),
            Part(hip, knee, hip, f"upper_{side}_leg", (0.08, 0.08), (0.055, 0.055), z, 20, 6,
                 end_joint=knee),
            Part(knee, ankle, knee, f"{side}_leg", (0.05, 0.05), (0.04, 0.04), z, 16, 6, end_joint=ankle),
            Part(names[f"{side}_heel"], foot, ankle, f"{side}_foot", (0.04, 0.035), (0.045, 0.03), x, 12,
                 3, end_joint=foot),
            Part(foot, names[f"{side}_toe"], foot, f"{side}_foot", (0.045, 0.025), (0.04, 0.02), x, 12, 1),
            Part(9, collar, 9, "torso", (0.05, 0.05), (0.05, 0.05), z, 16, 1, end_joint=collar),
            Part(collar, shoulder, collar, "torso", (0.05, 0.05), (0.055, 0.055), z, 16, 1,
                 end_joint=shoulder),
            Part(shoulder, elbow, shoulder, f"{side}_upperarm", (0.05, 0.05), (0.04, 0.04), z, 16, 6,
                 end_joint=elbow),
            Part(elbow, wrist, elbow, f"{side}_forearm", (0.04, 0.04), (0.03, 0.03), z, 16, 6,
                 end_joint=wrist),
            Part(wrist, hand, wrist, f"{side}_forearm", (0.035, 0.015), (0.045, 0.014), z, 12, 2,
                 end_joint=hand),
        ]
        for finger in ("thumb", "index", "middle", "ring", "pinky"):
            skin = wrist if finger == "thumb" else hand
            parts.append(Part(-1 - len(parts), names[f"{side}_{finger}"], skin, f"{side}_forearm",
                              (0.009, 0.008), (0.008, 0.007), z, 6, 2))
    return parts


def _fill_budget(parts: list[Part]) -> int:
    """Add middle rings to the torso until the vertex count is just under 6890; returns the remainder."""
    total = sum(capsule_vertex_count(p.n_around, p.n_mid) for p in parts)
    torso = [p for p in parts if p.part == "torso" and p.n_around == 24]
    k = 0
    while NUM_VERTS - total >= 24:
        torso[k % len(torso)].n_mid += 1
        total += 24
        k += 1
    return NUM_VERTS - total


def _shape_directions(nodes: np.ndarray, parents: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per-node joint displacements (K,N,3) per unit beta and per-part-kind radial gains (K,)."""
    stretch = np.zeros((NUM_BETAS, len(nodes)))
    stretch[0, 1:] = 0.05
    arm_nodes = [18, 19, 20, 21, 22, 23]
    stretch[2, arm_nodes] = 0.06
    stretch[3, [4, 5, 7, 8]] = 0.06
    stretch[4, [3, 6, 9, 12]] = 0.06
    stretch[5, [13, 14, 16, 17]] = 0.1
    stretch[6, [1, 2]] = 0.12
    stretch[7, -1] = 0.08
    stretch[8, [10, 11, 22, 23]] = 0.08
    stretch[9, [4, 5]] = 0.06
    stretch[9, [7, 8]] = -0.06
    for n in range(24, len(nodes) - 1):
        stretch[2, n] = 0.06 if parents[n] in (20, 21, 22, 23) else 0.0
        stretch[8, n] = 0.08
    disp = np.zeros((NUM_BETAS, len(nodes), 3))
    for n in range(1, len(nodes)):
        bone = nodes[n] - nodes[parents[n]]
        disp[:, n] = disp[:, parents[n]] + stretch[:, n, None] * bone
    radial = np.array([0.03, 0.12, 0.0, 0.0, 0.0, 0.0, 0.04, 0.08, 0.0, 0.0])
    return disp, radial


def build_standin_smpl() -> tuple[dict, np.ndarray]:
    """The stand-in SMPL model dict (smplx keys plus `standin`) and its (6890,) 14-part labels."""
    nodes, parents, names = skeleton_nodes()
    parts = body_parts(names)
    remainder = _fill_budget(parts)
    mb = MeshBuilder()
    joint_rings: dict[int, np.ndarray] = {}
    anchors = []
    for c, p in enumerate(parts):
        start = nodes[p.start] if p.start >= 0 else np.array(_finger_base(p, names))
        extra = remainder if c == 0 else 0
        ring_a, ring_b = capsule(mb, c, start, nodes[p.end], p.radii_a, p.radii_b, np.array(p.hint),
                                 p.n_around, p.n_mid, extra_mid=extra)
        if p.start_joint is not None:
            joint_rings[p.start_joint] = ring_a
        if p.end_joint is not None:
            joint_rings[p.end_joint] = ring_b
        anchors.append((p.skin_joint if p.start < 0 else p.start, p.end))
    verts, faces, comp, axial, centre = mb.arrays()
    faces = orient_consistently(faces, verts)
    disp, radial_gain = _shape_directions(nodes, parents)
    s = np.clip(axial, 0.0, 1.0)
    start_node = np.array([anchors[c][0] for c in comp])
    end_node = np.array([anchors[c][1] for c in comp])
    shapedirs = (1 - s)[None, :, None] * disp[:, start_node] + s[None, :, None] * disp[:, end_node]
    is_head = np.array([parts[c].part == "head" for c in comp])
    not_head_size = (np.arange(NUM_BETAS) != 7)[:, None]
    gains = np.where(is_head[None], radial_gain[:, None], radial_gain[:, None] * not_head_size)
    shapedirs += gains[:, :, None] * (verts - centre)[None]
    weights = _skinning_weights(parts, comp, axial)
    labels = _part_labels(parts, comp, axial)
    order = permutation_with_fixed_ids(NUM_VERTS, _landmarks(verts, comp, parts, nodes, names))
    inverse = np.argsort(order)
    j_regressor = np.zeros((24, NUM_VERTS))
    for j, ring in joint_rings.items():
        j_regressor[j, inverse[ring]] = 1.0 / len(ring)
    kintree = np.array([[4294967295, *SMPL_PARENTS[1:]], list(range(24))], dtype=np.uint32)
    model = {
        "v_template": verts[order], "shapedirs": shapedirs.transpose(1, 2, 0)[order],
        "posedirs": np.zeros((NUM_VERTS, 3, 207), dtype=np.float32), "J_regressor": j_regressor,
        "weights": weights[order], "kintree_table": kintree, "f": inverse[faces].astype(np.uint32),
        "standin": True, "standin_note": "Procedural stand-in for SMPL; NOT the real SMPL model.",
    }
    return model, labels[order]


def _finger_base(p: Part, names: dict[str, int]) -> tuple[float, float, float]:
    """Left-side finger base point mirrored to the capsule's side."""
    end_name = next(k for k, v in names.items() if v == p.end)
    side, finger = end_name.split("_", 1)
    bx, by, bz = _FINGER_BASES[finger]
    return (bx if side == "left" else -bx, by, bz)


def _skinning_weights(parts: list[Part], comp: np.ndarray, axial: np.ndarray) -> np.ndarray:
    """(V,24) weights: each capsule follows its joint, blended 50/50 with the parent joint at its start."""
    weights = np.zeros((len(comp), 24))
    for c, p in enumerate(parts):
        ids = np.nonzero(comp == c)[0]
        parent = SMPL_PARENTS[p.skin_joint]
        own = np.clip(0.5 + 2.0 * axial[ids], 0.5, 1.0) if parent >= 0 else np.ones(len(ids))
        weights[ids, p.skin_joint] = own
        if parent >= 0:
            weights[ids, parent] += 1.0 - own
    return weights


def _part_labels(parts: list[Part], comp: np.ndarray, axial: np.ndarray) -> np.ndarray:
    """14-part id per vertex; the upper arm capsule is split into upperarm (proximal) and midarm halves."""
    names = np.array([parts[c].part for c in comp], dtype=object)
    mid = np.array([n.endswith("upperarm") for n in names]) & (axial >= 0.5)
    names[mid] = [n.replace("upperarm", "midarm") for n in names[mid]]
    return np.array([SMPL_PART_NAMES.index(n) for n in names], dtype=np.int64)


def _landmarks(verts: np.ndarray, comp: np.ndarray, parts: list[Part], nodes: np.ndarray,
               names: dict[str, int]) -> dict[int, int]:
    """new vertex id -> old vertex id for the smplx/HybrIK landmark vertices."""
    taken: set[int] = set()
    fixed: dict[int, int] = {}

    def place(new_id: int, point: np.ndarray, part_names: tuple[str, ...]) -> None:
        cands = np.nonzero(np.isin([parts[c].part for c in comp], part_names))[0]
        old = nearest_free_vertex(verts, point, taken, cands)
        taken.add(old)
        fixed[new_id] = old

    place(NOSE_ID, np.array([0.0, 0.41, 0.16]), ("head",))
    place(HEAD_TOP_ID, np.array([0.0, 0.6, 0.02]), ("head",))
    for side, sign, ids in (("left", 1.0, _SMPLX_LANDMARKS_LEFT), ("right", -1.0, _SMPLX_LANDMARKS_RIGHT)):
        hand, foot = (f"{side}_forearm",), (f"{side}_foot",)
        by_kind = {key[1:].lower(): vid for key, vid in ids.items()}
        for finger in ("thumb", "index", "middle", "ring", "pinky"):
            tip = nodes[names[f"{side}_{finger}"]]
            direction = tip - np.array(_FINGER_BASES[finger]) * np.array([sign, 1.0, 1.0])
            place(by_kind[finger], tip + 0.05 * direction, hand)
        toe = nodes[names[f"{side}_toe"]]
        place(by_kind["bigtoe"], toe + np.array([-sign * 0.03, 0.0, 0.03]), foot)
        place(by_kind["smalltoe"], toe + np.array([sign * 0.04, 0.0, 0.0]), foot)
        place(by_kind["heel"], nodes[names[f"{side}_heel"]] + np.array([0.0, -0.03, -0.06]), foot)
        place(by_kind["eye"], np.array([sign * 0.035, 0.44, 0.15]), ("head",))
        place(by_kind["ear"], np.array([sign * 0.1, 0.41, 0.03]), ("head",))
    return fixed
