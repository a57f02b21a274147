"""CAM ("seed") quality over a sweep of background thresholds, in one pass over the split."""
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class CAMThresholdSweepMetric(IoUMetric):
    """mIoU of CAM seeds for every background threshold of a sweep, plus the best one.

    Use with ``model.test_cfg.output='cam'``: the segmentor then predicts ``seg_logits`` = [constant background score,
    normalised CAM of each labelled class (0 for the others)] at the original size. The seed at threshold ``t`` is
    ``argmax([t, CAM_1, ..., CAM_K])``; one confusion matrix per threshold is accumulated over the whole split (not a
    per-image mean), as in the WSSS literature (docs/evaluation.md). ``mIoU`` etc. are MMSeg's numbers
    at the model's own ``test_cfg.bkg_thr`` (the fixed threshold), so the metric also works as a plain IoUMetric.

    Reported beside them: ``mIoU@<t>`` for each threshold, ``best_mIoU`` and ``best_thr``.

    Args:
        thresholds (sequence of float, optional): background scores to try. Defaults to 0.00, 0.05, ..., 0.60.
        **kwargs: :class:`mmseg.evaluation.IoUMetric` arguments.

    Example:
        >>> test_evaluator = dict(type='CAMThresholdSweepMetric', thresholds=[0.3, 0.4, 0.5])
        >>> # tools/test.py CONFIG CKPT --cfg-options model.test_cfg.output=cam test_evaluator.type=...
    """

    def __init__(self, thresholds: Optional[Sequence[float]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.thresholds = [round(float(t), 4) for t in (thresholds if thresholds is not None
                                                        else np.arange(0, 0.6001, 0.05))]
        if not self.thresholds:
            raise ValueError('CAMThresholdSweepMetric: thresholds is empty')

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for data_sample in data_samples:
            scores = data_sample['seg_logits']['data'].float()
            if scores.shape[0] != num_classes:
                raise ValueError(f'CAMThresholdSweepMetric: seg_logits have {scores.shape[0]} channels but the '
                                 f'dataset has {num_classes} classes; is model.test_cfg.output set to "cam"?')
            label = data_sample['gt_sem_seg']['data'].squeeze().to(scores.device)
            pred = data_sample['pred_sem_seg']['data'].squeeze()
            fixed = self.intersect_and_union(pred, label, num_classes, self.ignore_index)
            valid = label != self.ignore_index
            gt = label[valid].long()
            fg_best, fg_arg = scores[1:, valid].max(dim=0)  # argmax over [t, CAM]: bg wins iff t >= best CAM
            sweep = []
            for t in self.thresholds:
                seed = torch.where(fg_best > t, fg_arg + 1, torch.zeros_like(fg_arg))
                sweep.append(torch.bincount(gt * num_classes + seed, minlength=num_classes ** 2))
            self.results.append((fixed, torch.stack(sweep)))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        fixed, sweep = zip(*results)
        metrics = super().compute_metrics(list(fixed))
        num_classes = len(self.dataset_meta['classes'])
        conf = torch.stack(sweep).sum(0).view(len(self.thresholds), num_classes, num_classes).double()
        inter = conf.diagonal(dim1=1, dim2=2)
        union = conf.sum(1) + conf.sum(2) - inter
        present = conf.sum(2) > 0  # classes in the GT, as IoUMetric's nanmean over classes with pixels
        iou = torch.where(present, inter / union.clamp_min(1), torch.full_like(inter, float('nan')))
        miou = [float(np.round(np.nanmean(row.numpy()) * 100, 2)) for row in iou]
        for t, value in zip(self.thresholds, miou):
            metrics[f'mIoU@{t:.2f}'] = value
        best = int(np.argmax(miou))
        metrics['best_mIoU'] = miou[best]
        metrics['best_thr'] = self.thresholds[best]
        return metrics
