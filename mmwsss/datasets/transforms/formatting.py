"""Packing of weak-label samples: image-level labels and extra views travel inside the SegDataSample."""
import numpy as np
import torch

from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

from ..keys import IMG_BOX, IMG_LABELS, SAMPLE_SEED, VIEW_KEYS, VIEW_META


def _to_chw_tensor(img: np.ndarray) -> torch.Tensor:
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackWeakSegInputs(PackSegInputs):
    """:class:`mmseg.datasets.transforms.PackSegInputs` plus the fields weak supervision needs.

    - ``data_sample.gt_img_labels``: float32 tensor (num_classes - 1,), the image-level multi-hot label;
    - ``data_sample.img_global2`` / ``img_local`` / ``img_strong``: the extra views the pipeline added (a view it
      did not add stays absent) as CHW uint8 tensors (BGR, like ``inputs``), normalised later by
      :class:`~mmwsss.models.WeakSegDataPreProcessor`;
    - meta ``img_box`` (valid region of the crop), ``view_meta`` (view geometry) and ``stem``.

    All tensors move to the model's device with the data sample. A sample without ``gt_sem_seg`` (training
    pipelines never load masks) simply has none.
    """

    def __init__(self, meta_keys=('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
                                  'flip', 'flip_direction', 'reduce_zero_label', IMG_BOX, VIEW_META, 'stem',
                                  SAMPLE_SEED)):
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        sample = packed['data_samples']
        if IMG_LABELS in results:
            sample.set_field(torch.as_tensor(np.asarray(results[IMG_LABELS], dtype=np.float32)), IMG_LABELS)
        for key in VIEW_KEYS:
            if key in results:
                sample.set_field(_to_chw_tensor(results[key]), key)
        return packed
