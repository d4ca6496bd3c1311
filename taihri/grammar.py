"""TAIHRI answer grammar: bin tokens <0>..<999>, joint tokens, 2D/3D blocks; one encoder and one parser."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

NUM_BINS = 1000
BIN_MAX = NUM_BINS - 1
XY_RANGE_M = (-2.5, 2.5)
Z_RANGE_M = (0.0, 4.0)

BODY_JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)
"""The 22 SMPL body joints (indices 0..21) that own a name token."""

BOX_START, BOX_END = "<|box_start|>", "<|box_end|>"
KPT2D_START, KPT2D_END = "<|kpt2d_start|>", "<|kpt2d_end|>"
KPT3D_START, KPT3D_END = "<|kpt3d_start|>", "<|kpt3d_end|>"
MARKER_TOKENS = (BOX_START, BOX_END, KPT2D_START, KPT2D_END, KPT3D_START, KPT3D_END)
BIN_TOKENS = tuple(f"<{k}>" for k in range(NUM_BINS))
JOINT_TOKENS = tuple(f"<|{name}|>" for name in BODY_JOINT_NAMES)
GRAMMAR_TOKENS: tuple[str, ...] = MARKER_TOKENS + JOINT_TOKENS + BIN_TOKENS
"""Every token the grammar adds to a tokenizer (markers, joint names, bins)."""

_TOKEN_RE = re.compile(r"<\|[A-Za-z0-9_]+\|>|<[A-Za-z0-9_]+>|[\s,]+|[^<\s,]+|<")
_JOINT_INDEX = {name: i for i, name in enumerate(BODY_JOINT_NAMES)}


def value_to_bin(values: np.ndarray, low: float, high: float, stride: int = 1) -> np.ndarray:
    """Quantise values in [low, high] to integer bins 0..999 (rounded, clipped); stride>1 keeps multiples only."""
    norm = (np.asarray(values, dtype=np.float64) - low) / (high - low)
    return (np.clip(np.rint(norm * BIN_MAX / stride), 0, BIN_MAX // stride) * stride).astype(np.int64)


def allowed_bins(stride: int = 1) -> list[int]:
    """Bin values an encoder with this stride emits (all 1000 for the paper's stride 1)."""
    return list(range(0, BIN_MAX + 1, stride))


def bin_to_value(bins: np.ndarray, low: float, high: float) -> np.ndarray:
    """Decode bins as in the public parser: bin / 999 * (high - low) + low."""
    return np.asarray(bins, dtype=np.float64) / BIN_MAX * (high - low) + low


def bin_resolution(low: float, high: float) -> float:
    """Largest decode error of an in-range value: half a bin, in the value's unit."""
    return 0.5 * (high - low) / BIN_MAX


def encode_uv(uv: np.ndarray, width: float, height: float, stride: int = 1) -> np.ndarray:
    """(N,2) pixels of the model-input image -> (N,2) bins (out-of-frame points clip to the border)."""
    uv = np.asarray(uv, dtype=np.float64)
    return np.stack([value_to_bin(uv[:, 0], 0.0, width, stride), value_to_bin(uv[:, 1], 0.0, height, stride)], -1)


def decode_uv(bins: np.ndarray, width: float, height: float) -> np.ndarray:
    """(N,2) bins -> (N,2) pixels of the model-input image."""
    bins = np.asarray(bins)
    return np.stack([bin_to_value(bins[:, 0], 0.0, width), bin_to_value(bins[:, 1], 0.0, height)], -1)


def encode_xyz(xyz: np.ndarray, stride: int = 1) -> np.ndarray:
    """(N,3) camera-frame metres -> (N,3) bins (X, Y in [-2.5, 2.5] m, Z in [0, 4] m)."""
    xyz = np.asarray(xyz, dtype=np.float64)
    return np.stack([value_to_bin(xyz[:, 0], *XY_RANGE_M, stride), value_to_bin(xyz[:, 1], *XY_RANGE_M, stride),
                     value_to_bin(xyz[:, 2], *Z_RANGE_M, stride)], -1)


def decode_xyz(bins: np.ndarray) -> np.ndarray:
    """(N,3) bins -> (N,3) camera-frame metres."""
    bins = np.asarray(bins)
    return np.stack([bin_to_value(bins[:, 0], *XY_RANGE_M), bin_to_value(bins[:, 1], *XY_RANGE_M),
                     bin_to_value(bins[:, 2], *Z_RANGE_M)], -1)


ANSWER_STYLES = ("compact", "official")
"""`compact`: `<|j|><u><v>` with no separators; `official`: the released TAIHRI answers, `<|j|> <u>, <v>`."""


def encode_answer(joints: Sequence[int], uv: np.ndarray, xyz: np.ndarray, width: float, height: float,
                  box: Sequence[float] | None = None, stride: int = 1, style: str = "compact") -> str:
    """Answer text for joints (SMPL ids) with uv (N,2) model-input pixels and xyz (N,3) camera metres."""
    if style not in ANSWER_STYLES:
        raise ValueError(f"answer style {style!r}: choose one of {ANSWER_STYLES}")
    space, comma = (" ", ", ") if style == "official" else ("", "")
    uv_bins, xyz_bins = encode_uv(uv, width, height, stride), encode_xyz(xyz, stride)

    def block(start: str, end: str, bins: np.ndarray) -> str:
        groups = [JOINT_TOKENS[j] + space + comma.join(f"<{b}>" for b in values) for j, values in zip(joints, bins)]
        return space.join([start, *groups, end])

    parts = []
    if box is not None:
        corners = encode_uv(np.asarray(box, dtype=np.float64).reshape(2, 2), width, height).reshape(-1)
        parts.append(BOX_START + "".join(f"<{b}>" for b in corners) + BOX_END)
    parts.append(block(KPT2D_START, KPT2D_END, uv_bins))
    parts.append(block(KPT3D_START, KPT3D_END, xyz_bins))
    return space.join(parts)


@dataclass
class ParsedAnswer:
    """Decoded answer: per-joint 2D (model-input px) and 3D (camera m) values, plus every problem found."""

    uv: dict[int, np.ndarray] = field(default_factory=dict)
    xyz: dict[int, np.ndarray] = field(default_factory=dict)
    box: np.ndarray | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the answer followed the grammar with no problem at all."""
        return not self.errors

    def names_exactly(self, joints: Sequence[int]) -> bool:
        """True when both blocks list exactly the requested joints (any order)."""
        wanted = set(joints)
        return set(self.uv) == wanted and set(self.xyz) == wanted

    def arrays(self, joints: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(N,2) uv and (N,3) xyz for `joints`, NaN where a joint is missing."""
        uv = np.array([self.uv.get(j, np.full(2, np.nan)) for j in joints], dtype=np.float64)
        xyz = np.array([self.xyz.get(j, np.full(3, np.nan)) for j in joints], dtype=np.float64)
        return uv.reshape(-1, 2), xyz.reshape(-1, 3)


def _tokens(text: str) -> list[str]:
    """Split answer text into grammar tokens; whitespace and commas are dropped."""
    return [t for t in _TOKEN_RE.findall(text) if t.strip(" \t\r\n,")]


def _read_block(tokens: list[str], start: int, end_marker: str, arity: int,
                errors: list[str], label: str) -> tuple[dict[int, list[int]], int]:
    """Read `<|joint|><b>...` groups of `arity` bins until `end_marker`; return (joint -> bins, next index)."""
    out: dict[int, list[int]] = {}
    i, current = start, None
    while i < len(tokens) and tokens[i] != end_marker:
        tok = tokens[i]
        name = tok[2:-2] if tok.startswith("<|") and tok.endswith("|>") else tok[1:-1]
        if name in _JOINT_INDEX and not name.isdigit():
            current = _JOINT_INDEX[name]
            if current in out:
                errors.append(f"{label}: joint {name} repeated")
            out[current] = []
        elif tok.startswith("<") and tok[1:-1].isdigit() and current is not None:
            out[current].append(int(tok[1:-1]))
        else:
            errors.append(f"{label}: unexpected token {tok!r}")
        i += 1
    if i == len(tokens):
        errors.append(f"{label}: missing {end_marker}")
    for joint, bins in list(out.items()):
        if len(bins) != arity or any(b > BIN_MAX for b in bins):
            errors.append(f"{label}: joint {BODY_JOINT_NAMES[joint]} has bins {bins}, expected {arity} "
                          f"in 0..{BIN_MAX}")
            del out[joint]
    return out, i + 1


def parse_answer(text: str, width: float, height: float) -> ParsedAnswer:
    """Parse an answer (special tokens kept); malformed parts are listed in `errors`, valid joints kept."""
    answer = ParsedAnswer()
    tokens = _tokens(text.replace("<|im_end|>", "").replace("<|endoftext|>", ""))
    i = 0
    if tokens[:1] == [BOX_START]:
        box_bins, i = [], 1
        while i < len(tokens) and tokens[i] != BOX_END:
            box_bins.append(tokens[i])
            i += 1
        values = [int(t[1:-1]) for t in box_bins if t[1:-1].isdigit()]
        if len(values) == 4 and len(box_bins) == 4 and i < len(tokens):
            answer.box = decode_uv(np.array(values).reshape(2, 2), width, height).reshape(-1)
        else:
            answer.errors.append(f"box: expected 4 bins and {BOX_END}, got {box_bins}")
        i += 1
    for start_marker, end_marker, arity, label in ((KPT2D_START, KPT2D_END, 2, "2d"),
                                                   (KPT3D_START, KPT3D_END, 3, "3d")):
        if i < len(tokens) and tokens[i] == start_marker:
            block, i = _read_block(tokens, i + 1, end_marker, arity, answer.errors, label)
        else:
            found = tokens[i] if i < len(tokens) else "end of text"
            answer.errors.append(f"{label}: expected {start_marker}, found {found!r}")
            block = {}
            if start_marker in tokens[i:]:
                block, i = _read_block(tokens, tokens.index(start_marker, i) + 1, end_marker, arity,
                                       answer.errors, label)
        if arity == 2:
            answer.uv = {j: decode_uv(np.array([b]), width, height)[0] for j, b in block.items()}
        else:
            answer.xyz = {j: decode_xyz(np.array([b]))[0] for j, b in block.items()}
    if i < len(tokens):
        answer.errors.append(f"trailing text after {KPT3D_END}: {''.join(tokens[i:])[:40]!r}")
    if set(answer.uv) != set(answer.xyz):
        answer.errors.append("2d and 3d blocks name different joints")
    return answer
