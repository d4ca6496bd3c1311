"""Real TRL SFTTrainer and GRPOTrainer steps on the tiny Qwen3-VL change the weights; shared keys are read."""

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from taihri.config import TaihriModelConfig
from taihri.grammar import encode_answer
from taihri.prompts import PART_SETS, eval_prompt
from taihri.trl_training import run_grpo, run_sft, shared_training_args
from taihri.vlm import build_model_and_processor

SIZE = 64.0


def _rows(count: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(count):
        part = "left_arm" if i % 2 == 0 else "right_arm"
        joints = list(PART_SETS[part])
        xyz = rng.uniform([-0.4, -0.4, 0.8], [0.4, 0.4, 2.0], (3, 3))
        uv = xyz[:, :2] / xyz[:, 2:] * 50.0 + SIZE / 2
        image = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
        rows.append({"image": image, "prompt": [{"role": "user", "content": eval_prompt(part)}],
                     "completion": [{"role": "assistant", "content": encode_answer(joints, uv, xyz, SIZE, SIZE)}],
                     "part": part, "joints": joints, "uv": uv.tolist(), "xyz": xyz.tolist(),
                     "K": [[50.0, 0, SIZE / 2], [0, 50.0, SIZE / 2], [0, 0, 1.0]], "width": SIZE, "height": SIZE})
    return rows


def _cfg(steps: int, lr: float, batch_size: int = 4) -> OmegaConf:
    return OmegaConf.create({"seed": 0, "logger": {"name": "none"},
                             "trainer": {"max_steps": steps, "batch_size": batch_size, "lr": lr, "log_every": 1,
                                         "progress_bar": False, "resume": "none", "scheduler": "constant"}})


def _model_cfg() -> TaihriModelConfig:
    cfg = TaihriModelConfig(random_init=True, min_pixels=32 * 32, max_pixels=64 * 64, max_new_tokens=28)
    cfg.tiny.hidden_size, cfg.tiny.vision_hidden_size, cfg.tiny.num_layers, cfg.tiny.vision_depth = 64, 32, 1, 1
    cfg.grpo.num_generations, cfg.grpo.max_completion_length, cfg.grpo.temperature = 4, 28, 1.5
    return cfg


def _changed(before: dict, model: torch.nn.Module) -> int:
    return sum(not torch.equal(before[k], v) for k, v in model.state_dict().items() if k in before)


def test_shared_keys_reach_trl_args(tmp_path: Path) -> None:
    cfg = OmegaConf.merge(_cfg(7, 3e-4), {"seed": 5, "logger": {"name": "wandb"},
                                          "trainer": {"ckpt_every": 3, "keep_last": 1, "precision": "auto"}})
    args = shared_training_args(cfg, tmp_path, _model_cfg())
    assert (args["seed"], args["max_steps"], args["learning_rate"], args["save_steps"]) == (5, 7, 3e-4, 3)
    assert args["report_to"] == ["wandb"] and args["output_dir"] == str(tmp_path)
    assert args["use_cpu"] == (not torch.cuda.is_available()) and args["bf16"] == torch.cuda.is_available()


@pytest.mark.slow
def test_sft_then_grpo_steps_change_weights(tmp_path: Path) -> None:
    torch.manual_seed(0)
    rows = _rows(2)[:1] * 2
    model_cfg = _model_cfg()
    model, processor = build_model_and_processor(model_cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model, logs = run_sft(model, processor, rows, _cfg(20, 1e-2, 2), model_cfg, tmp_path / "sft")
    assert _changed(before, model) > 0
    assert logs["sft_loss_last"] < 0.5 * logs["sft_loss_first"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model, summary = run_grpo(model, processor, rows, _cfg(1, 1e-3), model_cfg, tmp_path / "grpo")
    assert _changed(before, model) > 0
    assert summary["grpo_reward_first"] > 0.0


@pytest.mark.parametrize("backbone", ["qwen3_vl", "qwen2_5_vl"])
def test_grammar_is_backbone_agnostic(backbone: str) -> None:
    model_cfg = _model_cfg()
    model_cfg.backbone = backbone
    model, processor = build_model_and_processor(model_cfg)
    row = _rows(1)[0]
    answer = row["completion"][0]["content"]
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": row["prompt"][0]["content"]}]},
         {"role": "assistant", "content": answer}])
    inputs = processor(images=[row["image"]], text=[text], return_tensors="pt")
    loss = model(**inputs, labels=inputs["input_ids"]).loss
    assert torch.isfinite(loss)
    ids = processor.tokenizer(answer)["input_ids"]
    assert processor.tokenizer.decode(ids) == answer and len(ids) == 2 + 3 * 3 + 2 + 3 * 4
