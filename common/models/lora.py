"""One LoRA settings block for every LLM/VLM paper, mapped onto peft.LoraConfig."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from peft import LoraConfig


@dataclass
class LoraSettings:
    """PEFT LoRA; `enabled=false` trains the wrapped modules in full (or not at all, as the paper says)."""

    enabled: bool = True
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])
    modules_to_save: list[str] = field(default_factory=list)
    bias: str = "none"

    def to_peft(self, task_type: str | None = "CAUSAL_LM", extra_modules_to_save: list[str] | None = None
                ) -> LoraConfig:
        """The peft.LoraConfig of these settings (plus modules the caller must always save)."""
        from peft import LoraConfig  # imported here: peft costs seconds, and most model folders never need it

        modules = [*self.modules_to_save, *(m for m in extra_modules_to_save or [] if m not in self.modules_to_save)]
        return LoraConfig(r=self.r, lora_alpha=self.alpha, lora_dropout=self.dropout,
                          target_modules=list(self.target_modules), modules_to_save=modules or None,
                          bias=self.bias, task_type=task_type)
