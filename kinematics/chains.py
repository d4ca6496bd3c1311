"""Kinematic chains (paper Fig. 3) for SMPL (24 joints) and MANO (21 joints, OpenPose order).

Joint types: the *target* joint is driven onto the contact region, *rotation* joints get a bounded
twist-swing delta, the root gets the *translation* delta, every other joint is *fixed* (its local rotation
is returned bit-identical).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.body import MANO_PARENTS_21, SMPL_PARENTS

JOINT_TYPES = ("fixed", "rotation", "translation", "target")


@dataclass(frozen=True)
class KinematicChain:
    """Active chain: rotation joints (root side first), the target joint, the tree and translation flag."""

    name: str
    rotation: tuple[int, ...]
    target: int
    tree: str = "smpl"
    translation: bool = True

    @property
    def parents(self) -> tuple[int, ...]:
        """Parent list of the chain's tree."""
        return TREES[self.tree]

    def path_children(self) -> tuple[int, ...]:
        """For each rotation joint, its child on the path to the target (defines the twist axis)."""
        path = [self.target]
        while self.parents[path[-1]] >= 0:
            path.append(self.parents[path[-1]])
        path = path[::-1]
        children = []
        for j in self.rotation:
            if j not in path or j == self.target:
                raise ValueError(f"chain {self.name!r}: rotation joint {j} is not an ancestor of the target")
            children.append(path[path.index(j) + 1])
        return tuple(children)

    def joint_types(self) -> tuple[str, ...]:
        """Type of every joint of the tree (root: 'translation' when the chain moves the body)."""
        types = ["fixed"] * len(self.parents)
        if self.translation:
            types[0] = "translation"
        for j in self.rotation:
            types[j] = "rotation"
        types[self.target] = "target"
        return tuple(types)


TREES: dict[str, tuple[int, ...]] = {"smpl": tuple(SMPL_PARENTS), "mano21": tuple(MANO_PARENTS_21)}

SMPL_CHAINS: dict[str, KinematicChain] = {
    "left_arm": KinematicChain("left_arm", (0, 3, 6, 9, 13, 16, 18, 20), 22),
    "right_arm": KinematicChain("right_arm", (0, 3, 6, 9, 14, 17, 19, 21), 23),
    "left_leg": KinematicChain("left_leg", (0, 1, 4, 7), 10),
    "right_leg": KinematicChain("right_leg", (0, 2, 5, 8), 11),
    "body": KinematicChain("body", (0, 3, 6, 9, 12), 15),
}
"""The paper's five chains (Fig. 3, Sec. 4.4: "the arm kinematic chain starting from the root joint ... 7
joints, 21 DoF" without the wrist): every chain starts at the root, the arm reaches the hand joint through
spine, collar, shoulder, elbow and wrist."""
SHORT_CHAINS: dict[str, KinematicChain] = {
    "left_arm": KinematicChain("left_arm_short", (16, 18, 20), 22),
    "right_arm": KinematicChain("right_arm_short", (17, 19, 21), 23),
    "left_leg": KinematicChain("left_leg_short", (1, 4, 7), 10),
    "right_leg": KinematicChain("right_leg_short", (2, 5, 8), 11),
    "body": KinematicChain("body_short", (3, 6, 9, 12), 15),
}
"""Ablation (not the paper): 3-joint limb chains (9 DoF) that leave the root, spine and collar fixed."""
CHAIN_SETS: dict[str, dict[str, KinematicChain]] = {"paper": SMPL_CHAINS, "short": SHORT_CHAINS}
MANO_CHAINS: dict[str, KinematicChain] = {
    name: KinematicChain(name, (4 * k + 1, 4 * k + 2, 4 * k + 3), 4 * k + 4, tree="mano21")
    for k, name in enumerate(("thumb", "index", "middle", "ring", "little"))
}
CHAINS: dict[str, KinematicChain] = {**SMPL_CHAINS, **MANO_CHAINS,
                                     **{c.name: c for c in SHORT_CHAINS.values()}}

PART_TARGETS: dict[str, tuple[str, int]] = {
    "left_forearm": ("left_arm", 22), "left_midarm": ("left_arm", 20), "left_upperarm": ("left_arm", 18),
    "right_forearm": ("right_arm", 23), "right_midarm": ("right_arm", 21), "right_upperarm": ("right_arm", 19),
    "left_foot": ("left_leg", 10), "left_leg": ("left_leg", 7), "upper_left_leg": ("left_leg", 4),
    "right_foot": ("right_leg", 11), "right_leg": ("right_leg", 8), "upper_right_leg": ("right_leg", 5),
    "torso": ("body", 9), "head": ("body", 15),
}
"""BEHAVE part -> (chain activated, target joint: the chain joint at the distal end of that part)."""


def part_chain(part: str, chain_set: str = "paper") -> KinematicChain:
    """Chain driven by a contact on a BEHAVE part: the set's chain cut at the part's target joint (rotation
    joints = the chain's joints that are ancestors of the target)."""
    if part not in PART_TARGETS:
        raise KeyError(f"unknown BEHAVE part {part!r}; choose one of {sorted(PART_TARGETS)}")
    if chain_set not in CHAIN_SETS:
        raise KeyError(f"unknown chain set {chain_set!r}; choose one of {sorted(CHAIN_SETS)}")
    chain_name, target = PART_TARGETS[part]
    full = CHAIN_SETS[chain_set][chain_name]
    ancestors, j = set(), full.parents[target]
    while j >= 0:
        ancestors.add(j)
        j = full.parents[j]
    rotation = tuple(r for r in full.rotation if r in ancestors)
    if not rotation:
        rotation = (full.parents[target],)
    return KinematicChain(f"{part}@{full.name}", rotation, target, full.tree, full.translation)


PART_TO_CHAIN: dict[str, KinematicChain] = {part: part_chain(part) for part in PART_TARGETS}
"""Paper chains per BEHAVE part (target = the joint nearest that part's distal end)."""


def get_chain(name: str | KinematicChain) -> KinematicChain:
    """A chain by name (paper SMPL chain, `<limb>_short` ablation chain or MANO finger); a chain passes through.

    BEHAVE part names are not accepted here (`left_leg` is both a chain and a part): use `part_chain`.
    """
    if isinstance(name, KinematicChain):
        return name
    if name in CHAINS:
        return CHAINS[name]
    raise KeyError(f"unknown chain {name!r}; choose one of {sorted(CHAINS)} (BEHAVE parts: part_chain(part))")
