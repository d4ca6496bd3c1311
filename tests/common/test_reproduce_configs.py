"""Every configs/reproduce/<paper>.yaml follows the schema, and each of its runs composes with the overrides it
declares (synthetic in every profile, real in the fast one): a table cannot name a missing experiment or key."""

from __future__ import annotations

import pytest

from common.reproduce import configured_papers
from common.reproduce_run import compose, plan
from common.reproduce_spec import load_spec


@pytest.mark.parametrize("paper", configured_papers())
def test_reproduce_config_runs_compose(paper, tmp_path):
    spec = load_spec(paper)
    assert spec.seeds >= 2, "the fast profile runs every trained row on at least 2 seeds"
    for data, profile in [("real", "fast"), *(("synthetic", p) for p in ("fast", *spec.profiles))]:
        first_seed = {}
        for unit in plan(spec, data, profile, None, tmp_path):
            first_seed.setdefault(unit.run_id, unit)
        for unit in first_seed.values():
            cfg = compose(unit, tmp_path / "ckpt" if unit.ckpt_from else None)
            assert cfg.paper == paper, f"{unit.key} ({data}, {profile}) composes a {cfg.paper} experiment"
