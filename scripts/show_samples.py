"""Draw a PNG grid of synthetic samples with keypoints, skeletons and boxes.

    python scripts/show_samples.py bodies [--out docs/images/samples_bodies.png] [--num 8] [--seed 0]
    python scripts/show_samples.py hands       # 4 frames of each clip with the task text
    python scripts/show_samples.py body_clips  # 4 frames of each body clip
    python scripts/show_samples.py grasps   # hand-object images, amodal object area tinted
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

from common.body import MANO_PARENTS_21, SMPL_PARENTS
from common.data import schema as S
from common.data.synthetic import GENERATORS

log = logging.getLogger("show_samples")


def _to_bgr(image: np.ndarray) -> np.ndarray:
    """(3,H,W) float RGB in [0,1] -> (H,W,3) uint8 BGR."""
    return np.ascontiguousarray((np.asarray(image).transpose(1, 2, 0)[:, :, ::-1] * 255).astype(np.uint8))


def _draw(img: np.ndarray, uv: np.ndarray, valid: np.ndarray, parents: tuple[int, ...] | list[int],
          box: np.ndarray | None = None) -> np.ndarray:
    """Draw bones (between valid joints), joints (green even, red odd index) and an optional box."""
    img = img.copy()
    pts = np.round(uv).astype(int)
    for j, p in enumerate(parents):
        if p >= 0 and valid[j] and valid[p]:
            cv2.line(img, tuple(pts[j]), tuple(pts[p]), (255, 255, 0), 1, cv2.LINE_AA)
    for j in np.flatnonzero(valid):
        cv2.circle(img, tuple(pts[j]), 2, (0, 0, 255) if j % 2 else (0, 200, 0), -1, cv2.LINE_AA)
    if box is not None:
        x0, y0, x1, y1 = np.round(np.asarray(box)).astype(int)
        cv2.rectangle(img, (x0, y0), (x1, y1), (0, 255, 255), 1)
    return img


def _caption(img: np.ndarray, text: str) -> np.ndarray:
    """Write `text` on a dark strip under the image."""
    strip = np.zeros((18, img.shape[1], 3), np.uint8)
    cv2.putText(strip, text[:60], (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([img, strip], axis=0)


def tiles_for(name: str, num: int, seed: int) -> list[np.ndarray]:
    """Annotated BGR tiles of `num` samples of generator `name`."""
    if name in ("hands", "body_clips"):
        if name == "hands":
            gen = GENERATORS[name](seed=seed, num_samples=num, num_frames=30, render=True, two_hands=True)
            parents = list(MANO_PARENTS_21) + [p + 21 * (p >= 0) for p in MANO_PARENTS_21]
        else:
            gen = GENERATORS[name](seed=seed, num_samples=num, num_frames=30, render=True, object_prob=0.7)
            parents = list(SMPL_PARENTS)
        tiles = []
        for i in range(num):
            sample = gen[i]
            for f in (0, 12, 22, 29):
                img = _draw(_to_bgr(sample[S.FRAMES][f]), sample[S.JOINTS_2D][f], sample[S.JOINT_VALID][f], parents)
                tiles.append(_caption(img, f"t={sample[S.TIMESTAMPS][f]:.1f}s {sample.get(S.TEXT, '')}"))
        return tiles
    if name == "grasps":
        gen = GENERATORS[name](seed=seed, num_samples=num, render=True, image_hw=(224, 224))
        samples = [(gen[i], "") for i in range(num)]
    else:
        gen = GENERATORS[name](seed=seed, num_samples=num, render=True, object_prob=0.4)
        samples = [(gen.to_sample(scene), f"{scene.view}: ") for scene in gen.scenes(range(num))]
    parents = MANO_PARENTS_21 if name == "grasps" else SMPL_PARENTS
    tiles = []
    for sample, prefix in samples:
        img = _to_bgr(sample[S.IMAGE])
        if S.OBJECT_MASK_AMODAL in sample:
            hidden = sample[S.OBJECT_MASK_AMODAL] & ~sample[S.OBJECT_MASK]
            img[hidden] = (0.5 * img[hidden] + [127, 0, 127]).astype(np.uint8)
        img = _draw(img, sample[S.JOINTS_2D], sample[S.JOINT_VALID], parents, sample[S.BOX])
        tiles.append(_caption(img, prefix + sample.get(S.TEXT, "")))
    return tiles


def main(argv: list[str]) -> int:
    """Parse arguments, draw the grid and write the PNG."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("generator", choices=sorted(GENERATORS))
    parser.add_argument("--out", type=Path, default=None, help="PNG path (default samples_<generator>.png)")
    parser.add_argument("--num", type=int, default=8, help="samples (at most 4 clips for clip generators)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cols", type=int, default=4)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    num = min(args.num, 4) if args.generator in ("hands", "body_clips") else args.num
    tiles = tiles_for(args.generator, num, args.seed)
    rows = [np.concatenate(tiles[i:i + args.cols], axis=1) for i in range(0, len(tiles), args.cols)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    title = _caption(np.zeros((0, width, 3), np.uint8),
                     f"synthetic '{args.generator}' samples, seed {args.seed} (stand-in SMPL/MANO)")
    out = args.out or Path(f"samples_{args.generator}.png")
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), np.concatenate([title, *rows], axis=0))
    log.info("wrote %s (%d tiles, stand-in body models)", out, len(tiles))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
