"""The shared training loop: accelerate (DDP / DeepSpeed / bf16), accumulation, eval, exact resume."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list, send_to_device
from omegaconf import OmegaConf
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from common.training.checkpoint import atomic_save, publish_dir, rotate, step_checkpoints
from common.training.config import TrainerConfig
from common.training.seeding import EpochShardedSampler, seed_everything, seed_worker
from common.training.task import TrainTask
from common.training.tracking import RunLogger

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    """Counters saved in every checkpoint so that a resumed run continues exactly."""

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0
    best_value: float | None = None
    history: list[dict[str, float]] = field(default_factory=list)


def lr_lambda(cfg: TrainerConfig):
    """Multiplier of the base lr at a step: linear warm-up, then cosine to `min_lr_ratio` (or constant)."""
    warmup = round(cfg.warmup_ratio * cfg.max_steps)

    def fn(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if cfg.scheduler == "constant":
            return 1.0
        progress = (step - warmup) / max(1, cfg.max_steps - warmup)
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return fn


class Trainer:
    """Trains a `TrainTask` under `TrainerConfig`, writing checkpoints and metrics into `run_dir`."""

    def __init__(self, cfg: TrainerConfig, task: TrainTask, run_dir: str | Path,
                 logger_cfg: dict | None = None, seed: int = 0, full_config: dict | None = None):
        self.cfg, self.task, self.seed = cfg, task, seed
        self.run_dir = Path(run_dir)
        self.ckpt_root = self.run_dir / "checkpoints"
        cuda = torch.cuda.is_available()
        use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and cuda)
        self.accelerator = Accelerator(cpu=not cuda, mixed_precision="bf16" if use_bf16 else "no")
        if self.accelerator.state.deepspeed_plugin is not None:
            ds = self.accelerator.state.deepspeed_plugin.deepspeed_config
            ds["train_micro_batch_size_per_gpu"] = cfg.batch_size
            ds["gradient_accumulation_steps"] = cfg.grad_accum
        self.is_main = self.accelerator.is_main_process
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            config_path = self.run_dir / "config.yaml"
            if not config_path.exists():
                content = full_config or {"trainer": asdict(cfg), "task": type(task).__name__, "seed": seed}
                config_path.write_text(OmegaConf.to_yaml(OmegaConf.create(content)))
        self.accelerator.wait_for_everyone()
        self.tracker = RunLogger(self.run_dir, logger_cfg, full_config, enabled=self.is_main)
        self.state = TrainState()
        self.model: torch.nn.Module | None = None

    # ----------------------------------------------------------------- data
    def _train_loader(self, dataset, sampler: EpochShardedSampler) -> DataLoader:
        gen = torch.Generator().manual_seed(self.seed * 7919 + self.state.epoch * 104_729
                                            + self.accelerator.process_index)
        return DataLoader(dataset, batch_size=self.cfg.batch_size, sampler=sampler,
                          num_workers=self.cfg.num_workers, collate_fn=self.task.collate,
                          worker_init_fn=seed_worker, generator=gen, drop_last=False,
                          persistent_workers=False)

    def _eval_loader(self, dataset) -> DataLoader:
        return DataLoader(dataset, batch_size=self.cfg.eval_batch_size, shuffle=False,
                          num_workers=self.cfg.num_workers, collate_fn=self.task.collate)

    # ----------------------------------------------------------- checkpoints
    def _save_checkpoint(self, name: str, optimizer, scheduler) -> None:
        """Write model, optimiser, RNG states (per rank), scheduler and counters; publish atomically."""
        tmp = self.ckpt_root / f".{name}.tmp"
        if self.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(tmp))
        self.accelerator.wait_for_everyone()  # every rank's RNG file is in place before the rename
        if self.is_main:
            atomic_save({"scheduler": scheduler.state_dict(), "state": asdict(self.state)},
                        tmp / "trainer_state.pt")
            publish_dir(tmp, self.ckpt_root / name)
            rotate(self.ckpt_root, self.cfg.keep_last)
        self.accelerator.wait_for_everyone()

    def _save_weights(self, name: str, model, metrics: dict[str, float]) -> Path:
        """Write only the model weights (and the metrics that selected them) to `checkpoints/<name>`."""
        tmp, final = self.ckpt_root / f".{name}.tmp", self.ckpt_root / name
        if self.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.accelerator.wait_for_everyone()
        self.accelerator.save_model(model, str(tmp))
        self.accelerator.wait_for_everyone()  # no rank is still inside the folder when it is renamed
        if self.is_main:
            (tmp / "metrics.json").write_text(json.dumps({"step": self.state.step, **metrics}, indent=2))
            publish_dir(tmp, final)
        self.accelerator.wait_for_everyone()
        return final

    def _resume_dir(self) -> Path | None:
        resume = self.cfg.resume
        if resume == "none":
            return None
        if resume == "auto":
            found = step_checkpoints(self.ckpt_root)
            return found[-1] if found else None
        path = Path(resume)
        if not (path / "trainer_state.pt").exists():
            raise FileNotFoundError(f"trainer.resume={resume!r}: no trainer_state.pt there; pass a "
                                    f"<run_dir>/checkpoints/step_* folder, 'auto' or 'none'")
        return path

    def _load_checkpoint(self, path: Path, scheduler) -> None:
        self.accelerator.load_state(str(path))
        extra = torch.load(path / "trainer_state.pt", map_location="cpu", weights_only=False)
        scheduler.load_state_dict(extra["scheduler"])
        self.state = TrainState(**extra["state"])
        log.info("resumed from %s at step %d", path, self.state.step)

    # ------------------------------------------------------------ evaluation
    def _evaluate(self, model, eval_set) -> dict[str, float]:
        """Evaluate on rank 0 with a fixed seed (training RNG untouched); every rank gets the metrics."""
        metrics: dict[str, float] = {}
        if eval_set is not None and self.is_main:
            net = self.accelerator.unwrap_model(model)
            was_training = net.training
            net.eval()
            with torch.random.fork_rng(devices=[]), torch.no_grad(), self.accelerator.autocast():
                torch.manual_seed(self.seed)
                metrics = {k: float(v) for k, v in self.task.evaluate(net, self._eval_loader(eval_set)).items()}
            net.train(was_training)
        if self.accelerator.num_processes > 1:
            metrics = broadcast_object_list([metrics], from_process=0)[0]
        return metrics

    def _after_eval(self, model, metrics: dict[str, float]) -> None:
        if not metrics:
            return
        self.state.history.append({"step": self.state.step, **metrics})
        self.tracker.log_metrics(metrics, self.state.step, prefix="eval")
        key = self.cfg.best_metric
        if key is None:
            return
        if key not in metrics:
            raise KeyError(f"trainer.best_metric={key!r} is not among the evaluated metrics {sorted(metrics)}")
        value = metrics[key]
        better = self.state.best_value is None or (
            value < self.state.best_value if self.cfg.best_mode == "min" else value > self.state.best_value)
        if better:
            self.state.best_value = value
            self._save_weights("best", model, metrics)

    # ------------------------------------------------------------------ loop
    def fit(self) -> dict[str, float]:
        """Train to `max_steps` (resuming if asked), evaluate, save `final`; return the final metrics."""
        cfg, acc = self.cfg, self.accelerator
        seed_everything(self.seed)
        model = self.task.build_model()
        optimizer_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        optimizer = optimizer_cls(list(self.task.parameters_to_train(model)), lr=cfg.lr,
                                  betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
        model, optimizer = acc.prepare(model, optimizer)
        seed_everything(self.seed + 1000 * acc.process_index)
        resume_dir = self._resume_dir()
        if resume_dir is not None:
            self._load_checkpoint(resume_dir, scheduler)
        train_set, eval_set = self.task.train_dataset(), self.task.eval_dataset()
        sampler = EpochShardedSampler(len(train_set), self.seed, acc.process_index, acc.num_processes)
        model.train()
        bar = tqdm(total=cfg.max_steps, initial=self.state.step, disable=not (self.is_main and cfg.progress_bar),
                   desc="train", dynamic_ncols=True)
        accum, window_loss, window_samples, tic = 0, [], 0, time.perf_counter()
        while self.state.step < cfg.max_steps:
            sampler.set_position(self.state.epoch, self.state.batches_in_epoch * cfg.batch_size)
            for batch in self._train_loader(train_set, sampler):
                batch = send_to_device(batch, acc.device)
                sync = accum + 1 == cfg.grad_accum
                with (nullcontext() if sync else acc.no_sync(model)), acc.autocast():
                    loss, logs = self.task.training_step(model, batch)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"non-finite loss {loss.item()} at step {self.state.step}; "
                                             "lower trainer.lr or check the data")
                acc.backward(loss / cfg.grad_accum)
                self.state.batches_in_epoch += 1
                accum += 1
                window_loss.append(loss.detach().float().item())
                window_samples += cfg.batch_size * acc.num_processes
                if not sync:
                    continue
                accum = 0
                if cfg.grad_clip:
                    acc.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                self.state.step += 1
                step = self.state.step
                bar.update(1)
                if step % cfg.log_every == 0 or step == cfg.max_steps:
                    rate = window_samples / max(time.perf_counter() - tic, 1e-9)
                    scalars = {"loss": sum(window_loss) / len(window_loss), "lr": scheduler.get_last_lr()[0],
                               "samples_per_s": rate, **logs}
                    bar.set_postfix(loss=f"{scalars['loss']:.4f}", rate=f"{rate:.1f}/s")
                    self.tracker.log_metrics(scalars, step, prefix="train")
                    window_loss, window_samples, tic = [], 0, time.perf_counter()
                if cfg.eval_every and step % cfg.eval_every == 0 and step < cfg.max_steps:
                    self._after_eval(model, self._evaluate(model, eval_set))
                if cfg.ckpt_every and step % cfg.ckpt_every == 0 and step < cfg.max_steps:
                    self._save_checkpoint(f"step_{step:08d}", optimizer, scheduler)
                if step >= cfg.max_steps:
                    break
            else:
                self.state.epoch += 1
                self.state.batches_in_epoch = 0
        bar.close()
        final = self._evaluate(model, eval_set)
        self._after_eval(model, final)
        self._save_checkpoint(f"step_{self.state.step:08d}", optimizer, scheduler)
        self._save_weights("final", model, final)
        self.model = acc.unwrap_model(model)
        if self.is_main:
            summary = {"final": final, "best": self.state.best_value, "history": self.state.history}
            tmp = self.run_dir / ".metrics.json.tmp"
            tmp.write_text(json.dumps(summary, indent=2))
            os.replace(tmp, self.run_dir / "metrics.json")
        self.tracker.finish()
        return final

    @property
    def device(self) -> torch.device:
        """The device the model was placed on."""
        return self.accelerator.device
