"""Run by torchrun in tests: taihri SFT then GRPO from the paper configs on 2 CPU processes (gloo)."""

import json
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir

from common.training.hf_dist import is_main, world
from taihri import api

REPO = Path(__file__).resolve().parents[2]


def main(folder: str, root: str, out: str) -> None:
    """SFT then RFT from the SFT folder; rank 0 writes `<out>/<stage>/metrics.json`."""
    common = [f"model.pretrained_path={folder}", f"data.root={root}", "data.num_eval=2", "model.min_pixels=1024",
              "model.max_pixels=4096", "model.max_new_tokens=8", "trainer.progress_bar=false",
              "trainer.ckpt_every=0", "trainer.log_every=1", "trainer.batch_size=2", "trainer.grad_accum=1",
              "model.gradient_checkpointing=false"]
    stages = {"sft": ["trainer.max_steps=2"],
              "rft": [f"ckpt={out}/sft/checkpoints/final", "trainer.max_steps=1", "model.grpo.num_generations=2",
                      "model.grpo.max_completion_length=8"]}
    for stage, extra in stages.items():
        with initialize_config_dir(str(REPO / "configs"), version_base="1.3"):
            cfg = compose("train", overrides=[f"experiment=taihri/{stage}", f"run_dir={out}/{stage}", *common,
                                              *extra])
        metrics = api.train(cfg)
        if is_main():
            (Path(out) / stage / "metrics.json").write_text(json.dumps({**metrics, "world_size": world()[1]}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
