"""The README's results block is generated from results/*.json and is current."""

from __future__ import annotations

import json
from pathlib import Path

from common.reproduce_readme import paper_lines, render, update

REPO = Path(__file__).resolve().parents[2]


def _row(rid: str, label: str, per_seed: list[float]) -> dict:
    mean = sum(per_seed) / len(per_seed)
    return {"id": rid, "label": label, "kind": "ours",
            "metrics": {"ade": {"mean": mean, "std": 0.5, "min": min(per_seed), "max": max(per_seed),
                                "per_seed": per_seed}}}


def test_orderings_become_readme_lines(tmp_path):
    result = {"paper": "eggflow", "timing": {"cpu_seconds": 90.0}, "tables": [{
        "name": "Table 1", "metrics": {"ade": "lower", "fde": "lower", "auc": "higher"},
        "rows": [_row("ours", "EggFlow", [1.0, 2.0]), _row("cvm", "CVM", [3.0])],
        "orderings": [
            {"better": "ours", "worse": "cvm", "metric": "ade", "verdict": "every_seed", "held_seeds": 2, "seeds": 2},
            {"better": "ours", "worse": "cvm", "metric": "fde", "verdict": "every_seed", "held_seeds": 2, "seeds": 2},
            {"better": "ours", "worse": "cvm", "metric": "auc", "verdict": "mean_only", "held_seeds": 1, "seeds": 2},
        ]}]}
    (line,) = paper_lines(result)
    assert line == ("| [eggflow](results/eggflow.md) | Table 1 | EggFlow < CVM on ade, fde | "
                    "EggFlow > CVM on auc 1/2 | - |")
    (tmp_path / "eggflow.json").write_text(json.dumps(result))
    block = render(tmp_path)
    assert line in block and "eggflow 1.5" in block
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- results:begin -->\nold\n<!-- results:end -->\noutro\n")
    old, new = update(readme, tmp_path)
    assert new == "intro\n" + block + "\noutro\n" and old != new


def test_readme_results_block_is_current():
    old, new = update(REPO / "README.md", REPO / "results")
    assert old == new, "README results block is stale: run python scripts/update_readme.py"
