"""Tokenizer (local BPE or the LLM's own), LocLLM-style prompts, `[x,y]` answers and their parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerBase, PreTrainedTokenizerFast

from posellm.keypoints import DESCRIPTIONS, display_name

IMAGE_TOKEN = "<image>"
IGNORE_INDEX = -100
QUESTION = "Where is the {name} of this person in this image? Please provide its coordinates."
_ANSWER_RE = re.compile(r"\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]")


def format_answer(xy_norm: np.ndarray) -> str:
    """Answer text for a point normalised to the crop ([0,1] x [0,1]), three decimals: '[0.512,0.334]'."""
    return f"[{float(xy_norm[0]):.3f},{float(xy_norm[1]):.3f}]"


def parse_answer(text: str) -> tuple[float, float] | None:
    """Normalised (x, y) from an answer text; None when it does not contain '[x,y]'."""
    match = _ANSWER_RE.search(text)
    return None if match is None else (float(match.group(1)), float(match.group(2)))


def turn_prompt(name: str, first: bool) -> str:
    """One query turn: our description of `name` and the LocLLM question, ending with 'Answer:'."""
    lead = "" if first else "\n"
    return (f"{lead}\nKeypoint: {DESCRIPTIONS[name]}\nQuestion: {QUESTION.format(name=display_name(name))}"
            "\nAnswer:")


def _corpus() -> list[str]:
    """Text the local BPE is trained on: every prompt turn plus a spread of answers."""
    rng = np.random.default_rng(0)
    lines = ["Image:"] + [turn_prompt(n, f) for n in DESCRIPTIONS for f in (True, False)]
    lines += [format_answer(rng.uniform(0, 1, 2)) for _ in range(200)]
    return lines * 4


def build_tiny_tokenizer(vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained in-process on our prompt corpus; digits are always single tokens."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<pad>", "<s>", "</s>", "<unk>", IMAGE_TOKEN]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", unk_token="<unk>")


def load_tokenizer(path: str | Path | None, vocab_size: int = 512) -> PreTrainedTokenizerBase:
    """The tokenizer saved at `path` (an LLM folder or a checkpoint) or a freshly built tiny one."""
    tok = build_tiny_tokenizer(vocab_size) if path is None else AutoTokenizer.from_pretrained(str(path))
    if IMAGE_TOKEN not in tok.get_vocab():
        tok.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    if tok.pad_token is None:
        tok.pad_token = tok.unk_token
    return tok


@dataclass
class PromptCodec:
    """Turns keypoint queries and answers into token ids and labels (image = one placeholder id)."""

    tokenizer: PreTrainedTokenizerBase

    def __post_init__(self) -> None:
        tok = self.tokenizer
        self.image_id = tok.convert_tokens_to_ids(IMAGE_TOKEN)
        bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
        self.prefix = [*bos, *self._enc("Image:"), self.image_id]
        self._cache: dict[tuple[str, bool], list[int]] = {}
        self._answers: dict[str, list[int]] = {}
        vocab = tok.convert_ids_to_tokens(list(range(len(tok))))
        self.digit_token = np.array([tok.convert_tokens_to_string([t]).strip().isdigit() for t in vocab])

    def _enc(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def query_ids(self, name: str, first: bool) -> list[int]:
        """Token ids of one query turn (cached per keypoint)."""
        key = (name, first)
        if key not in self._cache:
            self._cache[key] = self._enc(turn_prompt(name, first))
        return self._cache[key]

    def answer_ids(self, xy_norm: np.ndarray) -> list[int]:
        """Token ids of an answer followed by EOS (memoised: unaugmented data repeats its answers each epoch)."""
        text = format_answer(xy_norm)
        ids = self._answers.get(text)
        if ids is None:
            ids = [*self._enc(text), self.tokenizer.eos_token_id]
            if len(self._answers) < 1 << 17:
                self._answers[text] = ids
        return list(ids)

    def conversation(self, names: list[str], xy_norm: np.ndarray) -> tuple[list[int], list[int]]:
        """(input_ids, labels) of a multi-turn sample; only answer tokens carry a label."""
        ids, labels = list(self.prefix), [IGNORE_INDEX] * len(self.prefix)
        for i, (name, xy) in enumerate(zip(names, xy_norm)):
            q, a = self.query_ids(name, i == 0), self.answer_ids(xy)
            ids += q + a
            labels += [IGNORE_INDEX] * len(q) + a
        return ids, labels

    def query(self, name: str) -> list[int]:
        """Input ids of a single-keypoint inference prompt."""
        return [*self.prefix, *self.query_ids(name, True)]

    def decode(self, ids: list[int]) -> str:
        """Generated ids to text, special tokens removed."""
        return self.tokenizer.decode(ids, skip_special_tokens=True)
