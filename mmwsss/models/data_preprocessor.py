"""Data preprocessor that normalises the extra views exactly like the main input."""
from typing import Sequence

import torch

from mmseg.models import SegDataPreProcessor
from mmseg.registry import MODELS

from ..datasets.keys import VIEW_KEYS


@MODELS.register_module()
class WeakSegDataPreProcessor(SegDataPreProcessor):
    """:class:`mmseg.models.SegDataPreProcessor` that also normalises the views packed into the data samples.

    Views (``img_global2``, ``img_local``, ``img_strong``, see :class:`~mmwsss.datasets.transforms.PackWeakSegInputs`)
    get the same channel conversion and mean/std as ``inputs`` and stay in their data samples as float tensors on
    the model's device; a view a sample does not carry is skipped. Image-level labels (``gt_img_labels``) arrive on
    the device with the samples.

    Args:
        view_keys (sequence[str]): data-sample fields holding views. Defaults to
            :data:`~mmwsss.datasets.keys.VIEW_KEYS` ('img_global2', 'img_local', 'img_strong').
        **kwargs: :class:`mmseg.models.SegDataPreProcessor` arguments.
    """

    def __init__(self, view_keys: Sequence[str] = VIEW_KEYS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view_keys = tuple(view_keys)

    def _normalise(self, img: torch.Tensor) -> torch.Tensor:
        if self.channel_conversion and img.size(0) == 3:
            img = img[[2, 1, 0], ...]
        img = img.float()
        if self._enable_normalize:
            img = (img - self.mean) / self.std
        return img

    def forward(self, data: dict, training: bool = False) -> dict:
        out = super().forward(data, training)
        for sample in out['data_samples'] or []:
            for key in self.view_keys:
                if key in sample:
                    sample.set_field(self._normalise(sample.get(key)), key)
        return out
