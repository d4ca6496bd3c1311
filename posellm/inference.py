"""Batched keypoint queries, greedy answers, confidences, inverse crop; COCO AP and MPII PCKh."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from common.metrics import coco_keypoint_eval
from common.metrics.mpii import mpii_pckh, pckh
from posellm.crop import crop_matrix, image_to_norm, norm_to_image
from posellm.data import PersonInstance, crop_instance
from posellm.keypoints import NOVEL_KEYPOINTS
from posellm.model import PoseLLM, normalise_images
from posellm.text import PromptCodec, format_answer, parse_answer

log = logging.getLogger(__name__)


@dataclass
class Predictions:
    """Per-instance keypoints in original image px (N, K, 2), confidences (N, K) and parse statistics."""

    keypoints: np.ndarray
    confidence: np.ndarray
    parsed: np.ndarray
    texts: list[list[str]]

    @property
    def unparsed(self) -> int:
        """Number of answers without a readable '[x,y]'."""
        return int((~self.parsed).sum())


def base_network(model: nn.Module) -> PoseLLM:
    """The PoseLLM inside a PEFT wrapper (LoRA layers stay active)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict(model: nn.Module, codec: PromptCodec, instances: list[PersonInstance], names: list[str],
            image_size: int, mean: list[float], std: list[float], max_new_tokens: int = 14,
            queries_per_batch: int = 128) -> Predictions:
    """Ask every keypoint of `names` for every instance; unparseable answers fall back to the crop centre."""
    net = base_network(model)
    net.eval()
    device = next(net.parameters()).device
    tok = codec.tokenizer
    per_batch = max(1, queries_per_batch // len(names))
    coords = np.zeros((len(instances), len(names), 2))
    conf = np.zeros((len(instances), len(names)))
    parsed = np.zeros((len(instances), len(names)), bool)
    texts: list[list[str]] = []
    queries = [codec.query(n) for n in names]
    length = max(map(len, queries))
    ids = torch.tensor([[tok.pad_token_id] * (length - len(q)) + q for q in queries], device=device)
    mask = torch.tensor([[0] * (length - len(q)) + [1] * len(q) for q in queries], device=device)
    digit = torch.as_tensor(codec.digit_token, device=device)
    for start in range(0, len(instances), per_batch):
        chunk = instances[start:start + per_batch]
        crops, matrices = zip(*(crop_instance(inst, image_size) for inst in chunk))
        pixels = normalise_images(np.stack(crops), mean, std).to(device)
        with autocast(device):
            img = net.image_embeddings(pixels).repeat_interleave(len(names), 0)
            tokens, probs = net.generate_answers(img, ids.repeat(len(chunk), 1), mask.repeat(len(chunk), 1),
                                                 max_new_tokens, tok.pad_token_id, tok.eos_token_id)
        is_digit = digit[tokens]
        digit_conf = (probs * is_digit).sum(1) / is_digit.sum(1).clamp(min=1)
        for b, matrix in enumerate(matrices):
            row_texts = []
            for k in range(len(names)):
                q = b * len(names) + k
                text = codec.decode(tokens[q].tolist())
                row_texts.append(text)
                xy = parse_answer(text)
                i = start + b
                parsed[i, k] = xy is not None
                xy_norm = np.array([0.5, 0.5]) if xy is None else np.array(xy)
                coords[i, k] = norm_to_image(xy_norm[None], matrix, image_size)[0]
                conf[i, k] = float(digit_conf[q]) if xy is not None else 0.0
            texts.append(row_texts)
    return Predictions(coords, conf, parsed, texts)


def coco_results(instances: list[PersonInstance], keypoints: np.ndarray,
                 confidence: np.ndarray) -> list[dict]:
    """COCO keypoint result dicts (category 1); instance score = mean keypoint confidence."""
    results = []
    for inst, xy, c in zip(instances, keypoints, confidence):
        flat = np.concatenate([xy, np.ones((len(xy), 1))], 1).reshape(-1)
        results.append({"image_id": int(inst.image_id), "category_id": 1,
                        "keypoints": [float(v) for v in flat], "score": float(np.mean(c))})
    return results


def coco_ap(instances: list[PersonInstance], gt: dict, preds: Predictions) -> dict[str, float]:
    """COCO keypoint stats (pycocotools) with GT boxes and no flip test, plus the unparsed-answer rate."""
    ids = {inst.image_id for inst in instances}
    gt_used = {**gt, "images": [im for im in gt["images"] if im["id"] in ids],
               "annotations": [a for a in gt["annotations"] if a["image_id"] in ids]}
    stats = coco_keypoint_eval(gt_used, coco_results(instances, preds.keypoints, preds.confidence))
    return {**stats, "unparsed_rate": preds.unparsed / max(preds.parsed.size, 1)}


def mean_pose(instances: list[PersonInstance], image_size: int) -> np.ndarray:
    """(K, 2) mean of the visible keypoints normalised to each instance's un-augmented crop."""
    total, count = np.zeros((len(instances[0].names), 2)), np.zeros((len(instances[0].names), 1))
    for inst in instances:
        xy = image_to_norm(inst.keypoints[:, :2], crop_matrix(inst.center, inst.size, image_size), image_size)
        vis = inst.keypoints[:, 2:3] > 0
        total += np.where(vis, xy, 0.0)
        count += vis
    return total / np.maximum(count, 1)


def mean_pose_predictions(instances: list[PersonInstance], pose_norm: np.ndarray,
                          image_size: int) -> Predictions:
    """The mean training pose placed in every instance's box (confidence 1)."""
    xy = np.stack([norm_to_image(pose_norm, crop_matrix(i.center, i.size, image_size), image_size)
                   for i in instances])
    return Predictions(xy, np.ones(xy.shape[:2]), np.ones(xy.shape[:2], bool), [])


def mpii_scores(instances: list[PersonInstance], preds: Predictions) -> dict[str, float]:
    """PCKh@0.5 (official MPII mean and table) plus PCKh of each keypoint never seen in training."""
    gt = np.stack([i.keypoints[:, :2] for i in instances])
    valid = np.stack([i.keypoints[:, 2] > 0 for i in instances])
    heads = np.array([i.head_size for i in instances])
    table = mpii_pckh(preds.keypoints, gt, heads, valid)
    out = {"PCKh@0.5": table["Mean"], **{f"PCKh_{k}": v for k, v in table.items() if k != "Mean"}}
    names = list(instances[0].names)
    for name in NOVEL_KEYPOINTS:
        k = names.index(name)
        sl = slice(k, k + 1)
        out[f"PCKh_novel_{name}"] = pckh(preds.keypoints[:, sl], gt[:, sl], heads, valid[:, sl])
    out["unparsed_rate"] = preds.unparsed / max(preds.parsed.size, 1)
    return out


def _visible_queries(instances: list[PersonInstance], image_size: int) -> list[tuple[int, int, np.ndarray]]:
    """(instance, keypoint, xy normalised to the crop) for every labelled keypoint inside its crop."""
    out = []
    for i, inst in enumerate(instances):
        xy = image_to_norm(inst.keypoints[:, :2], crop_matrix(inst.center, inst.size, image_size), image_size)
        for k in np.flatnonzero((inst.keypoints[:, 2] > 0) & (xy >= 0).all(1) & (xy < 1).all(1)):
            out.append((i, int(k), xy[k]))
    return out


def tenths_digit(xy_norm: np.ndarray) -> int:
    """The first decimal of x as written in the answer ('[0.512,...]' -> 5)."""
    return int(format_answer(xy_norm)[3])


@torch.no_grad()
def x_tenths_nll(model: nn.Module, codec: PromptCodec, instances: list[PersonInstance], image_size: int,
                 mean: list[float], std: list[float]) -> np.ndarray:
    """Per-query negative log-likelihood (nats) of the true first decimal of x, given image and question."""
    net = base_network(model)
    net.eval()
    queries = _visible_queries(instances, image_size)
    crops = np.stack([crop_instance(inst, image_size)[0] for inst in instances])
    img_all = net.image_embeddings(normalise_images(crops, mean, std))
    nll = []
    for start in range(0, len(queries), 64):
        chunk = queries[start:start + 64]
        seqs = []
        for _, k, xy in chunk:
            answer = codec.answer_ids(xy)
            digit_at = [j for j, t in enumerate(answer) if codec.digit_token[t]][1]
            seqs.append(codec.query(instances[0].names[k]) + answer[:digit_at + 1])
        length = max(map(len, seqs))
        ids = torch.tensor([s + [codec.tokenizer.pad_token_id] * (length - len(s)) for s in seqs])
        mask = torch.tensor([[1] * len(s) + [0] * (length - len(s)) for s in seqs])
        img = img_all[[i for i, _, _ in chunk]]
        embeds, merged_mask, _ = net.merge(img, ids, mask)
        logits = net.llm(inputs_embeds=embeds, attention_mask=merged_mask).logits.float()
        last = torch.tensor([len(s) - 1 + img.shape[1] - 1 for s in seqs])
        logp = logits[torch.arange(len(seqs)), last - 1].log_softmax(-1)
        target = torch.tensor([s[-1] for s in seqs])
        nll.append(-logp[torch.arange(len(seqs)), target])
    return torch.cat(nll).numpy()


def prior_x_tenths_nll(train: list[PersonInstance], test: list[PersonInstance], image_size: int) -> np.ndarray:
    """Image-blind baseline: NLL of the true x first decimal under p_train(digit | keypoint) (add-one)."""
    counts = np.ones((len(train[0].names), 10))
    for _, k, xy in _visible_queries(train, image_size):
        counts[k, tenths_digit(xy)] += 1
    prob = counts / counts.sum(1, keepdims=True)
    return np.array([-np.log(prob[k, tenths_digit(xy)]) for _, k, xy in _visible_queries(test, image_size)])
