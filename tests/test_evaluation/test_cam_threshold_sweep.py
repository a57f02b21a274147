"""CAMThresholdSweepMetric: one confusion matrix per background threshold over the split."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData

import mmwsss  # noqa: F401
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from mmwsss.evaluation import CAMThresholdSweepMetric


def _sample(seed, bkg_thr=0.5):
    rng = np.random.default_rng(seed)
    cam = torch.from_numpy(rng.random((3, 6, 8)).astype(np.float32))
    cam[2] = 0  # class 2 is not in this image's labels
    scores = torch.cat([torch.full((1, 6, 8), bkg_thr), cam[1:]])  # what test_cfg.output='cam' predicts
    gt = torch.from_numpy(rng.integers(0, 3, (6, 8)))
    gt[0, :2] = 255
    s = SegDataSample(metainfo=dict(img_path=f'{seed}.jpg'))
    s.seg_logits = PixelData(data=scores)
    s.pred_sem_seg = PixelData(data=scores.argmax(0, keepdim=True))
    s.gt_sem_seg = PixelData(data=gt[None])
    return s.to_dict(), cam, gt


def _miou_at(samples, t):
    ref = IoUMetric()
    ref.dataset_meta = dict(classes=('bg', 'a', 'b'))
    for _, cam, gt in samples:
        seed = torch.cat([torch.full((1, 6, 8), t), cam[1:]]).argmax(0)
        ref.results.append(ref.intersect_and_union(seed, gt, 3, 255))
    return ref.compute_metrics(ref.results)['mIoU']


def test_each_threshold_equals_iou_metric_on_that_seed():
    samples = [_sample(i) for i in range(4)]
    metric = CAMThresholdSweepMetric(thresholds=[0.2, 0.5, 0.8])
    metric.dataset_meta = dict(classes=('bg', 'a', 'b'))
    metric.process({}, [s for s, _, _ in samples])
    got = metric.evaluate(4)
    for t in (0.2, 0.5, 0.8):
        assert got[f'mIoU@{t:.2f}'] == pytest.approx(_miou_at(samples, t), abs=0.011)
    assert got['mIoU'] == got['mIoU@0.50']  # the fixed threshold is the model's own
    best = max((0.2, 0.5, 0.8), key=lambda t: got[f'mIoU@{t:.2f}'])
    assert got['best_thr'] == best and got['best_mIoU'] == got[f'mIoU@{best:.2f}']


def test_wrong_channel_count_names_the_fix():
    s, _, _ = _sample(0)
    metric = CAMThresholdSweepMetric()
    metric.dataset_meta = dict(classes=('bg', 'a', 'b', 'c'))
    with pytest.raises(ValueError, match='output set to "cam"'):
        metric.process({}, [s])
