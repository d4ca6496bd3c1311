"""The model and checkpoint contract: strict reported weight loading, self-describing model folders, LoRA."""

from common.models.hub import ModelCardInfo, ModelFolderMixin, load_model_folder
from common.models.loading import LoadReport, PretrainedInit, WeightLoadError, load_pretrained, read_state_dict
from common.models.lora import LoraSettings

__all__ = [
    "LoadReport",
    "LoraSettings",
    "ModelCardInfo",
    "ModelFolderMixin",
    "PretrainedInit",
    "WeightLoadError",
    "load_model_folder",
    "load_pretrained",
    "read_state_dict",
]
