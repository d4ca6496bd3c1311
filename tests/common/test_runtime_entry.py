"""Run-dir integrity through the real entry point: two torchrun launches of one experiment (static
rendezvous, 2 gloo processes) get two run dirs, each made once for both ranks, and neither resumes the other."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from common.entry import paper_of_checkpoint
from common.training.rundir import RunDirError, RunLock, record_config

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(output_root: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    env.pop("EHP_LAUNCH_ID", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), str(REPO / "scripts" / "train.py"),
           "experiment=contact/crrnet_synthetic", "debug=contact", f"paths.output_root={output_root}",
           f"paths.cache_dir={output_root / 'cache'}", "trainer.ckpt_every=1"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)


def test_two_torchrun_launches_get_two_run_dirs_and_never_resume_each_other(tmp_path):
    launches = [launch(tmp_path), launch(tmp_path)]  # at the same time: the old run dir `.../none` was shared
    for proc in launches:
        _, err = proc.communicate(timeout=400)
        assert proc.returncode == 0, err[-4000:]
    run_dirs = sorted(p.parent for p in tmp_path.glob("contact/crrnet_synthetic/*/*/config.yaml"))
    assert len(run_dirs) == 2, run_dirs  # one per launch, shared by both ranks (not one per rank)
    assert all(p.name != "none" for p in run_dirs)
    for run_dir in run_dirs:
        log = (run_dir / "train.log").read_text()
        assert "resumed from" not in log
        assert not list(run_dir.glob("config.resume-*.yaml"))
        assert (run_dir / "checkpoints" / "final").is_dir()
        assert (run_dir / "train_metrics.json").is_file()


def test_config_is_kept_per_launch_and_a_changed_resume_is_refused_with_the_diff(tmp_path):
    first = {"paper": "contact", "model": {"window": 7}, "trainer": {"lr": 1e-3, "resume": "auto"}}
    assert record_config(tmp_path, first, allow_change=False).name == "config.yaml"
    (tmp_path / "checkpoints" / "step_00000002").mkdir(parents=True)
    (tmp_path / "checkpoints" / "step_00000002" / "trainer_state.pt").write_bytes(b"")
    same_but_operational = {**first, "trainer": {"lr": 1e-3, "resume": "auto", "log_every": 5}}
    assert record_config(tmp_path, same_but_operational, allow_change=False).name == "config.resume-1.yaml"
    changed = {**first, "model": {"window": 3}}
    with pytest.raises(RunDirError, match=r"model\.window: 7 -> 3[\s\S]*trainer.allow_config_change=true"):
        record_config(tmp_path, changed, allow_change=False)
    assert record_config(tmp_path, changed, allow_change=True).name == "config.resume-2.yaml"
    assert OmegaConf.load(tmp_path / "config.yaml").model.window == 7  # the first launch's config is kept


def test_lock_is_released_when_its_holder_dies(tmp_path):
    script = ("import fcntl, sys, time; fh = open(sys.argv[1] + '/.lock', 'a'); fcntl.flock(fh, fcntl.LOCK_EX); "
              "print('locked', flush=True); time.sleep(60)")  # the lock protocol, without the slow imports
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env=env, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirError, match="in use by another live run"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    RunLock(tmp_path).acquire().release()  # SIGKILL leaves no stale lock



def test_evaluate_finds_the_paper_of_a_checkpoint(tmp_path):
    folder = tmp_path / "a" / "checkpoints" / "final"
    folder.mkdir(parents=True)
    assert paper_of_checkpoint(folder) is None
    (tmp_path / "a" / "config.yaml").write_text("paper: tiger\nseed: 0\n")
    assert paper_of_checkpoint(folder) == "tiger"  # from the run's config two levels up
    (folder / "config.json").write_text(json.dumps({"model_class": "contact.model.CRRNet"}))
    assert paper_of_checkpoint(folder) == "contact"  # the model folder's own class wins


def test_multinode_submitit_preset_requeues_with_one_task_per_gpu():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(REPO / "configs"), version_base="1.3"):
        cfg = compose("train", overrides=["hydra/launcher=slurm_multinode", "experiment=contact/crrnet_synthetic"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert (launcher.nodes, launcher.gpus_per_node, launcher.tasks_per_node) == (2, 8, 8)
    assert launcher.max_num_timeout > 0 and launcher.signal_delay_s >= 60
    assert launcher.additional_parameters.requeue is True
