"""The shared training loop: accelerate (DDP / DeepSpeed / bf16), accumulation, eval, exact resume.

Reliability: a checkpoint on SIGTERM/SIGINT/SIGUSR1 at the next step boundary (then exit code 75), every
`ckpt_every` steps and every `ckpt_every_minutes`; resume skips unreadable checkpoints with a warning; a
run dir is locked while a run lives in it; resuming under a different configuration is refused.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import InitProcessGroupKwargs, broadcast_object_list, send_to_device
from accelerate.utils import load as safe_load
from accelerate.utils.constants import RNG_STATE_NAME
from omegaconf import OmegaConf
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from common.models.hub import ModelCardInfo, ModelFolderMixin
from common.training.checkpoint import atomic_save, publish_dir, rotate, step_checkpoints
from common.training.config import TrainerConfig, per_device_batch
from common.training.evaluation import broadcast_buffers, eval_loader, gather_to_rank0, predict_all, sharded_subset
from common.training.rundir import RunDirError, config_diff, drop_lock, hold_lock
from common.training.seeding import EpochShardedSampler, seed_everything, seed_worker
from common.training.signals import StopSignals, any_rank
from common.training.task import TrainTask
from common.training.tracking import RunLogger, write_json

log = logging.getLogger(__name__)
_RUN_CONFIG: dict | None = None


def set_run_config(config: dict | None) -> None:
    """Record the resolved run config (common.entry does) for Trainers created without `full_config`."""
    global _RUN_CONFIG
    _RUN_CONFIG = config


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


def build_optimizer(cfg: TrainerConfig, params: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """AdamW / Adam; the fused CUDA kernel when every parameter is on a CUDA device."""
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    fused = bool(params) and all(p.device.type == "cuda" for p in params)
    return cls(params, lr=cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay, fused=fused or None)


class Trainer:
    """Trains a `TrainTask` under `TrainerConfig`, writing checkpoints and metrics into `run_dir`."""

    def __init__(self, cfg: TrainerConfig, task: TrainTask, run_dir: str | Path,
                 logger_cfg: dict | None = None, seed: int = 0, full_config: dict | None = None):
        self.cfg, self.task, self.seed = cfg, task, seed
        self.run_dir = Path(run_dir)
        self.ckpt_root = self.run_dir / "checkpoints"
        cuda = torch.cuda.is_available()
        use_bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and cuda)
        timeout = InitProcessGroupKwargs(timeout=timedelta(minutes=cfg.collective_timeout_minutes))
        self.accelerator = Accelerator(cpu=not cuda, mixed_precision="bf16" if use_bf16 else "no",
                                       gradient_accumulation_steps=cfg.grad_accum, kwargs_handlers=[timeout])
        self.batch_size = per_device_batch(cfg, self.accelerator.num_processes)
        if self.accelerator.state.deepspeed_plugin is not None:
            ds = self.accelerator.state.deepspeed_plugin.deepspeed_config
            ds["train_micro_batch_size_per_gpu"] = self.batch_size
            ds["gradient_accumulation_steps"] = cfg.grad_accum
        self.is_main = self.accelerator.is_main_process
        config = full_config if full_config is not None else _RUN_CONFIG
        self.identity = {**(config or {}), "trainer": asdict(cfg), "task": type(task).__name__}
        self.lock = None
        error = None
        if self.is_main:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self.lock = hold_lock(self.run_dir)
                config_path = self.run_dir / "config.yaml"
                if not config_path.exists():
                    content = config or {"trainer": asdict(cfg), "task": type(task).__name__, "seed": seed}
                    config_path.write_text(OmegaConf.to_yaml(OmegaConf.create(content)))
            except RunDirError as err:
                error = str(err)
        if self.accelerator.num_processes > 1:
            error = broadcast_object_list([error], from_process=0)[0]
        if error is not None:
            raise RunDirError(error)
        self.tracker = RunLogger(self.run_dir, logger_cfg, config or self.identity, enabled=self.is_main)
        self.state = TrainState()
        self.model: torch.nn.Module | None = None
        self._eval_loader: DataLoader | None = None

    # ----------------------------------------------------------------- data
    def _train_loader(self, dataset, sampler: EpochShardedSampler) -> DataLoader:
        """Built once per fit: persistent workers, pinned memory and prefetch when workers are used."""
        gen = torch.Generator().manual_seed(self.seed * 7919 + self.accelerator.process_index)
        workers = self.cfg.num_workers
        return DataLoader(dataset, batch_size=self.batch_size, sampler=sampler, num_workers=workers,
                          collate_fn=self.task.collate, worker_init_fn=seed_worker, generator=gen,
                          drop_last=False, pin_memory=torch.cuda.is_available(), persistent_workers=workers > 0,
                          prefetch_factor=4 if workers > 0 else None)

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
            atomic_save({"scheduler": scheduler.state_dict(), "state": asdict(self.state),
                         "identity": self.identity}, tmp / "trainer_state.pt")
            publish_dir(tmp, self.ckpt_root / name)
            rotate(self.ckpt_root, self.cfg.keep_last)
        self.accelerator.wait_for_everyone()
        self._last_ckpt = (self.state.step, time.monotonic())

    def _save_weights(self, name: str, model, metrics: dict[str, float]) -> Path:
        """Write only the model weights (and the metrics that selected them) to `checkpoints/<name>`."""
        tmp, final = self.ckpt_root / f".{name}.tmp", self.ckpt_root / name
        if self.is_main:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.accelerator.wait_for_everyone()
        net = self.accelerator.unwrap_model(model)
        plugin = self.accelerator.state.deepspeed_plugin
        if isinstance(net, ModelFolderMixin) and (plugin is None or plugin.zero_stage < 3):
            if self.is_main:  # a model folder: config.json + model.safetensors + README.md (load_model_folder)
                finite = {k: v for k, v in metrics.items() if math.isfinite(v)}
                net.save_pretrained(tmp, card=ModelCardInfo(paper=self.identity.get("paper"), metrics=finite))
        else:
            self.accelerator.save_model(model, str(tmp))
        self.accelerator.wait_for_everyone()  # no rank is still inside the folder when it is renamed
        if self.is_main:
            write_json(tmp / "metrics.json", {"step": self.state.step, **metrics})
            publish_dir(tmp, final)
        self.accelerator.wait_for_everyone()
        return final

    def _resume_candidates(self) -> list[Path]:
        resume = self.cfg.resume
        if resume == "none":
            return []
        if resume == "auto":
            for partial in sorted(self.ckpt_root.glob(".step_*.tmp")) if self.is_main else []:
                log.warning("skipping incomplete checkpoint %s (the run was killed while writing it); deleting it",
                            partial)
                shutil.rmtree(partial, ignore_errors=True)
            return step_checkpoints(self.ckpt_root)
        path = Path(resume)
        if not (path / "trainer_state.pt").exists():
            raise FileNotFoundError(f"trainer.resume={resume!r}: no trainer_state.pt there; pass a "
                                    f"<run_dir>/checkpoints/step_* folder, 'auto' or 'none'")
        return [path]

    def _resume(self, scheduler) -> bool:
        """Load the newest checkpoint every rank can read (an unreadable one is skipped with a warning)."""
        candidates = self._resume_candidates()
        for path in reversed(candidates):
            error = None
            try:
                self._load_checkpoint(path, scheduler)
            except RunDirError:
                raise
            except Exception as err:  # any unreadable file: try the previous one
                error = err
            failed = any_rank([float(error is not None)], self.accelerator.device)[0] > 0
            if not failed:
                return True
            reason = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}" if error \
                else "unreadable on another rank"
            if self.cfg.resume != "auto":
                raise RuntimeError(f"cannot resume from {path}: {reason}") from error
            log.warning("checkpoint %s is unreadable (%s); falling back to the previous one", path, reason)
        if candidates:
            raise RuntimeError(f"no readable checkpoint in {self.ckpt_root} (tried {[c.name for c in candidates]});"
                               " fix or delete them, or pass trainer.resume=none to start over")
        return False

    def _load_checkpoint(self, path: Path, scheduler) -> None:
        """Restore a step checkpoint. Pickled files are read with weights_only=True (no code runs); this
        rank's RNG file is checked first because accelerate skips an unreadable one silently."""
        extra = torch.load(path / "trainer_state.pt", map_location="cpu", weights_only=True)
        diff = config_diff(extra.get("identity") or {}, self.identity)
        if diff:
            message = f"checkpoint {path} was made with a different configuration:\n" + "\n".join(diff)
            if not self.cfg.allow_config_change:
                raise RunDirError(message + "\nresume with the same settings, use a new run dir, or pass "
                                  "trainer.allow_config_change=true")
            log.warning("%s\ncontinuing because trainer.allow_config_change=true", message)
        rng_file = path / f"{RNG_STATE_NAME}_{self.accelerator.process_index}.pkl"
        if not rng_file.is_file():
            raise FileNotFoundError(f"{rng_file} is missing")
        safe_load(rng_file)
        self.accelerator.load_state(str(path))
        scheduler.load_state_dict(extra["scheduler"])
        self.state = TrainState(**extra["state"])
        log.info("resumed from %s at step %d", path, self.state.step)

    # ------------------------------------------------------------ evaluation
    def _evaluate(self, model, eval_set) -> dict[str, float]:
        """Evaluate with a fixed seed (training RNG untouched): sharded over ranks when the task has
        `predict`/`compute_metrics`, else on rank 0; every rank gets the metrics."""
        acc = self.accelerator
        metrics: dict[str, float] = {}
        sharded = self.task.shards_evaluation()
        if eval_set is not None and (sharded or self.is_main):
            net = acc.unwrap_model(model)
            was_training = net.training
            net.eval()
            if self._eval_loader is None:
                subset = sharded_subset(eval_set, acc.process_index, acc.num_processes) if sharded else eval_set
                self._eval_loader = eval_loader(self.task, subset, self.cfg.eval_batch_size, self.cfg.num_workers)
            with torch.random.fork_rng(devices=[]), torch.no_grad(), acc.autocast():
                torch.manual_seed(self.seed)
                if sharded:
                    broadcast_buffers(net)
                    outputs = gather_to_rank0(predict_all(self.task, net, self._eval_loader, acc.device))
                    if outputs is not None:
                        metrics = {k: float(v) for k, v in self.task.compute_metrics(outputs).items()}
                else:
                    metrics = {k: float(v) for k, v in self.task.evaluate(net, self._eval_loader).items()}
            net.train(was_training)
        if acc.num_processes > 1:
            metrics = broadcast_object_list([metrics], from_process=0)[0]
        return metrics

    def _after_eval(self, model, metrics: dict[str, float]) -> None:
        """Record an evaluation (one history entry per step) and keep best/ for finite values only."""
        if not metrics:
            return
        step = self.state.step
        self.state.history = [h for h in self.state.history if h["step"] != step] + [{"step": step, **metrics}]
        self.tracker.log_metrics(metrics, step, prefix="eval")
        key = self.cfg.best_metric
        if key is None:
            return
        if key not in metrics:
            raise KeyError(f"trainer.best_metric={key!r} is not among the evaluated metrics {sorted(metrics)}")
        value = metrics[key]
        if not math.isfinite(value):
            log.warning("step %d: %s=%s is not finite; not considered for best/", step, key, value)
            return
        better = self.state.best_value is None or (
            value < self.state.best_value if self.cfg.best_mode == "min" else value > self.state.best_value)
        if better:
            self.state.best_value = value
            self._save_weights("best", model, metrics)

    def _write_summary(self, final: dict[str, float] | None) -> None:
        if self.is_main:
            write_json(self.run_dir / "metrics.json",
                       {"final": final, "best": self.state.best_value, "history": self.state.history})

    # ------------------------------------------------------------------ loop
    def fit(self) -> dict[str, float]:
        """Train to `max_steps` (resuming if asked), evaluate, save `final`; return the final metrics.

        On SIGTERM/SIGINT/SIGUSR1 a checkpoint is saved at the next step boundary and `TrainingStopped`
        (exit code 75) is raised, or the signal is handed to the launcher's handler (submitit requeue).
        """
        try:
            with StopSignals() as stop:
                return self._fit(stop)
        finally:
            self.tracker.finish()
            drop_lock(self.lock)
            self.lock = None

    def _boundary_flags(self, stop: StopSignals) -> tuple[bool, bool]:
        """(stop requested on any rank, time-based checkpoint due on rank 0's clock): one collective."""
        minutes = self.cfg.ckpt_every_minutes
        due = self.is_main and minutes > 0 and time.monotonic() - self._last_ckpt[1] >= 60 * minutes
        flags = [float(stop.requested), float(due)]
        if self.accelerator.num_processes > 1:
            flags = any_rank(flags, self.accelerator.device)
        return bool(flags[0]), bool(flags[1])

    def _fit(self, stop: StopSignals) -> dict[str, float]:
        cfg, acc = self.cfg, self.accelerator
        seed_everything(self.seed)
        model = self.task.build_model().to(acc.device)
        optimizer = build_optimizer(cfg, list(self.task.parameters_to_train(model)))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))
        model, optimizer = acc.prepare(model, optimizer)
        seed_everything(self.seed + 1000 * acc.process_index)
        resumed = self._resume(scheduler)
        self._last_ckpt = (self.state.step if resumed else -1, time.monotonic())
        train_set, eval_set = self.task.train_dataset(), self.task.eval_dataset()
        sampler = EpochShardedSampler(len(train_set), self.seed, acc.process_index, acc.num_processes)
        loader = self._train_loader(train_set, sampler)
        step = self.state.step
        if resumed and 0 < step < cfg.max_steps and cfg.eval_every and step % cfg.eval_every == 0 \
                and all(h["step"] != step for h in self.state.history):
            self._after_eval(model, self._evaluate(model, eval_set))  # it was due right after this checkpoint
        model.train()
        bar = tqdm(total=cfg.max_steps, initial=step, disable=not (self.is_main and cfg.progress_bar),
                   desc="train", dynamic_ncols=True)
        window_loss, window_samples, tic = [], 0, time.perf_counter()
        while self.state.step < cfg.max_steps:
            sampler.set_position(self.state.epoch, self.state.batches_in_epoch * self.batch_size)
            for batch in loader:
                batch = send_to_device(batch, acc.device, non_blocking=True)
                with acc.accumulate(model):
                    with acc.autocast():
                        loss, logs = self.task.training_step(model, batch)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"non-finite loss {loss.item()} at step {self.state.step}; "
                                                 "lower trainer.lr or check the data")
                    acc.backward(loss)
                    self.state.batches_in_epoch += 1
                    window_loss.append(loss.detach().float().item())
                    window_samples += self.batch_size * acc.num_processes
                    if not acc.sync_gradients:
                        continue
                    if cfg.grad_clip:
                        norm = acc.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                        if norm is not None and not torch.isfinite(torch.as_tensor(norm)):
                            raise FloatingPointError(f"non-finite gradient norm at step {self.state.step}; "
                                                     "lower trainer.lr or check the data")
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
                if step >= cfg.max_steps:
                    break
                stop_now, time_due = self._boundary_flags(stop)
                if stop_now or time_due or (cfg.ckpt_every and step % cfg.ckpt_every == 0):
                    self._save_checkpoint(f"step_{step:08d}", optimizer, scheduler)
                if stop_now:
                    bar.close()
                    self._write_summary(None)
                    stop.finish()
                if cfg.eval_every and step % cfg.eval_every == 0:  # after the checkpoint of this step
                    self._after_eval(model, self._evaluate(model, eval_set))
                    self._write_summary(None)
            else:
                self.state.epoch += 1
                self.state.batches_in_epoch = 0
        bar.close()
        if self._last_ckpt[0] != self.state.step:
            self._save_checkpoint(f"step_{self.state.step:08d}", optimizer, scheduler)
        if self._boundary_flags(stop)[0]:
            self._write_summary(None)
            stop.finish()
        final = self._evaluate(model, eval_set)
        self._after_eval(model, final)
        self._save_weights("final", model, final)
        self.model = acc.unwrap_model(model)
        self._write_summary(final)
        return final

    @property
    def device(self) -> torch.device:
        """The device the model was placed on."""
        return self.accelerator.device
