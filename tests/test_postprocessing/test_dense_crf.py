"""DenseCRF against pydensecrf itself and the streaming worker pool (the metric that uses them: test_evaluation)."""
import numpy as np
import pytest
import torch

import mmwsss  # noqa: F401
from mmseg.registry import TASK_UTILS
from fixtures.crf_scenes import _pydensecrf_direct, _scene
from mmwsss.postprocessing import DenseCRF, StreamingPool


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
