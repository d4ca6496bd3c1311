"""Prompt/answer format, parsing and the inverse crop back to original image pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posellm.crop import box_center_size, crop_matrix, image_to_norm, norm_to_image, warp_image
from posellm.keypoints import COCO_KEYPOINTS, DESCRIPTIONS, MPII_KEYPOINTS
from posellm.text import IGNORE_INDEX, PromptCodec, build_tiny_tokenizer, format_answer, parse_answer


@pytest.fixture(scope="module")
def codec() -> PromptCodec:
    return PromptCodec(build_tiny_tokenizer())


def test_answer_format_and_parse() -> None:
    assert format_answer(np.array([0.51249, 0.0])) == "[0.512,0.000]"
    assert parse_answer("[0.512,0.334]") == (0.512, 0.334)
    assert parse_answer(" [ 0.5 , 1.25 ]</s>") == (0.5, 1.25)
    for broken in ("", "[0.5]", "0.512,0.334", "[a,b]", "[0.5;0.3]"):
        assert parse_answer(broken) is None


def test_every_queried_keypoint_has_a_description() -> None:
    assert set(COCO_KEYPOINTS) | set(MPII_KEYPOINTS) <= set(DESCRIPTIONS)


def test_conversation_labels_only_answers(codec: PromptCodec) -> None:
    xy = np.array([[0.1234, 0.9], [0.5, 0.25]])
    ids, labels = codec.conversation(["nose", "left_wrist"], xy)
    assert len(ids) == len(labels) and ids.count(codec.image_id) == 1
    answer_text = codec.decode([i for i, lab in zip(ids, labels) if lab != IGNORE_INDEX])
    assert answer_text == "[0.123,0.900][0.500,0.250]"
    prompt_text = codec.tokenizer.decode([i for i, lab in zip(ids, labels) if lab == IGNORE_INDEX])
    assert "Where is the left wrist of this person in this image?" in prompt_text
    assert DESCRIPTIONS["nose"] in prompt_text
    assert labels.count(codec.tokenizer.eos_token_id) == 2
    digits = [codec.tokenizer.decode([i]) for i in codec.answer_ids(np.array([0.987, 0.654]))]
    assert [d for d in digits if d.isdigit()] == list("09870654")


def test_round_trip_through_crop_and_answer_to_original_pixels() -> None:
    rng = np.random.default_rng(0)
    image = np.zeros((240, 320, 3), np.uint8)
    box = np.array([60.0, 30.0, 90.0, 170.0])                     # x, y, w, h (tall: square by width)
    center, size = box_center_size(box)
    assert np.allclose(center, [105.0, 115.0]) and size == pytest.approx(170.0)
    points = np.stack([rng.uniform(70, 140, 6), rng.uniform(40, 190, 6)], 1).round()
    for u, v in points.astype(int):
        image[v, u] = 255
    out = 224
    for rotation in (0.0, 25.0):
        matrix = crop_matrix(center, size, out, rotation)
        crop = warp_image(image, matrix, out)
        norm = image_to_norm(points, matrix, out)
        for (x, y) in norm * out:                                  # warped dots land where the map says
            patch = crop[max(int(y) - 2, 0):int(y) + 3, max(int(x) - 2, 0):int(x) + 3]
            assert patch.max() > 0
        answers = [parse_answer(format_answer(p)) for p in norm]
        back = norm_to_image(np.array(answers), matrix, out)
        assert np.abs(back - points).max() <= 0.5e-3 * size * np.sqrt(2) + 1e-6
    cv_matrix = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), 0.0, out / size)
    assert np.allclose(crop_matrix(center, size, out)[:, :2], cv_matrix[:, :2])
