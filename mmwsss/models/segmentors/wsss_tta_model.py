"""Multi-scale + flip test-time augmentation with the WSSS papers' merge rule, keeping the merged logits."""
from collections import OrderedDict
from typing import List

import torch
from mmengine.structures import PixelData

from mmseg.models import SegTTAModel
from mmseg.registry import MODELS

MERGES = ('max', 'mean')


@MODELS.register_module()
class WSSSTTAModel(SegTTAModel):
    """Merge the predictions of a ``TestTimeAug`` pipeline (scales x flips) into one.

    ``merge='max'`` (default) is the rule of ToCo, MCC, MSFC, DuPL and SeCo on VOC: per scale, the logits of the
    image and of the flipped image (flipped back) are **summed**; the **elementwise max** over scales is taken.
    ``merge='mean'`` is :class:`mmseg.models.SegTTAModel`'s rule: the mean of the softmax over every augmented view.
    Every view's logits are already at the original image size and un-flipped (``postprocess_result``).

    Unlike ``SegTTAModel`` the merged scores are kept in ``seg_logits`` (as logits: for ``'mean'`` the log of the mean
    probability), so a dense CRF (``WSSSIoUMetric(post_processor=...)``) can run after the merge. The scale of a view
    is read from its ``scale_factor`` metainfo, so the pipeline may list scales and flips in any order.

    Args:
        merge (str): ``'max'`` (reference) or ``'mean'`` (MMSeg). Defaults to ``'max'``.
        **kwargs: :class:`mmengine.model.BaseTTAModel` arguments (``module``, ``data_preprocessor``).

    Example:
        >>> tta_model = dict(type='WSSSTTAModel', merge='max')  # tools/test.py --tta sets module=cfg.model
    """

    def __init__(self, merge: str = 'max', **kwargs) -> None:
        if merge not in MERGES:
            raise ValueError(f'WSSSTTAModel: merge must be one of {MERGES}, got {merge!r}')
        super().__init__(**kwargs)
        self.merge = merge

    @staticmethod
    def _scale_key(data_sample) -> tuple:
        scale = data_sample.metainfo.get('scale_factor', (1.0, 1.0))
        return tuple(round(float(s), 4) for s in scale)

    def merge_logits(self, data_samples) -> torch.Tensor:
        """The merged (C, H, W) logits of one image's augmented views."""
        views = [s.seg_logits.data.float() for s in data_samples]
        if self.merge == 'mean':
            return torch.stack([v.softmax(dim=0) for v in views]).mean(0).clamp_min(1e-12).log()
        per_scale = OrderedDict()
        for sample, logits in zip(data_samples, views):
            key = self._scale_key(sample)
            per_scale[key] = logits if key not in per_scale else per_scale[key] + logits
        return torch.stack(list(per_scale.values())).amax(0)

    def merge_preds(self, data_samples_list: List[list]) -> list:
        predictions = []
        for data_samples in data_samples_list:
            logits = self.merge_logits(data_samples)
            merged = data_samples[0].new(metainfo=dict(data_samples[0].metainfo))  # the unflipped view's meta
            merged.set_data(dict(seg_logits=PixelData(data=logits), pred_sem_seg=PixelData(data=logits.argmax(0,
                                                                                                  keepdim=True))))
            if 'gt_sem_seg' in data_samples[0]:
                merged.set_data(dict(gt_sem_seg=data_samples[0].gt_sem_seg))
            predictions.append(merged)
        return predictions
