"""IoU of predictions that may abstain (255), as pseudo labels do: mIoU with and without the abstained pixels."""
from typing import Dict, Sequence

import numpy as np
import torch

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class WSSSIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` plus the numbers pseudo labels need.

    A prediction of ``ignore_index`` (255) means "no label here" (the ignore band of PAR pseudo labels). Reported:

    - ``mIoU`` (and aAcc, mAcc): MMSeg's metric, where abstained pixels count as misses of their GT class;
    - ``mIoU_covered``: mIoU over the pixels the prediction labels (ToCo's ``pseudo_scores`` convention, which
      inflates the number);
    - ``coverage``: the fraction of GT-valid pixels the prediction labels (report it beside ``mIoU_covered``).

    For predictions that never abstain the first two agree and coverage is 100.
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            pred = data_sample['pred_sem_seg']['data'].squeeze()
            label = data_sample['gt_sem_seg']['data'].squeeze().to(pred)
            full = self.intersect_and_union(pred, label, num_classes, self.ignore_index)
            covered_label = torch.where(pred == self.ignore_index, torch.full_like(label, self.ignore_index), label)
            covered = self.intersect_and_union(pred, covered_label, num_classes, self.ignore_index)
            valid = label != self.ignore_index
            counts = (int((valid & (pred != self.ignore_index)).sum()), int(valid.sum()))
            self.results.append((full, covered, counts))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        full, covered, counts = zip(*results)
        metrics = super().compute_metrics(list(full))
        areas = [sum(x) for x in zip(*covered)]
        covered_metrics = self.total_area_to_metrics(*areas, ['mIoU'], self.nan_to_num, self.beta)
        metrics['mIoU_covered'] = float(np.round(np.nanmean(covered_metrics['IoU']) * 100, 2))
        labelled, total = (sum(x) for x in zip(*counts))
        metrics['coverage'] = float(np.round(100.0 * labelled / max(total, 1), 2))
        return metrics
