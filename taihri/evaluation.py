"""Greedy answer generation, parsing and G-MPJPE per body-part set (mm, camera frame, no alignment)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from common.metrics import M_TO_MM, TAIHRI_PART_SETS, per_subset_mpjpe
from common.training.hf_dist import gather_shards, shard
from taihri.config import RewardConfig, TaihriModelConfig
from taihri.constrained import GrammarLogitsProcessor
from taihri.data import PromptRows
from taihri.frames import Frames
from taihri.grammar import parse_answer
from taihri.rewards import total_reward


def row_image(row: dict, frames: Frames | None):
    """The row's image: read from `frames` by its `frame` index (or an in-memory `image` when frames is None)."""
    return row["image"] if frames is None else frames.image(row["frame"])


def chat_text(processor, prompt: list[dict]) -> str:
    """Generation prompt text of a TRL prompt (system message kept, the image placed before the user text)."""
    turns = [{"role": m["role"], "content": [{"type": "image"}, {"type": "text", "text": m["content"]}]}
             if m["role"] == "user" else m for m in prompt]
    return processor.apply_chat_template(turns, add_generation_prompt=True, tokenize=False)


@torch.no_grad()
def generate_answers(model: torch.nn.Module, processor, rows: Sequence[dict], mc: TaihriModelConfig,
                     bin_stride: int = 1, frames: Frames | None = None) -> list[str]:
    """Greedy answers (special tokens kept); `mc.constrained_decoding` = only bins (stride grid) are free."""
    model.eval()
    device = next(model.parameters()).device
    processor.tokenizer.padding_side = "left"
    answers: list[str] = []
    grammar = GrammarLogitsProcessor(processor.tokenizer, bin_stride, mc.answer_format)
    extra = {"logits_processor": [grammar]} if mc.constrained_decoding else {}
    if mc.repetition_penalty != 1.0:
        extra["repetition_penalty"] = mc.repetition_penalty
    for start in range(0, len(rows), mc.eval_batch_size):
        batch = rows[start:start + mc.eval_batch_size]
        inputs = processor(images=[row_image(r, frames) for r in batch],
                           text=[chat_text(processor, r["prompt"]) for r in batch], return_tensors="pt",
                           padding=True).to(device)
        out = model.generate(**inputs, max_new_tokens=mc.max_new_tokens, do_sample=False,
                             pad_token_id=processor.tokenizer.pad_token_id, **extra)
        new = out[:, inputs["input_ids"].shape[1]:]
        answers += [t.split("<|im_end|>")[0] for t in
                    processor.tokenizer.batch_decode(new, skip_special_tokens=False)]
    return answers


def sharded_answers(model: torch.nn.Module, processor, rows: PromptRows, mc: TaihriModelConfig, bin_stride: int,
                    frames: Frames | None) -> list[str] | None:
    """Answers of every row, each rank generating its interleaved shard; all of them on rank 0, None elsewhere."""
    local = rows.take(shard(range(len(rows))))
    return gather_shards(generate_answers(model, processor, local, mc, bin_stride, frames))


def prediction_from_answer(text: str, row: dict, fallback_xyz: np.ndarray) -> tuple[np.ndarray, bool]:
    """(22,3) camera-frame prediction of one answer (requested joints filled, missing ones = fallback), parse ok."""
    parsed = parse_answer(text, row["width"], row["height"])
    pred = np.array(fallback_xyz, dtype=np.float64, copy=True)
    for joint, xyz in parsed.xyz.items():
        pred[joint] = xyz
    return pred, parsed.ok and parsed.names_exactly(row["joints"])


def part_metrics(predictions: list[np.ndarray], rows: PromptRows, gt_joints: np.ndarray) -> dict[str, float]:
    """G-MPJPE (mm) per part set (each on the frames its rows cover) and the mean over parts."""
    metrics, parts = {}, np.asarray(rows.parts())
    for part, joints in TAIHRI_PART_SETS.items():
        sel = np.flatnonzero(parts == part)
        if not len(sel):
            continue
        pred = np.stack([predictions[i] for i in sel])
        gt = gt_joints[rows.frame_ids[sel]]
        metrics[f"g_mpjpe_{part}"] = per_subset_mpjpe(pred, gt, {part: joints})[part] * M_TO_MM
    return {"g_mpjpe_mean": float(np.mean(list(metrics.values()))), **metrics}


def evaluate_answers(answers: list[str], rows: PromptRows, gt_joints: np.ndarray, fallback_xyz: np.ndarray,
                     reward_cfg: RewardConfig) -> dict[str, float]:
    """G-MPJPE per part (mm), parse-failure rate and mean total reward of the given answers (one pass over rows)."""
    predictions, ok, rewards = [], [], []
    for text, row in zip(answers, rows):
        pred, parsed = prediction_from_answer(text, row, fallback_xyz)
        predictions.append(pred)
        ok.append(parsed)
        rewards.append(total_reward(text, row["joints"], np.asarray(row["uv"]), np.asarray(row["xyz"]),
                                    np.asarray(row["K"]), row["width"], row["height"], reward_cfg))
    return {**part_metrics(predictions, rows, gt_joints), "parse_failure_rate": 1.0 - float(np.mean(ok)),
            "mean_reward": float(np.mean(rewards))}


def evaluate_constant(prediction: np.ndarray, rows: PromptRows, gt_joints: np.ndarray) -> dict[str, float]:
    """G-MPJPE per part (mm) of per-sample (S,22,3) predictions (e.g. the mean pose or a regressor)."""
    return part_metrics(list(prediction[rows.frame_ids]), rows, gt_joints)
