"""PoseLLM network: Dinov2 patch tokens -> connector (linear | MLP) -> LlamaForCausalLM, LoRA via PEFT."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
from peft import PeftModel, get_peft_model
from torch import Tensor, nn
from transformers import Dinov2Config, Dinov2Model, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from posellm.config import PoseLLMModelConfig
from posellm.losses import digit_place_weights, labelled_loss
from posellm.text import IGNORE_INDEX, PromptCodec, load_tokenizer

log = logging.getLogger(__name__)

def build_connector(kind: str, vision_dim: int, llm_dim: int) -> nn.Module:
    """LocLLM's single Linear or PoseLLM's Linear-GELU-Linear from vision to LLM width."""
    if kind == "linear":
        return nn.Linear(vision_dim, llm_dim)
    if kind == "mlp":
        return nn.Sequential(nn.Linear(vision_dim, llm_dim), nn.GELU(), nn.Linear(llm_dim, llm_dim))
    raise ValueError(f"model.connector={kind!r}; choose 'linear' (LocLLM) or 'mlp' (PoseLLM)")


class PoseLLM(nn.Module):
    """Vision-language keypoint localiser; the `<image>` placeholder is replaced by projected patches."""

    def __init__(self, vision: Dinov2Model, connector: nn.Module, llm: LlamaForCausalLM, image_id: int,
                 num_prefix_tokens: int = 1, is_digit: Tensor | None = None,
                 digit_weights: tuple[float, ...] = (1.0,)) -> None:
        super().__init__()
        self.vision, self.connector, self.llm = vision, connector, llm
        self.image_id = image_id
        self.num_prefix_tokens = num_prefix_tokens   # CLS (+ registers) dropped: patch tokens only
        self.digit_weights = digit_weights           # loss weight per digit place (tenths, hundredths, ...)
        self.register_buffer("is_digit", torch.zeros(0, dtype=torch.bool) if is_digit is None else is_digit,
                             persistent=False)

    def image_embeddings(self, pixel_values: Tensor) -> Tensor:
        """(B, P, D_llm) projected patch tokens of normalised images (B, 3, H, W)."""
        vision_dtype = self.vision.embeddings.patch_embeddings.projection.weight.dtype
        patches = self.vision(pixel_values=pixel_values.to(vision_dtype)).last_hidden_state[:, self.num_prefix_tokens:]
        connector_dtype = next(self.connector.parameters()).dtype
        return self.connector(patches.to(connector_dtype))

    def merge(self, img: Tensor, input_ids: Tensor, attention_mask: Tensor,
              labels: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """Splice image embeddings (B, P, D) in place of each row's single `<image>` id (any padding side)."""
        embed = self.llm.get_input_embeddings()
        is_img = input_ids == self.image_id
        if not bool((is_img.sum(1) == 1).all()):
            raise ValueError("every sequence needs exactly one <image> placeholder")
        txt = embed(input_ids.masked_fill(is_img, 0))
        img = img.to(txt.dtype)
        pos = is_img.float().argmax(1).tolist()
        n_img = img.shape[1]
        rows, masks, labs = [], [], []
        for b, p in enumerate(pos):
            rows.append(torch.cat([txt[b, :p], img[b], txt[b, p + 1:]]))
            masks.append(torch.cat([attention_mask[b, :p], attention_mask.new_ones(n_img),
                                    attention_mask[b, p + 1:]]))
            if labels is not None:
                labs.append(torch.cat([labels[b, :p], labels.new_full((n_img,), IGNORE_INDEX),
                                       labels[b, p + 1:]]))
        return torch.stack(rows), torch.stack(masks), (torch.stack(labs) if labels is not None else None)

    def forward(self, pixel_values: Tensor, input_ids: Tensor, attention_mask: Tensor,
                labels: Tensor | None = None) -> dict[str, Tensor]:
        """Logits over the merged sequence, or (with labels) the answer loss from the labelled positions only."""
        img = self.image_embeddings(pixel_values)
        embeds, mask, labs = self.merge(img, input_ids, attention_mask, labels)
        position_ids = (mask.long().cumsum(1) - 1).clamp(min=0)
        if labs is None:
            return {"logits": self.llm(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids).logits}
        hidden = self.llm.model(inputs_embeds=embeds, attention_mask=mask, position_ids=position_ids).last_hidden_state
        targets = labs[:, 1:]
        where = targets != IGNORE_INDEX                       # next-token targets: position t predicts t + 1
        weights = digit_place_weights(targets, self.is_digit, self.digit_weights)[where]
        logits = self.llm.get_output_embeddings()(hidden[:, :-1][where])
        return {"loss": labelled_loss(logits, targets[where], weights)}

    @torch.no_grad()
    def generate_answers(self, img: Tensor, input_ids: Tensor, attention_mask: Tensor, max_new_tokens: int,
                         pad_id: int, eos_id: int) -> tuple[Tensor, Tensor]:
        """Greedy answers for left-padded queries: (tokens (B, T), probability of each chosen token)."""
        embeds, mask, _ = self.merge(img, input_ids, attention_mask)
        out = self.llm.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=max_new_tokens,
                                do_sample=False, output_logits=True, return_dict_in_generate=True,
                                pad_token_id=pad_id, eos_token_id=eos_id)
        tokens = out.sequences[:, -len(out.logits):]
        probs = torch.stack(out.logits, 1).float().softmax(-1).gather(2, tokens[..., None])[..., 0]
        return tokens, probs

    def activation_checkpointing_enable(self, activation_checkpointing_kwargs: dict | None = None,
                                        every_n_layers: int = 1, offload: bool = False) -> None:
        """Gradient checkpointing of both towers (hook called by the HF Trainer)."""
        for tower in (self.vision, self.llm):
            tower.gradient_checkpointing_enable(activation_checkpointing_kwargs)


def _tiny_vision(cfg: PoseLLMModelConfig, image_size: int) -> Dinov2Model:
    """Random-init Dinov2 of the `tiny_vision` sizes for `image_size` px crops."""
    v = cfg.tiny_vision
    return Dinov2Model(Dinov2Config(hidden_size=v.hidden_size, num_hidden_layers=v.num_hidden_layers,
                                    num_attention_heads=v.num_attention_heads,
                                    intermediate_size=v.intermediate_size, patch_size=v.patch_size,
                                    image_size=image_size, drop_path_rate=cfg.vision_drop_path_rate,
                                    attn_implementation=cfg.attn_implementation))


def _tiny_llm(cfg: PoseLLMModelConfig, tok: PreTrainedTokenizerBase) -> LlamaForCausalLM:
    """Random-init Llama of the `tiny_llm` sizes over the tokenizer's vocabulary."""
    t = cfg.tiny_llm
    return LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=t.hidden_size,
                                       intermediate_size=t.intermediate_size,
                                       num_hidden_layers=t.num_hidden_layers,
                                       num_attention_heads=t.num_attention_heads,
                                       num_key_value_heads=t.num_key_value_heads, tie_word_embeddings=False,
                                       pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                                       eos_token_id=tok.eos_token_id, max_position_embeddings=2048,
                                       attn_implementation=cfg.attn_implementation))


def weights_dtype(cfg: PoseLLMModelConfig) -> torch.dtype:
    """Dtype of the frozen towers: `model.dtype` (auto = bf16 on CUDA, fp32 on CPU); trained towers stay fp32."""
    if not cfg.freeze_base:
        return torch.float32
    name = cfg.dtype if cfg.dtype != "auto" else ("bf16" if torch.cuda.is_available() else "fp32")
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[name]


def _pretrained_kwargs(cfg: PoseLLMModelConfig) -> dict:
    """from_pretrained options: training dtype, low host memory, this rank's GPU, attention kernel."""
    kwargs = {"dtype": weights_dtype(cfg), "low_cpu_mem_usage": True, "attn_implementation": cfg.attn_implementation}
    if torch.cuda.is_available():
        kwargs["device_map"] = {"": f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"}
    return kwargs


def load_towers(cfg: PoseLLMModelConfig, image_size: int, tok: PreTrainedTokenizerBase
                ) -> tuple[Dinov2Model, LlamaForCausalLM]:
    """Dinov2 and Llama from `vision_path` / `llm_path` (local folders or hub names) or tiny random ones."""
    if cfg.vision_path is None:
        vision = _tiny_vision(cfg, image_size)
    else:
        vision = Dinov2Model.from_pretrained(cfg.vision_path, drop_path_rate=cfg.vision_drop_path_rate,
                                             **_pretrained_kwargs(cfg))
    llm = _tiny_llm(cfg, tok) if cfg.llm_path is None else LlamaForCausalLM.from_pretrained(
        cfg.llm_path, **_pretrained_kwargs(cfg))
    old = llm.get_input_embeddings().num_embeddings
    if old < len(tok):                       # the added <image> token: zero rows, so a reload rebuilds them exactly
        llm.resize_token_embeddings(len(tok), mean_resizing=False)
        with torch.no_grad():
            llm.get_input_embeddings().weight[old:] = 0
            llm.get_output_embeddings().weight[old:] = 0
    return vision, llm


@dataclass
class Built:
    """A PEFT-wrapped PoseLLM with its prompt codec."""

    model: PeftModel
    codec: PromptCodec


def build_base(cfg: PoseLLMModelConfig, image_size: int, seed: int = 0,
               tokenizer_path: str | None = None) -> tuple[PoseLLM, PromptCodec]:
    """The PoseLLM module without adapters: towers (paths or tiny, seeded), a fresh connector, the codec."""
    torch.manual_seed(seed)
    tok = load_tokenizer(tokenizer_path or cfg.llm_path, cfg.tiny_llm.vocab_size)
    vision, llm = load_towers(cfg, image_size, tok)
    connector = build_connector(cfg.connector, vision.config.hidden_size, llm.config.hidden_size).to(vision.device)
    codec = PromptCodec(tok)
    registers = getattr(vision.config, "num_register_tokens", 0) or 0
    base = PoseLLM(vision, connector, llm, codec.image_id, num_prefix_tokens=1 + registers,
                   is_digit=torch.as_tensor(codec.digit_token), digit_weights=tuple(cfg.answer_digit_weights))
    return base, codec


def build_posellm(cfg: PoseLLMModelConfig, image_size: int, seed: int = 0,
                  tokenizer_path: str | None = None) -> Built:
    """Real towers from local paths when given, else tiny random ones (seeded); LoRA (`model.lora`) via PEFT."""
    if not cfg.lora.enabled:
        raise ValueError("model.lora.enabled=false: PoseLLM trains LoRA adapters on both towers (LocLLM recipe); "
                         "keep it true and set model.lora.r / target_modules instead")
    base, codec = build_base(cfg, image_size, seed, tokenizer_path)
    embeddings = cfg.llm_path is None if cfg.train_token_embeddings is None else cfg.train_token_embeddings
    extra = ["embed_tokens", "lm_head"] if embeddings else []
    model = get_peft_model(base, cfg.lora.to_peft(task_type=None, extra_modules_to_save=["connector", *extra]))
    if not cfg.freeze_base:
        if cfg.vision_path is not None or cfg.llm_path is not None:
            raise ValueError("model.freeze_base=false is only for random-init towers; pretrained bases stay "
                             "frozen (LoRA on q/v + connector), as in LocLLM/PoseLLM")
        for param in model.parameters():
            param.requires_grad_(True)
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in model.parameters())
    log.info("PoseLLM (%s connector): %d trainable of %d parameters", cfg.connector, n_train, n_all)
    return Built(model, codec)


def normalise_images(images: np.ndarray | Tensor, mean: list[float], std: list[float]) -> Tensor:
    """uint8 (B, H, W, 3) RGB -> float (B, 3, H, W) standardised with the CLIP mean/std."""
    x = torch.as_tensor(images).float().div(255.0).permute(0, 3, 1, 2)
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
