"""The paper path on a tiny Qwen3-VL written in the download's layout and an EgoBody-like release."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from safetensors.torch import load_file
from transformers import Qwen3VLForConditionalGeneration

from taihri import api
from taihri.baselines import _ImageJoints
from taihri.config import TaihriModelConfig, data_config, model_config
from taihri.frames import image_dataset
from taihri.vlm import load_model_folder
from tests.taihri.real_layout import write_egobody_release, write_qwen3vl_checkpoint

REPO = Path(__file__).resolve().parents[2]
SMALL = ["model.min_pixels=1024", "model.max_pixels=4096", "model.eval_batch_size=8"]


def _prepare_egobody(root: Path) -> Path:
    spec = importlib.util.spec_from_file_location("prepare_egobody", REPO / "scripts" / "prepare_egobody.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    write_egobody_release(root)
    for split in ("train", "val"):
        module.prepare(root, split, None)
    return root


def _cfg(experiment: str, overrides: list[str]):
    with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
        return compose("train", overrides=[f"experiment=taihri/{experiment}", *overrides])


@pytest.mark.parametrize("sharded", [False, True])
def test_checkpoint_processor_dtype_and_weights_come_from_the_folder(tmp_path: Path, sharded: bool) -> None:
    folder = write_qwen3vl_checkpoint(tmp_path / "qwen", sharded=sharded)
    assert (folder / "model.safetensors.index.json").exists() == sharded
    assert "chat_template" not in json.loads((folder / "tokenizer_config.json").read_text())
    mc = TaihriModelConfig(pretrained_path=str(folder), min_pixels=1024, max_pixels=4096)
    model, processor = load_model_folder(folder, mc)
    assert model.dtype == torch.float32 and next(model.parameters()).device.type == "cpu"
    assert model.config._attn_implementation == "sdpa"
    assert tuple(processor.image_processor.image_mean) == (0.5, 0.5, 0.5)
    assert tuple(processor.image_processor.image_std) == (0.5, 0.5, 0.5)
    assert processor.image_processor.patch_size == 16 and processor.chat_template is not None
    shards = sorted(folder.glob("*.safetensors"))
    stored = {k: v for s in shards for k, v in load_file(s).items()}
    assert all(v.dtype == torch.bfloat16 for v in stored.values())
    state = model.state_dict()
    key = next(k for k in stored if "layers.0.mlp.down_proj" in k)
    torch.testing.assert_close(state[key], stored[key].float(), rtol=0, atol=0)
    processor.save_pretrained(tmp_path / "saved")
    saved = json.dumps([json.loads(p.read_text()) for p in (tmp_path / "saved").glob("*config.json")])
    assert '"image_mean": [0.5, 0.5, 0.5]' in saved and "0.481" not in saved
    pixels = processor.image_processor(images=[np.zeros((64, 64, 3), np.uint8)], return_tensors="pt")
    assert torch.allclose(pixels["pixel_values"], torch.full_like(pixels["pixel_values"], -1.0))


def test_frames_read_images_on_demand(tmp_path: Path) -> None:
    root = _prepare_egobody(tmp_path / "egobody")
    dc = data_config(_cfg("sft", [f"data.root={root}"]).data)
    frames = api.load_frames(dc, "train", 0, 0)
    assert len(frames) == 4 and all("image" not in a for a in frames.annotations)
    first = frames.image(0)
    path = sorted((root / "egocentric_color").rglob("*_frame_00100.jpg"))[0]
    cv2.imwrite(str(path), np.full((120, 160, 3), 255, np.uint8))
    assert np.asarray(frames.image(0)).mean() > 200 and np.asarray(first).mean() < 200
    rows = [{"prompt": "p", "frame": i} for i in range(len(frames))]
    dataset = image_dataset(rows, ("prompt",), lambda row: frames.image(row["frame"]))
    assert np.asarray(dataset[0]["image"]).mean() > 200
    path.unlink()
    with pytest.raises(FileNotFoundError):
        dataset[0]
    with pytest.raises(FileNotFoundError):
        _ImageJoints(frames, None)[0]


@pytest.mark.slow
def test_paper_configs_sft_rft_evaluate_on_real_layout(tmp_path: Path) -> None:
    folder = write_qwen3vl_checkpoint(tmp_path / "qwen", sharded=True)
    root = _prepare_egobody(tmp_path / "egobody")
    common = [f"model.pretrained_path={folder}", f"data.root={root}", "data.num_eval=2", *SMALL,
              "trainer.progress_bar=false", "trainer.ckpt_every=0", "trainer.log_every=1"]
    sft = _cfg("sft", [*common, f"run_dir={tmp_path / 'sft'}", "trainer.max_steps=2", "trainer.batch_size=2",
                       "trainer.grad_accum=1", "model.max_new_tokens=12"])
    metrics = api.train(sft)
    assert np.isfinite(metrics["g_mpjpe_mean"]) and metrics["sft_loss_first"] > 0
    final = tmp_path / "sft" / "checkpoints" / "final"
    assert json.loads((final / api.EVAL_FILE).read_text())["fallback_pose_m"]
    rft = _cfg("rft", [*common, f"run_dir={tmp_path / 'rft'}", f"ckpt={final}", "trainer.max_steps=1",
                       "trainer.batch_size=2", "model.grpo.num_generations=2",
                       "model.grpo.max_completion_length=12", "model.max_new_tokens=12"])
    assert np.isfinite(api.train(rft)["g_mpjpe_mean"])
    trained = tmp_path / "rft" / "checkpoints" / "final"
    evaluation = _cfg("eval_official", [*common, f"ckpt={trained}", "model.max_new_tokens=12"])
    assert np.isfinite(api.evaluate(evaluation)["g_mpjpe_mean"])
    mc = model_config(OmegaConf.merge(evaluation.model, {"pretrained_path": str(folder)}))
    ours, processor = load_model_folder(trained, mc)
    theirs = Qwen3VLForConditionalGeneration.from_pretrained(trained, dtype=torch.float32)
    text = processor.apply_chat_template([{"role": "user", "content": [{"type": "image"}, {"type": "text",
                                          "text": "left_wrist?"}]}], add_generation_prompt=True, tokenize=False)
    inputs = processor(images=[np.zeros((64, 64, 3), np.uint8)], text=[text], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(ours(**inputs).logits, theirs(**inputs).logits, rtol=0, atol=0)


@pytest.mark.slow
def test_two_process_ddp_sft_then_grpo_from_paper_configs(tmp_path: Path) -> None:
    folder = write_qwen3vl_checkpoint(tmp_path / "qwen")
    root = _prepare_egobody(tmp_path / "egobody")
    out = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             "-m", "tests.taihri.ddp_run", str(folder), str(root), str(out)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for stage in ("sft", "rft"):
        metrics = json.loads((out / stage / "metrics.json").read_text())
        assert np.isfinite(metrics["g_mpjpe_mean"]) and metrics["world_size"] == 2
        final = out / stage / "checkpoints" / "final"
        assert sorted(p.name for p in final.glob("*.safetensors")) == ["model.safetensors"]
        assert not list((out / stage).glob("checkpoint-*"))
    Qwen3VLForConditionalGeneration.from_pretrained(out / "rft" / "checkpoints" / "final")


def test_regression_baseline_from_paper_config_on_real_layout(tmp_path: Path) -> None:
    folder = write_qwen3vl_checkpoint(tmp_path / "qwen")
    root = _prepare_egobody(tmp_path / "egobody")
    overrides = [f"model.pretrained_path={folder}", f"data.root={root}", *SMALL, f"run_dir={tmp_path / 'reg'}",
                 "model.regression.max_steps=2", "model.regression.batch_size=2"]
    trained = api.train(_cfg("regression", overrides))
    assert trained["g_mpjpe_mean"] > 0 and trained["mean_pose/g_mpjpe_mean"] > 0
    config = json.loads((tmp_path / "reg" / "checkpoints" / "final" / "config.json").read_text())
    assert config["model_class"] == "taihri.baselines.JointRegressor"
    evaluated = api.evaluate(_cfg("regression", [*overrides, f"ckpt={tmp_path / 'reg' / 'checkpoints' / 'final'}"]))
    assert evaluated["g_mpjpe_mean"] == pytest.approx(trained["g_mpjpe_mean"], rel=1e-5)
