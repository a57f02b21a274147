"""MMSeg's mIoU for WSSS: predictions that may abstain (pseudo labels), and an optional dense CRF run in workers."""
import os.path as osp
from typing import Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS, TASK_UTILS

from ...datasets.atomic_io import save_palette_png_atomic
from ...postprocessing import StreamingPool


def _areas(pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: int):
    """Intersection, union, prediction and label areas per class, as ``IoUMetric.intersect_and_union``:
    pixels with GT ``ignore_index`` are left out, predicted values outside ``[0, num_classes)`` count nowhere."""
    valid = gt != ignore_index
    pred, gt = pred[valid].astype(np.int64), gt[valid].astype(np.int64)
    in_range = pred < num_classes
    inter = np.bincount(pred[(pred == gt) & in_range], minlength=num_classes)[:num_classes]
    area_pred = np.bincount(pred[in_range], minlength=num_classes)[:num_classes]
    area_gt = np.bincount(gt[gt < num_classes], minlength=num_classes)[:num_classes]
    return inter, area_pred + area_gt - inter, area_pred, area_gt


def score_prediction(pred: np.ndarray, gt: np.ndarray, num_classes: int, ignore_index: int = 255):
    """Areas over all GT-valid pixels, areas over the pixels the prediction labels, and (labelled, valid) counts."""
    full = _areas(pred, gt, num_classes, ignore_index)
    covered = _areas(pred, np.where(pred == ignore_index, ignore_index, gt), num_classes, ignore_index)
    valid = gt != ignore_index
    return full, covered, (int((valid & (pred != ignore_index)).sum()), int(valid.sum()))


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def evaluate_one(job: dict):
    """Everything done for one test image, in a worker process when a post-processor is set.

    ``job``: ``pred`` (H, W) or ``logits`` (C, h, w) + ``ori_shape``; ``img_path``; ``post_processor`` (called as
    ``post_processor(rgb_image, probs)``); ``gt`` (H, W) or None; ``out_path`` or None (VOC-palette PNG);
    ``num_classes``, ``ignore_index``. Returns :func:`score_prediction`'s tuple, or None without GT.
    """
    pred = job.get('pred')
    if pred is None:
        import cv2
        import mmcv
        logits = job['logits']
        height, width = job['ori_shape']
        if logits.shape[1:] != (height, width):  # streamed downsampled: back to the image size here
            logits = cv2.resize(logits.transpose(1, 2, 0), (width, height), interpolation=cv2.INTER_LINEAR)
            logits = logits.reshape(height, width, -1).transpose(2, 0, 1)
        probs = _softmax(logits.astype(np.float32))
        image = mmcv.imread(job['img_path'], channel_order='rgb')  # as LoadImageFromFile read it
        if image.shape[:2] != (height, width):
            raise ValueError(f'{job["img_path"]}: image is {image.shape[:2]} but the prediction is '
                             f'{(height, width)}; was the image changed after testing started?')
        pred = job['post_processor'](image, probs).argmax(0).astype(np.uint8)
    if job.get('out_path'):
        save_palette_png_atomic(pred, job['out_path'])
    if job.get('gt') is None:
        return None
    return score_prediction(pred, job['gt'], job['num_classes'], job['ignore_index'])


@METRICS.register_module()
class WSSSIoUMetric(IoUMetric):
    """:class:`mmseg.evaluation.IoUMetric` plus what WSSS evaluation needs.

    **Abstaining predictions.** A prediction of ``ignore_index`` (255) means "no label here" (the ignore band of PAR
    pseudo labels). Reported:

    - ``mIoU`` (and aAcc, mAcc): MMSeg's metric, where abstained pixels count as misses of their GT class;
    - ``mIoU_covered``: mIoU over the pixels the prediction labels (ToCo's ``pseudo_scores`` convention, which
      inflates the number);
    - ``coverage``: the fraction of GT-valid pixels the prediction labels (report it beside ``mIoU_covered``).

    For predictions that never abstain the first two agree and coverage is 100.

    **Post-processing (dense CRF).** With ``post_processor`` (e.g. ``dict(type='DenseCRF')``) the prediction scored
    is ``argmax(post_processor(image, softmax(seg_logits)))``, computed in ``num_workers`` processes while the model
    goes on with the next batches: each image's logits are streamed to a worker (at most ``2 * num_workers`` in
    flight) and only the per-class areas come back, so no split's full-resolution logits are ever stored. Put it
    after test-time augmentation (``WSSSTTAModel`` keeps the merged logits in ``seg_logits``). The model's own
    ``pred_sem_seg`` (what the visualisation hook draws) is the prediction before the CRF.

    **Output.** ``output_dir`` receives one VOC-palette PNG (mode 'P') per image, named by the image stem: the format
    of the PASCAL VOC server (``format_only=True`` for a split without GT, e.g. VOC test).

    Args:
        post_processor (dict, optional): a ``TASK_UTILS`` config such as ``dict(type='DenseCRF')``.
        num_workers (int): worker processes for the post-processor (0: inline). Defaults to 2.
        logits_downsample (int): stream the logits downsampled by this factor (bilinear) and upsample them in the
            worker; 1 (default) sends them at the original size.
        **kwargs: :class:`mmseg.evaluation.IoUMetric` arguments.

    Example:
        >>> test_evaluator = dict(type='WSSSIoUMetric', iou_metrics=['mIoU'],
        ...                       post_processor=dict(type='DenseCRF'), num_workers=2)
    """

    def __init__(self, post_processor: Optional[dict] = None, num_workers: int = 2, logits_downsample: int = 1,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.post_processor = TASK_UTILS.build(post_processor) if isinstance(post_processor, dict) \
            else post_processor
        if logits_downsample < 1:
            raise ValueError(f'WSSSIoUMetric: logits_downsample must be >= 1, got {logits_downsample}')
        self.num_workers = num_workers
        self.logits_downsample = logits_downsample
        self._pool: Optional[StreamingPool] = None

    def _job(self, data_sample: dict) -> dict:
        job = dict(img_path=data_sample.get('img_path'), num_classes=len(self.dataset_meta['classes']),
                   ignore_index=self.ignore_index, gt=None, out_path=None)
        if not self.format_only:
            if 'gt_sem_seg' not in data_sample:
                raise KeyError(f'WSSSIoUMetric: {job["img_path"]} has no gt_sem_seg; add LoadAnnotations to the '
                               'test pipeline, or set format_only=True for a split without ground truth')
            job['gt'] = data_sample['gt_sem_seg']['data'].squeeze(0).cpu().numpy()
        if self.output_dir:
            stem = osp.splitext(osp.basename(job['img_path']))[0]
            job['out_path'] = osp.join(self.output_dir, stem + '.png')
        if self.post_processor is None:
            job['pred'] = data_sample['pred_sem_seg']['data'].squeeze(0).cpu().numpy()
            return job
        if 'seg_logits' not in data_sample:
            raise KeyError('WSSSIoUMetric: post_processor needs seg_logits in the predictions (SegTTAModel drops '
                           'them: use WSSSTTAModel for test-time augmentation)')
        logits = data_sample['seg_logits']['data'].float()
        job['ori_shape'] = tuple(logits.shape[-2:])
        if self.logits_downsample > 1:
            size = [max(1, s // self.logits_downsample) for s in logits.shape[-2:]]
            logits = F.interpolate(logits[None], size=size, mode='bilinear', align_corners=False)[0]
        job.update(logits=logits.cpu().numpy(), post_processor=self.post_processor)
        return job

    def _collect(self, outputs) -> None:
        for out in outputs:
            if out is not None:
                full, covered, counts = out
                self.results.append((tuple(map(torch.from_numpy, full)), tuple(map(torch.from_numpy, covered)),
                                     counts))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            job = self._job(data_sample)
            if self.post_processor is None:
                self._collect([evaluate_one(job)])
                continue
            if self._pool is None:
                self._pool = StreamingPool(evaluate_one, self.num_workers)
            self._collect(self._pool.submit(job))

    def evaluate(self, size: int) -> dict:
        if self._pool is not None:  # the images still in the workers belong to this evaluation
            pool, self._pool = self._pool, None
            self._collect(pool.close())
        return super().evaluate(size)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        if self.format_only:
            return {}
        full, covered, counts = zip(*results)
        metrics = super().compute_metrics(list(full))
        areas = [sum(x) for x in zip(*covered)]
        covered_metrics = self.total_area_to_metrics(*areas, ['mIoU'], self.nan_to_num, self.beta)
        metrics['mIoU_covered'] = float(np.round(np.nanmean(covered_metrics['IoU']) * 100, 2))
        labelled, total = (sum(x) for x in zip(*counts))
        metrics['coverage'] = float(np.round(100.0 * labelled / max(total, 1), 2))
        return metrics
