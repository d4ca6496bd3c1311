"""Reproduction of the kinematics paper's Table 2 (impact of gamma) and of the neural-IK vs trust-region
comparison (Sec. 4.4, Fig. 8), on synthetic interactions with the stand-in SMPL (data="synthetic")."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from common.body import is_standin, load_smpl
from common.reproduce import PaperResult, Table, register_paper
from kinematics.config import KinematicsDataConfig, KinematicsModelConfig
from kinematics.experiment import cpu_threads, make_cases, rough_result, run_solver, solver_configs
from kinematics.figures import gamma_figure, skeleton_figure

log = logging.getLogger(__name__)
PUBLISHED_TABLE2 = {30.0: (11.42, 5.12), 60.0: (12.67, 6.31), 90.0: (13.27, 6.51)}
"""Paper Table 2 (BEHAVE test set): gamma -> (Chamfer cm, PA-Chamfer cm)."""
SOLVER_STEPS, SOLVER_LR, PROBLEMS_PER_CHAIN = 300, 0.01, 24
CONVERGED = {"stop_ratio": 0.0, "patience": 100}
"""Run-to-convergence variant: no ratio stop (neural: plateau stop; TRF: scipy's own tolerances)."""


def _variants() -> dict[str, tuple[str, KinematicsModelConfig, int]]:
    """Table row name -> (kind, model config, solver steps)."""
    base = KinematicsModelConfig
    return {
        "neural IK, gamma=30 (paper stop rule)": ("ours", base(), SOLVER_STEPS),
        "neural IK, gamma=60": ("ablation", base(gamma_deg=60.0), SOLVER_STEPS),
        "neural IK, gamma=90": ("ablation", base(gamma_deg=90.0), SOLVER_STEPS),
        "neural IK without L_2D": ("ablation", base(use_2d=False), SOLVER_STEPS),
        "plain MLP (no tanh limit)": ("ablation", base(use_tanh=False), SOLVER_STEPS),
        "trust region (TRF), gamma=30 (paper stop rule)": ("baseline", base(solver="trust_region"), SOLVER_STEPS),
        "trust region (TRF), gamma=90": ("baseline", base(solver="trust_region", gamma_deg=90.0), SOLVER_STEPS),
        "neural IK, gamma=30, run to convergence": ("ours", base(**CONVERGED), 2 * SOLVER_STEPS),
        "trust region (TRF), gamma=30, run to convergence": ("baseline", base(solver="trust_region",
                                                                              **CONVERGED), SOLVER_STEPS),
    }


def _check_real_data() -> None:
    """Real-data reproduction needs BEHAVE plus rough fits and contact regions: explain what is missing."""
    root = Path(os.environ.get("EHP_BEHAVE_ROOT", Path(os.environ.get("EHP_DATA_ROOT", "data")) / "behave"))
    if not (root / "sequences").is_dir():
        raise FileNotFoundError(f"BEHAVE not found at {root} (expected {root}/sequences, split.json; set "
                                "EHP_BEHAVE_ROOT). See docs/kinematics.md, section 'Real data'.")
    # Deliberate: this table needs upstream outputs (trained CRRNet / tracker fits) the repo cannot make here.
    raise NotImplementedError(
        f"BEHAVE found at {root}, but the real-data Table 2 also needs rough SMPL fits (e.g. VisTracker outputs) "
        "and predicted contact regions (CRRNet, contact paper) per test frame; that pipeline is not "
        "implemented here. See docs/kinematics.md, section 'Real data'.")


@register_paper("kinematics")
def reproduce(data: str, results_dir: Path) -> PaperResult:
    """Run every solver variant on the same synthetic problems; tables plus two PNG figures."""
    if data == "real":
        _check_real_data()
    if data != "synthetic":
        raise ValueError(f"data={data!r}: choose 'synthetic' or 'real'")
    smpl = load_smpl()
    label = "stand-in SMPL" if is_standin(smpl) else "SMPL"
    data_cfg = KinematicsDataConfig(problems_per_chain=PROBLEMS_PER_CHAIN)
    with cpu_threads(1):
        cases = make_cases(smpl, data_cfg)
        rough, _ = run_solver(cases, smpl, None)
        runs = {}
        for name, (kind, model_cfg, steps) in _variants().items():
            log.info("kinematics reproduce: %s", name)
            metrics, results = run_solver(cases, smpl, solver_configs(model_cfg, steps, SOLVER_LR))
            runs[name] = (kind, metrics, results)

    gamma_table = Table("Table 2: impact of gamma (neural IK)",
                        {"chamfer_cm": "lower", "pa_chamfer_cm": "lower", "mpjpe_mm": "lower",
                         "pa_mpjpe_mm": "lower", "reach_cm": "lower"},
                        note=f"ours: synthetic interactions, {label}, {len(cases) * PROBLEMS_PER_CHAIN} problems "
                             "(arms and legs); Chamfer = vertex Chamfer (sum of mean distances), unaligned / "
                             "after similarity Procrustes. published: BEHAVE test set (real data).")
    gamma_rows = {30.0: "neural IK, gamma=30 (paper stop rule)", 60.0: "neural IK, gamma=60",
                  90.0: "neural IK, gamma=90"}
    for gamma, name in gamma_rows.items():
        kind, m, _ = runs[name]
        gamma_table.add(f"gamma={gamma:.0f} ({label}, synthetic)", kind, **{k: m[k] for k in gamma_table.metrics})
    for gamma, (chamfer, pa_chamfer) in PUBLISHED_TABLE2.items():
        gamma_table.add(f"gamma={gamma:.0f} (paper, BEHAVE)", "published", chamfer_cm=chamfer,
                        pa_chamfer_cm=pa_chamfer)

    solver_table = Table("Neural IK vs trust region and ablations (Sec. 4.4)",
                         {"mpjpe_mm": "lower", "pa_mpjpe_mm": "lower", "reach_cm": "lower", "chamfer_cm": "lower",
                          "g_mpjpe_mm": "lower", "nonchain_change_rad": "lower", "steps": "lower",
                          "solves_per_s": "higher"},
                         note=f"synthetic interactions, {label}; mpjpe = root-aligned, g_mpjpe = camera frame; "
                              "steps = MLP updates (neural) or residual evaluations (TRF, 2-point Jacobian); "
                              "solves/s on this machine's CPU, 1 thread (scripts/benchmark.py kinematics has "
                              "the batched timing). The paper reports this comparison only qualitatively.")
    solver_table.add(f"rough input ({label})", "baseline", **{k: rough[k] for k in solver_table.metrics
                                                             if k != "solves_per_s"})
    for name, (kind, m, _) in runs.items():
        solver_table.add(name, kind, **{k: m[k] for k in solver_table.metrics})

    out_dir = results_dir / "kinematics"
    first = cases[0]
    shown = {"rough input": rough_result(first.inter, first.gt_joints),
             "neural IK": runs["neural IK, gamma=30 (paper stop rule)"][2][0],
             "trust region": runs["trust region (TRF), gamma=30 (paper stop rule)"][2][0]}
    figures = [skeleton_figure(first.inter, first.gt_joints, shown, out_dir / "skeletons.png")]
    gammas = sorted(gamma_rows)
    figures.append(gamma_figure(gammas, [runs[gamma_rows[g]][1]["mpjpe_mm"] for g in gammas],
                                [runs[gamma_rows[g]][1]["pa_chamfer_cm"] for g in gammas],
                                [PUBLISHED_TABLE2[g][1] for g in gammas], out_dir / "gamma.png"))
    notes = [f"All 'ours' numbers use the {label} body model on synthetic interactions, not BEHAVE.",
             f"torch {torch.__version__}; neural IK {SOLVER_STEPS} steps max, Adam lr {SOLVER_LR}."]
    return PaperResult("kinematics", data, [gamma_table, solver_table], figures, notes)
