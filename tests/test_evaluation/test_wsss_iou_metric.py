"""WSSSIoUMetric (mmwsss/evaluation/metrics/wsss_iou_metric.py): MMSeg-equal scores, the CRF run in worker
processes on streamed logits."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from PIL import Image

import mmwsss  # noqa: F401
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample
from fixtures.crf_scenes import _pydensecrf_direct, _scene
from mmwsss.datasets.class_names import voc_palette_bytes
from mmwsss.evaluation.metrics.wsss_iou_metric import WSSSIoUMetric, score_prediction


def test_score_prediction_matches_mmseg_intersect_and_union():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 5, (30, 40)).astype(np.uint8)
    gt[:3] = 255
    pred = rng.integers(0, 5, (30, 40)).astype(np.uint8)
    pred[5:9] = 255  # abstained pixels
    full, covered, (labelled, valid) = score_prediction(pred, gt, 5)
    ref = IoUMetric.intersect_and_union(torch.from_numpy(pred), torch.from_numpy(gt), 5, 255)
    for ours, theirs in zip(full, ref):
        assert np.array_equal(ours, theirs.numpy().astype(np.int64))
    assert valid == (gt != 255).sum() and labelled == ((gt != 255) & (pred != 255)).sum()
    assert covered[3].sum() == labelled  # covered areas only count labelled pixels


def _samples(tmp_path, n=3, num_classes=4):
    samples, direct = [], []
    for i in range(n):
        image, probs, gt = _scene(i, num_classes)
        path = str(tmp_path / f'img_{i}.png')
        Image.fromarray(image).save(path)
        sample = SegDataSample(metainfo=dict(img_path=path))
        sample.seg_logits = PixelData(data=torch.from_numpy(np.log(probs)))
        sample.pred_sem_seg = PixelData(data=torch.from_numpy(probs.argmax(0))[None])
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(gt.astype(np.int64))[None])
        samples.append(sample.to_dict())
        direct.append((_pydensecrf_direct(image, probs, 1, 1, 121, 5, 4, 10).argmax(0), gt))
    return samples, direct


@pytest.mark.parametrize('workers', [0, 2])
def test_metric_with_crf_scores_the_crf_labels(tmp_path, workers):
    samples, direct = _samples(tmp_path)
    metric = WSSSIoUMetric(post_processor=dict(type='DenseCRF'), num_workers=workers,
                           output_dir=str(tmp_path / 'out'))
    metric.dataset_meta = dict(classes=('bg', 'a', 'b', 'c'))
    for s in samples:
        metric.process({}, [s])
    got = metric.evaluate(len(samples))

    ref = IoUMetric()
    ref.dataset_meta = metric.dataset_meta
    for pred, gt in direct:
        ref.results.append(ref.intersect_and_union(torch.from_numpy(pred), torch.from_numpy(gt).long(), 4, 255))
    expected = ref.compute_metrics(ref.results)
    assert got['mIoU'] == expected['mIoU'] and got['aAcc'] == expected['aAcc']
    no_crf = WSSSIoUMetric()
    no_crf.dataset_meta = metric.dataset_meta
    no_crf.process({}, samples)
    assert no_crf.evaluate(len(samples))['mIoU'] != got['mIoU']  # the CRF is really applied
    for i, (pred, _) in enumerate(direct):  # the written PNG is the CRF label, in the VOC palette
        png = Image.open(tmp_path / 'out' / f'img_{i}.png')
        assert png.mode == 'P' and bytes(png.getpalette()[:12]) == voc_palette_bytes()[:12]
        assert np.array_equal(np.asarray(png), pred)


def test_metric_streams_downsampled_logits_and_needs_seg_logits(tmp_path):
    samples, _ = _samples(tmp_path, n=2)
    metric = WSSSIoUMetric(post_processor=dict(type='DenseCRF'), num_workers=0, logits_downsample=2)
    metric.dataset_meta = dict(classes=('bg', 'a', 'b', 'c'))
    metric.process({}, samples)
    assert 0 < metric.evaluate(2)['mIoU'] <= 100
    del samples[0]['seg_logits']
    with pytest.raises(KeyError, match='WSSSTTAModel'):
        metric.process({}, samples[:1])
