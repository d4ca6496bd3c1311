"""Run-dir integrity through the real entry point: two torchrun launches of one experiment (static
rendezvous, 2 gloo processes) get two run dirs, each made once for both ranks, and neither resumes the other."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from common.training.rundir import RunDirError, RunLock, record_config

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(output_root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    env.pop("EHP_LAUNCH_ID", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port()), str(REPO / "scripts" / "train.py"),
           "experiment=contact/crrnet_synthetic", "debug=contact", f"paths.output_root={output_root}",
           f"paths.cache_dir={output_root / 'cache'}", "trainer.ckpt_every=1"]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400, cwd=REPO)


def test_two_torchrun_launches_get_two_run_dirs_and_never_resume_each_other(tmp_path):
    for _ in range(2):
        out = launch(tmp_path)
        assert out.returncode == 0, out.stderr[-4000:]
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


def test_torchrun_forwards_sigusr1_and_the_rerun_resumes(tmp_path):
    """The sbatch template's path: SIGUSR1 to the torchrun agent reaches every worker, they checkpoint at the
    same step and exit 75; the same command again resumes from that checkpoint."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}

    def torchrun(mode: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
               "--signals-to-handle", "SIGTERM,SIGINT,SIGUSR1", "--shutdown-timeout", "120",
               str(REPO / "tests" / "common" / "signal_worker.py"), str(tmp_path), mode]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)

    first = torchrun("stop")
    assert first.returncode != 0 and "received SIGUSR1: saving a checkpoint" in first.stderr, first.stderr[-3000:]
    steps = sorted(p.name for p in (tmp_path / "run" / "checkpoints").glob("step_*"))
    assert len(steps) == 1 and steps[0] < "step_00000012", steps
    assert (tmp_path / "run" / "checkpoints" / steps[0] / "random_states_1.pkl").exists()
    second = torchrun("resume")
    assert second.returncode == 0, second.stderr[-3000:]
    log = (tmp_path / "run" / "train.log").read_text()
    assert f"resumed from {tmp_path / 'run' / 'checkpoints' / steps[0]}" in log
    assert (tmp_path / "run" / "checkpoints" / "final").is_dir()
