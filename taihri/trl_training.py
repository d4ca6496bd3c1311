"""SFT (TRL SFTTrainer, completion-only loss) and RFT (TRL GRPOTrainer, pose-aware rewards) driven by shared keys.

Images are read from disk per batch (`taihri.frames.image_dataset`); the trained model is saved through the
trainer (every rank calls it; ZeRO-3 shards are gathered) and LoRA adapters are merged before saving.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from peft import LoraConfig, PeftModel
from transformers import LogitsProcessorList, TrainerCallback
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

from common.training import trainer_config_from
from common.training.hf import hf_resume_checkpoint, hf_training_kwargs
from common.training.hf_dist import barrier, full_state_dict, is_main
from common.training.hf_reliability import ReliableTrainerMixin
from taihri.config import TaihriModelConfig
from taihri.constrained import GrammarLogitsProcessor
from taihri.evaluation import row_image
from taihri.frames import Frames, image_dataset
from taihri.grammar import BIN_TOKENS
from taihri.ordinal_loss import ordinal_bin_loss
from taihri.rewards import make_reward_functions

log = logging.getLogger(__name__)


def shared_training_args(cfg: DictConfig, output_dir: Path, model_cfg: TaihriModelConfig) -> dict[str, Any]:
    """Keyword arguments of SFTConfig/GRPOConfig taken from the shared config (trainer, logger, seed)."""
    logger = OmegaConf.select(cfg, "logger.name", default="none")
    return {**hf_training_kwargs(trainer_config_from(cfg.trainer), output_dir, int(cfg.seed), logger),
            "gradient_checkpointing": model_cfg.gradient_checkpointing, "save_only_model": False}


def lora_config(model_cfg: TaihriModelConfig) -> LoraConfig | None:
    """PEFT LoRA config when enabled (embed_tokens/lm_head in modules_to_save so new tokens are learnt)."""
    return model_cfg.lora.to_peft() if model_cfg.lora.enabled else None


def save_folder(model: torch.nn.Module, processor: Any, path: Path) -> torch.nn.Module:
    """Merge LoRA (if any) and save model + processor to `path` from this process; returns the plain model.

    The model then names `path` as its source (`config._name_or_path`), where GRPO loads its reference from.
    """
    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    model.config._name_or_path = str(path)
    return model


def save_through_trainer(trainer: Any, processor: Any, path: Path) -> torch.nn.Module:
    """Save the trained model to `path` on rank 0 from the trainer's full (ZeRO-3-gathered) state; all ranks call.

    Returns the plain (LoRA-merged) model, which from now on names `path` as its source (GRPO's reference
    model is loaded from there); every rank waits until the folder is written.
    """
    model = trainer.accelerator.unwrap_model(trainer.model)
    if isinstance(model, PeftModel):
        model = model.merge_and_unload()
        if is_main():
            save_folder(model, processor, path)
    else:
        state = full_state_dict(trainer)
        if is_main():
            path.mkdir(parents=True, exist_ok=True)
            model.save_pretrained(path, state_dict=state)
            processor.save_pretrained(path)
    barrier()
    model.config._name_or_path = str(path)
    return model


class StepTimer(TrainerCallback):
    """Records the wall time of every optimiser step (s)."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs) -> None:
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs) -> None:
        self.durations.append(time.perf_counter() - self._start)


def _runtime(timer: StepTimer) -> dict[str, float]:
    """Median optimiser-step wall time (s), the first step (warm-up) excluded when there are more."""
    steps = timer.durations[1:] or timer.durations
    return {"train_step_s": float(np.median(steps))} if steps else {}


class TaihriSFTTrainer(ReliableTrainerMixin, SFTTrainer):
    """TRL's SFTTrainer with the shared runtime's non-finite stop, atomic checkpoints and signal handling."""


class TaihriGRPOTrainer(ReliableTrainerMixin, GRPOTrainer):
    """TRL's GRPOTrainer with the shared runtime's non-finite stop, atomic checkpoints and signal handling."""


class OrdinalSFTTrainer(TaihriSFTTrainer):
    """SFTTrainer whose loss is `taihri.ordinal_loss` (one forward per step; TRL's token metrics are skipped)."""

    def __init__(self, *args, ordinal_loss: Callable[..., torch.Tensor], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.ordinal_loss = ordinal_loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs["labels"]
        outputs = model(**{k: v for k, v in inputs.items() if k != "labels"}, use_cache=False)
        loss = self.ordinal_loss(outputs, labels, num_items_in_batch=num_items_in_batch)
        return (loss, outputs) if return_outputs else loss


def _finish(trainer: Any, processor: Any, final_dir: Path | None) -> torch.nn.Module:
    """The trained plain model, saved to `final_dir` through the trainer when given."""
    if final_dir is not None:
        return save_through_trainer(trainer, processor, final_dir)
    model = trainer.accelerator.unwrap_model(trainer.model)
    return model.merge_and_unload() if isinstance(model, PeftModel) else model


def run_sft(model: torch.nn.Module, processor: Any, rows: Sequence[dict], cfg: DictConfig, model_cfg: TaihriModelConfig,
            output_dir: Path, max_steps: int | None = None, frames: Frames | None = None,
            final_dir: Path | None = None) -> tuple[Any, dict]:
    """Supervised fine-tuning on prompt/completion rows; returns (trained model, last logged metrics)."""
    args = shared_training_args(cfg, output_dir, model_cfg)
    if max_steps is not None:
        args["max_steps"] = max_steps
    sft_args = SFTConfig(**args, completion_only_loss=model_cfg.sft.completion_only_loss,
                         max_length=model_cfg.sft.max_length, remove_unused_columns=False)
    if model_cfg.freeze_vision:
        model.model.visual.requires_grad_(False)
    dataset = image_dataset(rows, ("prompt", "completion"), lambda row: row_image(row, frames))
    timer = StepTimer()
    trainer_cls, extra = TaihriSFTTrainer, {}
    if model_cfg.sft.bin_label_sigma > 0:
        tokenizer = processor.tokenizer
        trainer_cls, extra = OrdinalSFTTrainer, {"ordinal_loss": ordinal_bin_loss(
            tokenizer.convert_tokens_to_ids(list(BIN_TOKENS)), len(tokenizer), model_cfg.sft.bin_label_sigma)}
    trainer = trainer_cls(model=model, args=sft_args, train_dataset=dataset, processing_class=processor,
                          peft_config=lora_config(model_cfg), callbacks=[timer], **extra)
    trainer.train(resume_from_checkpoint=hf_resume_checkpoint(cfg.trainer.resume, output_dir))
    logs = [h for h in trainer.state.log_history if "loss" in h]
    summary = {"sft_loss_first": logs[0]["loss"], "sft_loss_last": logs[-1]["loss"]} if logs else {}
    return _finish(trainer, processor, final_dir), {**summary, **_runtime(timer)}


def constrain_generate(model: torch.nn.Module, processor: Any, bin_stride: int, style: str) -> None:
    """Make `model.generate` grammar-constrained (TRL's GRPOTrainer takes no logits processor of its own)."""
    unconstrained = model.generate
    grammar = GrammarLogitsProcessor(processor.tokenizer, bin_stride, style)

    def generate(*args, **kwargs):
        kwargs["logits_processor"] = LogitsProcessorList([*(kwargs.get("logits_processor") or []), grammar])
        return unconstrained(*args, **kwargs)

    model.generate = generate


def run_grpo(model: torch.nn.Module, processor: Any, rows: Sequence[dict], cfg: DictConfig,
             model_cfg: TaihriModelConfig, output_dir: Path, frames: Frames | None = None,
             final_dir: Path | None = None) -> tuple[Any, dict]:
    """GRPO on prompt rows with the four pose-aware rewards; returns (trained model, reward summary)."""
    grpo = model_cfg.grpo
    if grpo.constrained_generation:
        constrain_generate(model, processor, int(OmegaConf.select(cfg, "data.bin_stride", default=1)),
                           model_cfg.answer_format)
    functions, weights = make_reward_functions(model_cfg.rewards)
    vllm = {"use_vllm": True, "vllm_mode": grpo.vllm_mode} if grpo.use_vllm else {}
    args = GRPOConfig(**shared_training_args(cfg, output_dir, model_cfg), num_generations=grpo.num_generations,
                      beta=grpo.beta, loss_type=grpo.loss_type, scale_rewards=grpo.scale_rewards,
                      epsilon=grpo.epsilon, temperature=grpo.temperature, top_p=grpo.top_p,
                      max_completion_length=grpo.max_completion_length, reward_weights=weights,
                      remove_unused_columns=False, **vllm)
    dataset = image_dataset(rows, [k for k in rows[0] if k not in ("completion", "image")],
                            lambda row: row_image(row, frames))
    source = model.config._name_or_path
    if grpo.beta > 0 and not model_cfg.lora.enabled and not (source and Path(source).is_dir()):
        reference = output_dir / "reference"
        if is_main():
            save_folder(model, processor, reference)
        barrier()
        model.config._name_or_path = str(reference)
    timer = StepTimer()
    trainer = TaihriGRPOTrainer(model=model, reward_funcs=functions, args=args, train_dataset=dataset,
                                processing_class=processor, peft_config=lora_config(model_cfg), callbacks=[timer])
    trainer.train(resume_from_checkpoint=hf_resume_checkpoint(cfg.trainer.resume, output_dir))
    vars(model).pop("generate", None)
    rewards = [h["reward"] for h in trainer.state.log_history if "reward" in h]
    summary = {"grpo_reward_first": rewards[0], "grpo_reward_last": rewards[-1]} if rewards else {}
    return _finish(trainer, processor, final_dir), {**summary, **_runtime(timer)}
