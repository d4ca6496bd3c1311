"""Frozen EgoVideo encoder as EggHand uses it: all video tokens and all text tokens x text_projection."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import BertTokenizer

from common.models.loading import LoadReport
from eggflow.config import EncoderConfig
from eggflow.egovideo import EgoVideoModel

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCABULARY_TEXT = (
    "pick up tap push grab reach touch lift move the a an to on with and of in red green blue yellow "
    "cup box ball bottle can mug object left right hand hands"
)


def vocabulary_words(texts: list[str] | set[str]) -> list[str]:
    """Sorted lower-cased BERT basic tokens (words and punctuation) of `texts`, for the word-level vocabulary."""
    backend = BertTokenizer(vocab={t: i for i, t in enumerate(SPECIAL_TOKENS)}, do_lower_case=True).backend_tokenizer
    return sorted({word for text in texts
                   for word, _ in backend.pre_tokenizer.pre_tokenize_str(backend.normalizer.normalize_str(text))})


def build_tokenizer(cfg: EncoderConfig) -> BertTokenizer:
    """bert-large-uncased's tokenizer from `cfg.tokenizer`, else a word-level vocabulary (synthetic + cfg.words)."""
    if cfg.tokenizer:
        return BertTokenizer.from_pretrained(cfg.tokenizer)
    words = SPECIAL_TOKENS + sorted(set(vocabulary_words([VOCABULARY_TEXT])) | set(cfg.words) - set(SPECIAL_TOKENS))
    if len(words) > cfg.vocab_size:
        raise ValueError(f"the word-level vocabulary has {len(words)} entries but model.encoder.vocab_size is "
                         f"{cfg.vocab_size}: raise vocab_size (or set model.encoder.tokenizer to a BERT folder)")
    return BertTokenizer(vocab={word: i for i, word in enumerate(words)}, do_lower_case=True)


class EgoVideoEncoder(nn.Module):
    """Frozen EgoVideo (`model`) with its tokenizer: `encode_video` -> all ViT tokens, `encode_text` -> all
    BERT text-mode tokens @ text_projection (EggHand's patched backbone); weights from `cfg.weights`."""

    def __init__(self, cfg: EncoderConfig, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.tokenizer = build_tokenizer(cfg)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.model = EgoVideoModel(cfg)
        self.register_buffer("pixel_mean", torch.tensor(cfg.pixel_mean).view(1, 3, 1, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(cfg.pixel_std).view(1, 3, 1, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def load_pretrained(self) -> LoadReport | None:
        """Load the EgoVideo checkpoint named by `cfg.weights` strictly (None when no path is set)."""
        report = self.cfg.weights.load_into(self.model)
        self.requires_grad_(False)
        return report

    def train(self, mode: bool = True) -> EgoVideoEncoder:
        """Always stays in eval mode: the encoder is frozen."""
        return super().train(False)

    @torch.no_grad()
    def encode_video(self, video: Tensor) -> Tensor:
        """(B,3,T,H,W) in [0,1] -> (B, 1+T*P, vision_width): resized to image_size (bilinear), normalised."""
        size = self.cfg.image_size
        if video.shape[-2:] != (size, size):
            b, c, t = video.shape[:3]
            frames = video.transpose(1, 2).reshape(b * t, c, *video.shape[-2:])
            frames = F.interpolate(frames, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
            video = frames.view(b, t, c, size, size).transpose(1, 2)
        return self.model.encode_video_tokens((video - self.pixel_mean) / self.pixel_std)

    def tokenize(self, texts: list[str]) -> dict[str, Tensor]:
        """input_ids / attention_mask (B, max_text_len), padded to max length (EggHand)."""
        return self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.cfg.max_text_len,
                              return_tensors="pt")

    @torch.no_grad()
    def encode_text(self, texts: list[str]) -> Tensor:
        """Task texts -> (B, max_text_len, embed_dim), not normalised."""
        tok = self.tokenize(texts)
        device = self.model.text_projection.device
        return self.model.encode_text_tokens(tok["input_ids"].to(device), tok["attention_mask"].to(device))
