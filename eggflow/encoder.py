"""Frozen EgoVideo-style video-text encoder (video ViT over 4 frames + BERT text) and its trainable adapters."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers import BertConfig, BertModel, BertTokenizer

from eggflow.config import EncoderConfig

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCABULARY_TEXT = (
    "pick up tap push grab reach touch lift move the a an to on with and of in red green blue yellow "
    "cup box ball bottle can mug object left right hand hands install wheel cook repair bike play piano "
    "covid test kit dance basketball rock climbing music make coffee soccer health bouldering"
)


def sincos_3d_position_embedding(dim: int, frames: int, grid: int) -> Tensor:
    """Fixed 3-D sin-cos embedding (1 + frames*grid*grid, dim): CLS row zero, then t-major patches."""
    def one_axis(d: int, positions: np.ndarray) -> np.ndarray:
        omega = 1.0 / 10000 ** (np.arange(d // 2) / (d / 2))
        angles = positions[:, None] * omega[None]
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    d_t = dim // 4 if dim // 4 % 2 == 0 else dim // 4 + 1
    d_s = (dim - d_t) // 2
    d_t = dim - 2 * d_s
    t, y, x = np.meshgrid(np.arange(frames), np.arange(grid), np.arange(grid), indexing="ij")
    emb = np.concatenate([one_axis(d_t, t.ravel().astype(float)), one_axis(d_s, y.ravel().astype(float)),
                          one_axis(d_s, x.ravel().astype(float))], axis=1)
    return torch.from_numpy(np.concatenate([np.zeros((1, dim)), emb])).float()


class ViTBlock(nn.Module):
    """Pre-norm ViT block with qk-norm and LayerScale (InternVideo2 style)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm = nn.LayerNorm(dim // heads)
        self.k_norm = nn.LayerNorm(dim // heads)
        self.proj = nn.Linear(dim, dim)
        self.ls1 = nn.Parameter(torch.full((dim,), 0.1))
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.ls2 = nn.Parameter(torch.full((dim,), 0.1))

    def forward(self, x: Tensor) -> Tensor:
        """(B,N,D) -> (B,N,D)."""
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(self.q_norm(q), self.k_norm(k), v)
        x = x + self.ls1 * self.proj(out.transpose(1, 2).reshape(b, n, d))
        return x + self.ls2 * self.mlp(self.norm2(x))


class VideoViT(nn.Module):
    """Video ViT, tubelet 1: (B,3,T,H,W) in [0,1] -> all tokens (B, 1 + T*(H/p)^2, width) like x_vis."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        grid = cfg.image_size // cfg.patch_size
        self.patch_embed = nn.Conv2d(3, cfg.vision_width, cfg.patch_size, cfg.patch_size)
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, cfg.vision_width))
        self.register_buffer("pos_embed", sincos_3d_position_embedding(cfg.vision_width, cfg.num_frames, grid),
                             persistent=False)
        self.blocks = nn.ModuleList([ViTBlock(cfg.vision_width, cfg.vision_heads)
                                     for _ in range(cfg.vision_depth)])
        self.norm = nn.LayerNorm(cfg.vision_width)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def forward(self, video: Tensor) -> Tensor:
        """ImageNet-normalise, patchify every frame, add the 3-D position embedding, run the blocks."""
        b, _, t, h, w = video.shape
        frames = (video.transpose(1, 2).reshape(b * t, 3, h, w) - self.mean) / self.std
        patches = self.patch_embed(frames).flatten(2).transpose(1, 2)          # (B*T, P, D)
        tokens = patches.reshape(b, -1, patches.shape[-1])
        x = torch.cat([self.cls_token.expand(b, -1, -1), tokens], dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


def build_tokenizer(cfg: EncoderConfig, cache_dir: Path) -> BertTokenizer:
    """BERT tokenizer from `<checkpoint>/text` when given, else a word-level vocab written to `cache_dir`."""
    if cfg.checkpoint:
        return BertTokenizer.from_pretrained(str(Path(cfg.checkpoint) / "text"))
    cache_dir.mkdir(parents=True, exist_ok=True)
    vocab = cache_dir / "eggflow_vocab.txt"
    words = SPECIAL_TOKENS + sorted(set(VOCABULARY_TEXT.split()))
    if not vocab.exists() or vocab.read_text().split("\n") != words:
        vocab.write_text("\n".join(words))
    return BertTokenizer(vocab={word: i for i, word in enumerate(vocab.read_text().split("\n"))})


class EgoVideoEncoder(nn.Module):
    """Frozen encoder: `encode_video` gives all ViT tokens, `encode_text` all BERT tokens x text_projection."""

    def __init__(self, cfg: EncoderConfig, cache_dir: Path, seed: int = 0) -> None:
        super().__init__()
        self.cfg = cfg
        self.tokenizer = build_tokenizer(cfg, cache_dir)
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.visual = VideoViT(cfg)
            if cfg.checkpoint:
                self.text = BertModel.from_pretrained(str(Path(cfg.checkpoint) / "text"),
                                                      add_pooling_layer=False)
            else:
                self.text = BertModel(BertConfig(
                    vocab_size=len(self.tokenizer), hidden_size=cfg.text_width,
                    num_hidden_layers=cfg.text_layers, num_attention_heads=cfg.text_heads,
                    intermediate_size=4 * cfg.text_width, max_position_embeddings=64),
                    add_pooling_layer=False)
            self.text_projection = nn.Linear(self.text.config.hidden_size, cfg.text_embed_dim, bias=False)
        if cfg.checkpoint:
            self._load_vision(Path(cfg.checkpoint))
        self.requires_grad_(False)
        self.eval()

    def _load_vision(self, ckpt: Path) -> None:
        """Load `vision.pt` (our ViT layout) and `text_projection.pt` from a local checkpoint folder."""
        path = ckpt / "vision.pt"
        if not path.exists():
            raise FileNotFoundError(f"EgoVideo checkpoint folder {ckpt} has no vision.pt; see docs/eggflow.md")
        self.visual.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        proj = ckpt / "text_projection.pt"
        if proj.exists():
            self.text_projection.load_state_dict(torch.load(proj, map_location="cpu", weights_only=True))
        log.info("loaded EgoVideo weights from %s (%s)", ckpt, json.dumps(self.cfg.__dict__, default=str))

    def train(self, mode: bool = True) -> EgoVideoEncoder:
        """Always stays in eval mode: the encoder is frozen."""
        return super().train(False)

    @torch.no_grad()
    def encode_video(self, video: Tensor) -> Tensor:
        """(B,3,T,224,224) in [0,1] -> (B, 1+T*P, vision_width)."""
        return self.visual(video)

    @torch.no_grad()
    def encode_text(self, texts: list[str]) -> Tensor:
        """Task texts -> (B, max_text_len, text_embed_dim), padded to max length, not normalised."""
        device = self.text_projection.weight.device
        tok = self.tokenizer(texts, padding="max_length", truncation=True, max_length=self.cfg.max_text_len,
                             return_tensors="pt")
        hidden = self.text(input_ids=tok["input_ids"].to(device),
                           attention_mask=tok["attention_mask"].to(device)).last_hidden_state
        return self.text_projection(hidden)
