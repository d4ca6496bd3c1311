"""Kinematics-based HOI refinement (Chen & Wang, arXiv 2407.14043): twist-swing FK and the neural IK solver.

Refinement entry point for other pipelines (e.g. the contact paper)::

    from kinematics import solve_contact
    out = solve_contact(
        body_params,            # smplx SMPL params: global_orient (B,3), body_pose (B,69), betas (B,10), transl (B,3)
                                # (or MANO: global_orient, hand_pose (B,45), betas, transl)
        "left_arm",             # chain: left_arm/right_arm/left_leg/right_leg/body (the paper's, from the root),
                                # part_chain("left_forearm") for a BEHAVE part, or a MANO finger (thumb/index/...)
        target_points,          # (B,N,3) or (N,3) contact points, same frame as the model output (metres)
        model=None,             # the smplx model the params belong to (default: stand-in load_smpl()/load_mano())
        root_2d=None, K=None,   # optional 2D root (B,2) pixels + intrinsics (B,3,3): enables L_2D
        cfg=None,               # NeuralIKConfig or dict (gamma_deg=30, use_tanh, use_2d, stop_ratio=0.01, ...)
        solver="neural",        # or "trust_region" (scipy TRF baseline)
    )
    out["params"]      # refined params, same keys; joints outside the chain keep their rotations bit for bit
    out["joints"]      # (B,24,3) SMPL or (B,21,3) MANO joints (OpenPose order), incl. translation
    out["vertices"]    # (B,V,3) smplx mesh of the refined params
    out["reach"]       # (B,) m, target joint to the contact-point centroid
    out["mean_distance"]  # (B,) m, mean distance target joint -> contact points (the L_IK term, never 0)
    out["steps"], out["loss"], out["initial_loss"], out["converged"]   # per-problem diagnostics

No offline training: every call optimises one small MLP per problem online (batched).
"""

from kinematics.chains import (
    CHAINS,
    MANO_CHAINS,
    PART_TO_CHAIN,
    SHORT_CHAINS,
    SMPL_CHAINS,
    KinematicChain,
    get_chain,
    part_chain,
)
from kinematics.fk import ChainFK, fk_joints, forward_kinematics, improved_fk, relative_transforms, twist_swing_delta
from kinematics.neural_ik import NeuralIKConfig, solve_neural_ik, solve_neural_ik_batch
from kinematics.objective import IKProblem, IKResult, LossWeights
from kinematics.refine import ContactRequest, build_problem, solve_contact, solve_contacts
from kinematics.trust_region import TrustRegionConfig, solve_trust_region

__all__ = [
    "CHAINS",
    "MANO_CHAINS",
    "PART_TO_CHAIN",
    "SHORT_CHAINS",
    "SMPL_CHAINS",
    "ChainFK",
    "ContactRequest",
    "IKProblem",
    "IKResult",
    "KinematicChain",
    "LossWeights",
    "NeuralIKConfig",
    "TrustRegionConfig",
    "build_problem",
    "fk_joints",
    "forward_kinematics",
    "get_chain",
    "improved_fk",
    "part_chain",
    "relative_transforms",
    "solve_contact",
    "solve_contacts",
    "solve_neural_ik",
    "solve_neural_ik_batch",
    "solve_trust_region",
    "twist_swing_delta",
]
