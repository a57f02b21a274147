"""DenseCRF against pydensecrf itself, the streaming worker pool, and the metric that runs the CRF in workers."""
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from PIL import Image

import mmwsss  # noqa: F401
from mmseg.evaluation import IoUMetric
from mmseg.registry import TASK_UTILS
from mmseg.structures import SegDataSample
from mmwsss.datasets.class_names import voc_palette_bytes
from mmwsss.evaluation.metrics.wsss_iou_metric import WSSSIoUMetric, score_prediction
from mmwsss.postprocessing import DenseCRF, StreamingPool


def _scene(seed=0, num_classes=4, size=(37, 53)):
    """An image with coloured rectangles and noisy, blurry class probabilities that a CRF visibly changes."""
    rng = np.random.default_rng(seed)
    h, w = size
    gt = np.zeros(size, np.uint8)
    image = np.full((h, w, 3), 40, np.uint8)
    for k in range(1, num_classes):
        y, x = rng.integers(0, h - 12), rng.integers(0, w - 12)
        gt[y:y + 12, x:x + 14] = k
        image[y:y + 12, x:x + 14] = rng.integers(60, 255, 3)
    logits = rng.normal(0, 1.5, (num_classes, h, w)).astype(np.float32)
    logits[gt, np.arange(h)[:, None], np.arange(w)[None]] += 1.5
    probs = np.exp(logits) / np.exp(logits).sum(0, keepdims=True)
    return image, probs.astype(np.float32), gt


def _pydensecrf_direct(image, probs, gsxy, gcompat, bsxy, bsrgb, bcompat, iters):
    import pydensecrf.densecrf as dcrf
    from pydensecrf.utils import unary_from_softmax
    c, h, w = probs.shape
    d = dcrf.DenseCRF2D(w, h, c)
    d.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs)))
    d.addPairwiseGaussian(sxy=gsxy, compat=gcompat)
    d.addPairwiseBilateral(sxy=bsxy, srgb=bsrgb, rgbim=np.ascontiguousarray(image), compat=bcompat)
    return np.array(d.inference(iters)).reshape(c, h, w)


@pytest.mark.parametrize('preset,params', [('segmentation', (1, 1, 121, 5, 4)), ('cam_to_label', (3, 3, 36, 3, 4))])
def test_equals_pydensecrf_called_directly(preset, params):
    image, probs, _ = _scene()
    ours = DenseCRF.from_preset(preset)(image, probs)
    direct = _pydensecrf_direct(image, probs, *params, 10)
    assert np.array_equal(ours, direct.astype(np.float32))
    assert (ours.argmax(0) != probs.argmax(0)).any()  # the CRF did change the labelling


def test_defaults_are_the_segmentation_set_and_registered():
    crf = TASK_UTILS.build(dict(type='DenseCRF'))
    assert (crf.gaussian_sxy, crf.gaussian_compat, crf.bilateral_sxy, crf.bilateral_srgb,
            crf.bilateral_compat, crf.iterations) == (1, 1, 121, 5, 4, 10)
    image, probs, _ = _scene(1)
    assert np.array_equal(crf(image, probs, iterations=3), _pydensecrf_direct(image, probs, 1, 1, 121, 5, 4, 3))


def test_bad_inputs_raise_with_shapes():
    image, probs, _ = _scene()
    with pytest.raises(ValueError, match='does not match probs'):
        DenseCRF()(image[:-1], probs)
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        DenseCRF()(image, probs[0])
    with pytest.raises(KeyError, match='unknown preset'):
        DenseCRF.from_preset('nope')


def _square(x):
    if x == 'boom':
        raise RuntimeError('worker failed on boom')
    return x * x


@pytest.mark.parametrize('workers', [0, 2])
def test_streaming_pool_keeps_order_and_bounds_pending(workers):
    pool = StreamingPool(_square, num_workers=workers, max_pending=3)
    out = []
    for i in range(10):
        out += pool.submit(i)
        assert len(pool._pending) <= 3
    out += pool.close()
    assert out == [i * i for i in range(10)]


def test_streaming_pool_reraises_worker_errors():
    pool = StreamingPool(_square, num_workers=1, max_pending=1)
    pool.submit('boom')
    with pytest.raises(RuntimeError, match='worker failed on boom'):
        pool.close()


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


def _cv2_resize(size):
    import cv2
    return cv2.resize(np.ones((400, 400, 21), np.float32), (size, size)).shape


@pytest.mark.timeout(120)
def test_streaming_pool_workers_use_opencv_after_the_parent_did():
    # Regression: with 'fork', workers inherited OpenCV's busy thread pool from the parent and hung in cv2 (seen
    # in benchmark_crf on VOC-sized logits); the default fork server starts them from a clean process.
    import cv2
    cv2.setNumThreads(2)
    for _ in range(5):
        cv2.resize(np.ones((800, 800, 21), np.float32), (900, 900))
    pool = StreamingPool(_cv2_resize, num_workers=2)
    out = [r for s in (300, 310, 320, 330) for r in pool.submit(s)] + pool.close()
    assert out == [(s, s, 21) for s in (300, 310, 320, 330)]
