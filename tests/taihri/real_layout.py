"""Test fixtures in the real on-disk layouts: a tiny random Qwen3-VL download and an EgoBody-like release.

The checkpoint folder mirrors a Qwen3-VL download: Qwen3VLForConditionalGeneration config.json, bf16
safetensors (optionally sharded with model.safetensors.index.json), tokenizer.json + tokenizer_config.json
(no chat template inside), the chat template only in chat_template.json, and Qwen's preprocessor_config.json
with mean = std = 0.5. The tokenizer is a small byte-level BPE built offline plus Qwen's special tokens.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast, Qwen3VLConfig, Qwen3VLForConditionalGeneration

QWEN_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
PREPROCESSOR = {"image_processor_type": "Qwen2VLImageProcessorFast", "processor_class": "Qwen3VLProcessor",
                "do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
                "do_convert_rgb": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
                "patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
                "size": {"shortest_edge": 65536, "longest_edge": 16777216}}
"""Qwen3-VL's preprocessor_config.json (statistics 0.5, patch 16, merge 2)."""


def _tokenizer() -> PreTrainedTokenizerFast:
    """Small byte-level BPE trained offline, with Qwen's special tokens (no TAIHRI grammar tokens)."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    corpus = ["Can you provide the 2D and 3D coordinates of the following keypoints of the person",
              "left_shoulder, left_elbow, left_wrist, right_hip, left_knee", "You are a helpful assistant",
              "user assistant system, 0123456789 <> |"] * 8
    bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300, special_tokens=QWEN_SPECIAL,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=QWEN_SPECIAL[1:])


def write_qwen3vl_checkpoint(folder: Path, sharded: bool = False, seed: int = 0) -> Path:
    """Write a tiny random-weight Qwen3-VL folder in the download's layout; returns `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    tok = _tokenizer()
    ids = {name: tok.convert_tokens_to_ids(token) for name, token in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    config = Qwen3VLConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=16, pad_token_id=tok.pad_token_id,
                         bos_token_id=None, eos_token_id=tok.eos_token_id, tie_word_embeddings=True,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e4, "mrope_section": [2, 3, 3],
                                          "mrope_interleaved": True}),
        vision_config=dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=16,
                           spatial_merge_size=2, temporal_patch_size=2, out_hidden_size=64,
                           num_position_embeddings=64, deepstack_visual_indexes=[0]),
        tie_word_embeddings=True, **ids)
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).to(torch.bfloat16)
    model.save_pretrained(folder, max_shard_size="100KB" if sharded else "10GB")
    tok.save_pretrained(folder)
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text())
    tokenizer_config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    for stray in ("chat_template.jinja", "special_tokens_map.json"):
        (folder / stray).unlink(missing_ok=True)
    (folder / "chat_template.json").write_text(json.dumps({"chat_template": QWEN_CHAT_TEMPLATE}))
    (folder / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2))
    return folder


def write_egobody_release(root: Path, frames_per_split: int = 4, size: tuple[int, int] = (120, 160),
                          seed: int = 0) -> Path:
    """An EgoBody-like release (train and val recordings): PV images and poses, calibrations, gendered fits."""
    rng = np.random.default_rng(seed)
    recs = {"train": "recording_20210907_S02_S01_01", "val": "recording_20210911_S03_S04_01"}
    (root / "data_splits.csv").parent.mkdir(parents=True, exist_ok=True)
    (root / "data_splits.csv").write_text(f"train,val,test\n{recs['train']},{recs['val']},\n")
    (root / "data_info_release.csv").write_text(
        "recording_name,start_frame,end_frame,body_idx_0,body_idx_1,body_idx_fpv,scene_name\n"
        f"{recs['train']},1,10000,0 male,1 female,1 female,seminar_g110\n"
        f"{recs['val']},1,10000,0 male,1 male,0 male,seminar_d78\n")
    for split, rec in recs.items():
        body = 1 if split == "train" else 0
        date = "2021-09-07-155421"
        pv_dir = root / "egocentric_color" / rec / date
        (pv_dir / "PV").mkdir(parents=True, exist_ok=True)
        lines = [f"{size[1] / 2},{size[0] / 2},{size[1]},{size[0]}"]
        for k in range(frames_per_split):
            frame, stamp = 100 + 7 * k, 5000 + k
            lines.append(f"{stamp},900.0,900.0," + ",".join(str(v) for v in np.eye(4).ravel()))
            image = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
            cv2.imwrite(str(pv_dir / "PV" / f"{stamp}_frame_{frame:05d}.jpg"), image)
            params = {"global_orient": rng.normal(0, 0.1, (1, 3)), "body_pose": rng.normal(0, 0.1, (1, 69)),
                      "betas": rng.normal(0, 0.5, (1, 10)), "transl": np.array([[0.0, 0.2, -1.8]])}
            fit = (root / f"smpl_interactee_{split}" / rec / f"body_idx_{body}" / "results" / f"frame_{frame:05d}"
                   / "000.pkl")
            fit.parent.mkdir(parents=True, exist_ok=True)
            fit.write_bytes(pickle.dumps(params))
        (pv_dir / f"{date}_pv.txt").write_text("\n".join(lines) + "\n")
        calib = root / "calibrations" / rec / "cal_trans"
        calib.mkdir(parents=True, exist_ok=True)
        (calib / "holo_to_kinect12.json").write_text(json.dumps({"trans": np.eye(4).tolist()}))
    return root
