"""The sample schema shared by every loader and generator: key names, dtypes, shapes, units and frames.

Conventions: cameras follow OpenCV (x right, y down, z forward); pixel coordinates have integer values at
pixel centres; lengths are metres; `T_world_cam` maps camera-frame points to the world frame.
A sample is a dict; arrays are numpy (loaders, transforms) or torch (after collation). A *clip* sample
carries `timestamps` (T,) and every per-frame key then has a leading T dimension.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

IMAGE = "image"
K = "K"
T_WORLD_CAM = "T_world_cam"
JOINTS_CAM = "joints_cam"
JOINTS_2D = "joints_2d"
JOINT_VALID = "joint_valid"
VERTICES_CAM = "vertices_cam"
SMPL = "smpl"
MANO = "mano"
BETAS = "betas"
POSE = "pose"
TRANSL = "transl"
OBJECT_POINTS = "object_points"
OBJECT_CATEGORY = "object_category"
OBJECT_POSE = "object_pose"
OBJECT_CONTACT = "object_contact"
OBJECT_CONTACT_PART = "object_contact_part"
OBJECT_MASK = "object_mask"
OBJECT_MASK_AMODAL = "object_mask_amodal"
TEXT = "text"
ACTION = "action"
FRAMES = "frames"
TIMESTAMPS = "timestamps"
SEQUENCE_ID = "sequence_id"
FRAME_ID = "frame_id"
BOX = "box"
MASK = "mask"
DEPTH = "depth"
CROP_AFFINE = "crop_affine"
HAND_SIDE = "hand_side"

IMAGE_LIKE_KEYS: tuple[str, ...] = (IMAGE, MASK, DEPTH, OBJECT_MASK, OBJECT_MASK_AMODAL)
"""Keys holding per-pixel data; geometric transforms warp all of them (images bilinear, others nearest)."""


@dataclass(frozen=True)
class FieldSpec:
    """What one key must hold: dtype kind, shape (ints fixed, strings named dims), units/frame and notes."""

    kind: str
    shape: tuple[int | str, ...] = ()
    units: str = ""
    doc: str = ""
    per_frame: bool = True
    value_range: tuple[float, float] | None = None
    allow_nan: bool = False
    fields: Mapping[str, FieldSpec] = field(default_factory=dict)


_BODY_PARAMS = {
    BETAS: FieldSpec("float", (10,), "", "shape coefficients", per_frame=False),
    POSE: FieldSpec("float", ("P",), "rad", "axis-angle per joint, global orient first (SMPL 72, MANO 48)"),
    TRANSL: FieldSpec("float", (3,), "m", "root translation, world frame"),
}

SPEC: dict[str, FieldSpec] = {
    IMAGE: FieldSpec("float", (3, "H", "W"), "[0,1]", "RGB image, channels first", per_frame=False,
                     value_range=(0.0, 1.0)),
    FRAMES: FieldSpec("float", ("T", 3, "H", "W"), "[0,1]", "RGB video frames, channels first",
                      per_frame=False, value_range=(0.0, 1.0)),
    K: FieldSpec("float", (3, 3), "px", "intrinsics in pixels of the returned image"),
    T_WORLD_CAM: FieldSpec("float", (4, 4), "m", "camera-to-world rigid transform"),
    JOINTS_CAM: FieldSpec("float", ("J", 3), "m", "3D joints, camera frame", allow_nan=True),
    JOINTS_2D: FieldSpec("float", ("J", 2), "px", "projected joints, pixels of the returned image",
                         allow_nan=True),
    JOINT_VALID: FieldSpec("bool", ("J",), "", "joint annotated, in front of the camera, inside the image"),
    VERTICES_CAM: FieldSpec("float", ("V", 3), "m", "mesh vertices, camera frame"),
    SMPL: FieldSpec("dict", (), "", "SMPL parameters producing the body in the world frame",
                    fields=_BODY_PARAMS),
    MANO: FieldSpec("dict", (), "", "MANO parameters (48 pose values) producing the hand in the world frame",
                    fields=_BODY_PARAMS),
    OBJECT_POINTS: FieldSpec("float", ("N", 3), "m", "object surface samples, camera frame"),
    OBJECT_CATEGORY: FieldSpec("str", (), "", "object category name, e.g. 'mug'", per_frame=False),
    OBJECT_POSE: FieldSpec("float", (4, 4), "m", "object-to-camera rigid transform of the canonical object"),
    OBJECT_CONTACT: FieldSpec("bool", ("N",), "", "object point within the contact threshold of body/hand"),
    OBJECT_CONTACT_PART: FieldSpec("int", ("N",), "", "SMPL part id (0..13) of nearest body vertex, -1 none"),
    OBJECT_MASK: FieldSpec("bool", ("H", "W"), "", "visible object pixels", per_frame=False),
    OBJECT_MASK_AMODAL: FieldSpec("bool", ("H", "W"), "", "object pixels ignoring occluders",
                                  per_frame=False),
    MASK: FieldSpec("bool", ("H", "W"), "", "visible pixels of the main subject (body or hand)",
                    per_frame=False),
    DEPTH: FieldSpec("float", ("H", "W"), "m", "z-depth, camera frame, 0 where empty", per_frame=False),
    BOX: FieldSpec("float", (4,), "px", "subject box x0, y0, x1, y1 in pixels of the returned image"),
    CROP_AFFINE: FieldSpec("float", (2, 3), "px", "affine map from original-image pixels to returned pixels",
                           per_frame=False),
    TEXT: FieldSpec("str", (), "", "task / prompt text", per_frame=False),
    ACTION: FieldSpec("str", (), "", "short motion label, e.g. 'grasp'", per_frame=False),
    HAND_SIDE: FieldSpec("str", (), "", "'right' or 'left'", per_frame=False),
    TIMESTAMPS: FieldSpec("float", ("T",), "s", "frame times of a clip", per_frame=False),
    SEQUENCE_ID: FieldSpec("str", (), "", "sequence / clip identifier", per_frame=False),
    FRAME_ID: FieldSpec("int", (), "", "frame index inside the sequence", per_frame=False),
}
"""The default schema; loaders may add paper-specific keys (unknown keys are allowed unless close typos)."""


class SchemaError(ValueError):
    """A sample does not match the schema; the message lists every mismatch with a fix."""


_KIND_FIX = {
    "float": "cast with .astype(np.float32)",
    "int": "cast with .astype(np.int64)",
    "bool": "cast with .astype(bool)",
}


def _dtype_kind(value: Any) -> str | None:
    """'float', 'int' or 'bool' for numpy arrays, torch tensors and python scalars."""
    if hasattr(value, "dtype") and not isinstance(value, np.ndarray) and hasattr(value, "is_floating_point"):
        if value.is_floating_point():
            return "float"
        text = str(value.dtype)
        return "bool" if text == "torch.bool" else "int"
    dtype = np.asarray(value).dtype
    if dtype == np.bool_:
        return "bool"
    if np.issubdtype(dtype, np.floating):
        return "float"
    if np.issubdtype(dtype, np.integer):
        return "int"
    return None


def _check_field(key: str, value: Any, spec: FieldSpec, temporal: bool, dims: dict[str, int],
                 problems: list[str]) -> None:
    """Append a readable problem for each way `value` differs from `spec`."""
    where = f"{spec.units}, {spec.doc}" if spec.units else spec.doc
    if spec.kind == "dict":
        if not isinstance(value, Mapping):
            problems.append(f"{key}: got {type(value).__name__}, expected a dict with keys "
                            f"{sorted(spec.fields)}; fix: return a dict ({where})")
            return
        sub_dims = {d: n for d, n in dims.items() if d == "T"}
        for sub, sub_spec in spec.fields.items():
            if sub not in value:
                problems.append(f"{key}.{sub}: missing; fix: add it ({sub_spec.units} {sub_spec.doc})")
            else:
                _check_field(f"{key}.{sub}", value[sub], sub_spec, temporal, sub_dims, problems)
        return
    if spec.kind == "str":
        ok = isinstance(value, str) or (temporal and spec.per_frame and isinstance(value, list | tuple))
        if not ok:
            problems.append(f"{key}: got {type(value).__name__}, expected str; "
                            f"fix: return a python str ({where})")
        return
    if spec.kind == "int" and spec.shape == () and isinstance(value, int | np.integer):
        return
    if not hasattr(value, "shape"):
        problems.append(f"{key}: got {type(value).__name__}, expected an array of shape {spec.shape}; "
                        f"fix: return np.asarray(...) ({where})")
        return
    expected = (("T", *spec.shape) if temporal and spec.per_frame else spec.shape)
    shape = tuple(int(s) for s in value.shape)
    shape_ok = len(shape) == len(expected)
    if shape_ok:
        for got, want in zip(shape, expected):
            if isinstance(want, int):
                shape_ok &= got == want
            elif dims.setdefault(want, got) != got:
                shape_ok = False
    if not shape_ok:
        named = ", ".join(f"{d}={dims[d]}" for d in expected if isinstance(d, str) and d in dims)
        problems.append(f"{key}: shape {shape} but expected {expected}" + (f" with {named}" if named else "")
                        + f"; fix: reshape or transpose ({where})")
    kind = _dtype_kind(value)
    if kind != spec.kind:
        problems.append(f"{key}: dtype {value.dtype} but expected {spec.kind}; "
                        f"fix: {_KIND_FIX.get(spec.kind, '')} ({where})")
        return
    if kind == "float" and value.size:
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        finite = np.isfinite(array)
        if not spec.allow_nan and not finite.all():
            problems.append(f"{key}: {int((~finite).sum())} non-finite values; fix: mark invalid entries "
                            f"in a validity mask instead of NaN/inf ({where})")
        elif spec.value_range is not None and finite.any():
            lo, hi = float(array[finite].min()), float(array[finite].max())
            if lo < spec.value_range[0] - 1e-6 or hi > spec.value_range[1] + 1e-6:
                problems.append(f"{key}: values in [{lo:.3g}, {hi:.3g}] but expected {spec.value_range}; "
                                f"fix: scale uint8 images by 1/255 ({where})")


def validate_sample(sample: Mapping[str, Any], spec: Mapping[str, FieldSpec] | None = None,
                    source: str = "<unknown source>", required: tuple[str, ...] = ()) -> None:
    """Check known keys of `sample` and that `required` keys exist; raise one `SchemaError` listing all."""
    full_spec = {**SPEC, **(spec or {})}
    problems: list[str] = []
    if not isinstance(sample, Mapping):
        raise SchemaError(f"sample from {source} is a {type(sample).__name__}, expected a dict")
    temporal = TIMESTAMPS in sample
    dims: dict[str, int] = {}
    for key in required:
        if key not in sample:
            hint = full_spec[key].doc if key in full_spec else "paper-specific key"
            problems.append(f"{key}: missing; fix: the loader must return it ({hint})")
    for key, value in sample.items():
        if key in full_spec:
            _check_field(key, value, full_spec[key], temporal, dims, problems)
            continue
        close = difflib.get_close_matches(key, list(full_spec), n=1, cutoff=0.85)
        if close:
            problems.append(f"{key}: unknown key, probably a typo; fix: rename it to {close[0]!r}")
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise SchemaError(f"sample from {source} does not match the schema ({len(problems)} problem"
                          f"{'s' if len(problems) > 1 else ''}):\n{lines}")


def _shape_text(shape: tuple[int | str, ...]) -> str:
    """Shape as python writes tuples: '(J,)', '(3, H, W)', '-' for scalars."""
    if not shape:
        return "-"
    return "(" + ", ".join(str(d) for d in shape) + (",)" if len(shape) == 1 else ")")


def schema_markdown(spec: Mapping[str, FieldSpec] | None = None) -> str:
    """The schema as a markdown table (key, dtype, shape, units, meaning) for the docs."""
    rows = ["| key | dtype | shape | units | meaning |", "|---|---|---|---|---|"]
    for key, fs in (spec or SPEC).items():
        rows.append(f"| `{key}` | {fs.kind} | {_shape_text(fs.shape)} | {fs.units or '-'} | {fs.doc} |")
        rows += [f"| `{key}.{sub}` | {s.kind} | {_shape_text(s.shape)} | {s.units or '-'} | {s.doc} |"
                 for sub, s in fs.fields.items()]
    return "\n".join(rows)
