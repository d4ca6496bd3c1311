"""Model-input preprocessing (canonical focal, crop), TRL rows with prompts/answers, synthetic ego scenes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from common.body import load_smpl, smpl_part_labels
from common.data import schema as S
from common.data.render import render_mesh
from common.data.synthetic import random_body_pose
from common.data.transforms import apply_affine, inverse_crop
from taihri.config import TaihriDataConfig
from taihri.frames import Frames, model_input_affine
from taihri.grammar import encode_answer
from taihri.prompts import PART_SETS, build_prompt, command_prompts, eval_prompt, sample_prompt

NUM_BODY_JOINTS = 22


def preprocess(sample: dict, canonical_focal: float, crop_size: int | None) -> dict:
    """Rescale to the canonical focal (px) and optionally crop a square around the principal point (one warp)."""
    affine, out_hw = model_input_affine(sample[S.K], np.asarray(sample[S.IMAGE]).shape[-2:], canonical_focal,
                                        crop_size)
    return apply_affine(sample, affine, out_hw)


def uv_to_original(uv: np.ndarray, sample: dict) -> np.ndarray:
    """Map (N,2) model-input pixels of a preprocessed sample back to pixels of the original image."""
    return inverse_crop(uv, np.asarray(sample[S.CROP_AFFINE], np.float64))


def messages(text: str, system_prompt: str | None) -> list[dict]:
    """Chat prompt of one query: the optional system message, then the user text."""
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return [*system, {"role": "user", "content": text}]


def make_row(annotation: dict, frame: int, part: str, text: str, cfg: TaihriDataConfig, style: str = "compact",
             system_prompt: str | None = None) -> dict:
    """One TRL row of frame `frame`: prompt/completion and ground truth (2D and K with pixel edges at integers)."""
    joints = list(PART_SETS[part])
    K = np.asarray(annotation[S.K], np.float64).copy()
    K[:2, 2] += 0.5
    height, width = annotation["image_hw"]
    uv = np.asarray(annotation[S.JOINTS_2D], np.float64)[joints]
    xyz = np.asarray(annotation[S.JOINTS_CAM], np.float64)[joints]
    answer = encode_answer(joints, uv + 0.5, xyz, width, height, stride=cfg.bin_stride, style=style)
    return {
        "frame": frame,
        "prompt": messages(build_prompt(text, K, cfg.intrinsics_in_prompt), system_prompt),
        "completion": [{"role": "assistant", "content": answer}],
        "part": part, "joints": joints, "uv": (uv + 0.5).tolist(), "xyz": xyz.tolist(), "K": K.tolist(),
        "width": float(width), "height": float(height),
    }


PROMPT_CHOICES: tuple[tuple[str, str], ...] = (*((part, eval_prompt(part)) for part in PART_SETS),
                                                 *command_prompts())
"""Every (part set, prompt text) `sample_prompt` can draw; a training row stores its position here."""


class PromptRows(Sequence[dict]):
    """TRL rows built when read (`make_row` of the frame's annotation and the row's prompt choice).

    Per row only its frame (int64) and prompt choice (int16, into `PROMPT_CHOICES`) are stored; `rows[i]`
    equals the dict `make_row` returns (plus `index` = frame for evaluation rows), `rows[a:b]` a list of them.
    """

    def __init__(self, frames: Frames, frame_ids: np.ndarray, choices: np.ndarray, cfg: TaihriDataConfig,
                 style: str, system_prompt: str | None, with_index: bool = False) -> None:
        self.frames, self.frame_ids, self.choices = frames, frame_ids, choices
        self.cfg, self.style, self.system_prompt, self.with_index = cfg, style, system_prompt, with_index

    def __len__(self) -> int:
        return len(self.frame_ids)

    def __getitem__(self, i: int | slice) -> dict | list[dict]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        frame = int(self.frame_ids[i])
        part, text = PROMPT_CHOICES[int(self.choices[i])]
        row = make_row(self.frames.annotations[frame], frame, part, text, self.cfg, self.style, self.system_prompt)
        return {**row, "index": frame} if self.with_index else row

    def take(self, indices: Sequence[int] | np.ndarray) -> PromptRows:
        """The rows at `indices`, still built when read."""
        indices = np.asarray(indices, np.int64)
        return PromptRows(self.frames, self.frame_ids[indices], self.choices[indices], self.cfg, self.style,
                          self.system_prompt, self.with_index)

    def parts(self) -> list[str]:
        """The part set of every row (no row is built)."""
        return [PROMPT_CHOICES[int(c)][0] for c in self.choices]


def train_rows(frames: Frames, cfg: TaihriDataConfig, seed: int, style: str = "compact",
               system_prompt: str | None = None) -> PromptRows:
    """`cfg.prompts_per_sample` rows per frame, each a random part set or free command (all appear over the set)."""
    rng = np.random.default_rng(seed)
    position = {choice: k for k, choice in enumerate(PROMPT_CHOICES)}
    count = len(frames) * cfg.prompts_per_sample
    choices = np.array([position[sample_prompt(rng, cfg.command_prob)] for _ in range(count)], np.int16)
    frame_ids = np.repeat(np.arange(len(frames), dtype=np.int64), cfg.prompts_per_sample)
    return PromptRows(frames, frame_ids, choices, cfg, style, system_prompt)


def eval_rows(frames: Frames, cfg: TaihriDataConfig, style: str = "compact",
              system_prompt: str | None = None) -> PromptRows:
    """One row per (frame, evaluated part set scored on that frame) with the evaluation prompt; `index` = frame."""
    eval_choice = {part: k for k, (part, text) in enumerate(PROMPT_CHOICES) if text == eval_prompt(part)}
    frame_ids, choices = [], []
    for index, parts in enumerate(frames.annotations.values_of("parts")):
        for part in cfg.eval_parts:
            if parts is None or part in parts:
                frame_ids.append(index)
                choices.append(eval_choice[part])
    return PromptRows(frames, np.asarray(frame_ids, np.int64), np.asarray(choices, np.int16), cfg, style,
                      system_prompt, with_index=True)


class EgoBodyScenes:
    """Egocentric close-range renders of the stand-in SMPL body (camera 0.5-2.5 m, parts may leave the frame)."""

    def __init__(self, cfg: TaihriDataConfig) -> None:
        self.cfg = cfg
        self.smpl = load_smpl()
        self.faces = np.asarray(self.smpl.faces, np.int64)
        palette = np.random.default_rng(7).uniform(0.15, 1.0, (14, 3))
        self.vertex_colors = palette[np.asarray(smpl_part_labels()) % 14]

    def _body(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Posed stand-in body in the camera frame (x right, y down, z forward): (verts, 22 joints), metres."""
        pose = np.asarray(random_body_pose(rng, self.cfg.pose_spread), np.float64).reshape(-1)[:72]
        with torch.no_grad():
            out = self.smpl(global_orient=torch.zeros(1, 3), body_pose=torch.tensor(pose[None, 3:72],
                            dtype=torch.float32), betas=torch.tensor(rng.normal(0, self.cfg.shape_std, (1, 10)),
                                                                     dtype=torch.float32))
        verts, joints = out.vertices[0].numpy(), out.joints[0, :NUM_BODY_JOINTS].numpy()
        yaw = np.radians(rng.uniform(-self.cfg.yaw_range_deg, self.cfg.yaw_range_deg))
        c, s = np.cos(yaw), np.sin(yaw)
        to_cam = np.diag([1.0, -1.0, -1.0]) @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
        distance = rng.uniform(*self.cfg.distance_range)
        offset = np.array([rng.uniform(-0.3, 0.3) * distance, rng.uniform(0.1, 0.5), distance])
        pelvis = joints[0]
        return (verts - pelvis) @ to_cam.T + offset, (joints - pelvis) @ to_cam.T + offset

    def sample(self, rng: np.random.Generator) -> dict:
        """One rendered sample in the shared schema (original intrinsics, before preprocessing)."""
        size = self.cfg.render_size
        focal = rng.uniform(*self.cfg.focal_range)
        K = np.array([[focal, 0, size / 2 - 0.5 + rng.uniform(-4, 4)],
                      [0, focal, size / 2 - 0.5 + rng.uniform(-4, 4)], [0, 0, 1.0]])
        verts, joints = self._body(rng)
        background = np.broadcast_to(rng.uniform(0, 255, 3).astype(np.uint8), (size, size, 3))
        rgb, _, mask = render_mesh(verts, self.faces, K, (size, size), self.vertex_colors, background)
        uv = joints @ K.T
        uv = uv[:, :2] / np.maximum(uv[:, 2:3], 1e-3)
        inside = (uv >= -0.5).all(-1) & (uv <= size - 0.5).all(-1)
        return {S.IMAGE: rgb.transpose(2, 0, 1).astype(np.float32) / 255.0, S.K: K.astype(np.float32),
                S.JOINTS_CAM: joints.astype(np.float32), S.JOINTS_2D: uv.astype(np.float32),
                S.JOINT_VALID: inside & (joints[:, 2] > 0), S.MASK: mask}


def synthetic_frames(cfg: TaihriDataConfig, count: int, seed: int) -> Frames:
    """`count` preprocessed synthetic frames (model-input image, K, joints_2d, joints_cam, crop_affine)."""
    scenes, rng = EgoBodyScenes(cfg), np.random.default_rng(seed)
    return Frames.in_memory([preprocess(scenes.sample(rng), cfg.canonical_focal, cfg.crop_size)
                             for _ in range(count)])
