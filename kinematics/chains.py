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
    "left_arm": KinematicChain("left_arm", (16, 18, 20), 22),
    "right_arm": KinematicChain("right_arm", (17, 19, 21), 23),
    "left_leg": KinematicChain("left_leg", (1, 4, 7), 10),
    "right_leg": KinematicChain("right_leg", (2, 5, 8), 11),
    "body": KinematicChain("body", (3, 6, 9, 12), 15),
}
MANO_CHAINS: dict[str, KinematicChain] = {
    name: KinematicChain(name, (4 * k + 1, 4 * k + 2, 4 * k + 3), 4 * k + 4, tree="mano21")
    for k, name in enumerate(("thumb", "index", "middle", "ring", "little"))
}
CHAINS: dict[str, KinematicChain] = {**SMPL_CHAINS, **MANO_CHAINS}

PART_TO_CHAIN: dict[str, KinematicChain] = {
    "left_forearm": SMPL_CHAINS["left_arm"],
    "left_midarm": KinematicChain("left_arm_to_wrist", (16, 18), 20),
    "left_upperarm": KinematicChain("left_arm_to_elbow", (13, 16), 18),
    "right_forearm": SMPL_CHAINS["right_arm"],
    "right_midarm": KinematicChain("right_arm_to_wrist", (17, 19), 21),
    "right_upperarm": KinematicChain("right_arm_to_elbow", (14, 17), 19),
    "left_foot": SMPL_CHAINS["left_leg"],
    "left_leg": KinematicChain("left_leg_to_ankle", (1, 4), 7),
    "upper_left_leg": KinematicChain("left_leg_to_knee", (1,), 4),
    "right_foot": SMPL_CHAINS["right_leg"],
    "right_leg": KinematicChain("right_leg_to_ankle", (2, 5), 8),
    "upper_right_leg": KinematicChain("right_leg_to_knee", (2,), 5),
    "torso": KinematicChain("torso", (3, 6), 9),
    "head": SMPL_CHAINS["body"],
}
"""Chain activated by a contact on each BEHAVE body part (target = the joint nearest that part's end)."""


def get_chain(name: str) -> KinematicChain:
    """A chain by name (SMPL/MANO chain names, or a BEHAVE part name)."""
    if name in CHAINS:
        return CHAINS[name]
    if name in PART_TO_CHAIN:
        return PART_TO_CHAIN[name]
    raise KeyError(f"unknown chain {name!r}; choose one of {sorted(CHAINS)} or a part of {sorted(PART_TO_CHAIN)}")
