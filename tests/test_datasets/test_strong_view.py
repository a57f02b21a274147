"""DuPL's strong view: the configured RandAugment (ops, magnitudes, draws), the flip, sample-keyed randomness, packing
and normalising, and pipelines without it."""
import copy
import math

import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO_ROOT
from mmseg.registry import DATASETS
from mmwsss.datasets import keys
from mmwsss.datasets.transforms import AddStrongView, PackWeakSegInputs
from mmwsss.models import WeakSegDataPreProcessor

OPS = {'AutoContrast', 'Equalize', 'Posterize', 'ColorTransform', 'Contrast', 'Brightness', 'Sharpness'}
ENHANCE_OPS = ('ColorTransform', 'Contrast', 'Brightness', 'Sharpness')


def _img(h=16, w=20, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def _ops(transform=None):
    """The built mmpretrain ops of a strong view, by class name."""
    transform = transform or AddStrongView()
    return {type(op).__name__: op for op in transform.rand_augment.transforms}


def _apply(op, img, seed=0):
    np.random.seed(seed)
    return op(dict(img=img.copy()))['img']


class _Recorder:
    """Stands in for one op: records that it ran and leaves the image alone."""

    def __init__(self, name, log):
        self.name, self.log = name, log

    def __call__(self, results):
        self.log.append(self.name)
        return results


def _recording(transform):
    log = []
    ra = transform.rand_augment
    ra.transforms = [_Recorder(type(op).__name__, log) for op in ra.transforms]
    return log


def test_configured_ops_and_magnitudes():
    ops = _ops()
    assert set(ops) == OPS and len(AddStrongView().rand_augment.transforms) == len(OPS)
    assert all(op.prob == 1.0 for op in ops.values()), 'a drawn op must always run'
    # posterize rounds its magnitude up to whole bits: 2 bits at level 10 of 30
    assert math.ceil(ops['Posterize'].random_magnitude()) == 2
    for name in ENHANCE_OPS:
        op = ops[name]
        assert op.magnitude_std == 0 and op.random_negative_prob == 0, f'{name}: the factor must not be random'
        assert 1 + op.random_magnitude() == 0.7, f'{name}: enhancement factor'
    assert AddStrongView().rand_augment.num_policies == 5


def test_posterize_keeps_two_bits():
    img = _img()
    out = _apply(_ops()['Posterize'], img)
    assert np.array_equal(out, img & 0b11000000)
    assert len(np.unique(out)) <= 4


@pytest.mark.parametrize('value', [100, 200, 37])
def test_brightness_is_factor_0_7_with_no_random_sign(value):
    img = np.full((6, 6, 3), value, np.uint8)
    for seed in range(20):  # a random sign would turn 0.7 into 1.3 about half of the time
        out = _apply(_ops()['Brightness'], img, seed)
        assert (out == int(value * 0.7)).all(), (seed, out[0, 0])


def _bgr_gray(img):
    return img[..., 0] * 0.114 + img[..., 1] * 0.587 + img[..., 2] * 0.299


def test_color_is_factor_0_7_around_the_bgr_grey():
    """Color mixes the image with its grey level; the grey must be read from BGR, the pipeline's channel order."""
    img = np.zeros((4, 4, 3), np.uint8)
    img[..., 0] = 255  # pure blue in BGR
    out = _apply(_ops()['ColorTransform'], img).astype(float)
    gray = _bgr_gray(img.astype(float))[..., None]
    expected = 0.7 * img + 0.3 * gray
    assert np.abs(out - expected).max() <= 1, (out[0, 0], expected[0, 0])
    rgb_gray = img[..., 0] * 0.299  # what an RGB reading of the same pixels would give
    assert np.abs(out[..., 1] - 0.3 * rgb_gray).min() > 5


def test_contrast_is_factor_0_7_around_the_mean_grey():
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2] = 200
    img[2:] = 40
    out = _apply(_ops()['Contrast'], img).astype(float)
    mean = round(float(_bgr_gray(img.astype(float)).mean()))
    expected = 0.7 * img + 0.3 * mean
    assert np.abs(out - expected).max() <= 1


def test_sharpness_is_factor_0_7_and_autocontrast_equalize_are_plain():
    img = _img()
    ops = _ops()
    assert np.array_equal(_apply(ops['Sharpness'], img), mmcv.adjust_sharpness(img, factor=0.7))
    assert not np.array_equal(_apply(ops['Sharpness'], img), mmcv.adjust_sharpness(img, factor=1.3))
    low = (img // 4 + 50).astype(np.uint8)
    out = _apply(ops['AutoContrast'], low)
    # each channel stretched to the full range (mmcv's lookup table truncates 255 - eps to 254)
    assert (out.reshape(-1, 3).min(0) == 0).all() and (out.reshape(-1, 3).max(0) >= 254).all()
    assert np.array_equal(_apply(ops['Equalize'], low), mmcv.imequalize(low))


def test_five_ops_drawn_with_replacement():
    transform = AddStrongView()
    log = _recording(transform)
    draws = []
    for seed in range(100):
        np.random.seed(seed)
        del log[:]
        transform(dict(img=_img()))
        draws.append(list(log))
    assert all(len(d) == 5 for d in draws)
    assert any(len(set(d)) < 5 for d in draws), 'an op must be able to appear twice in one view'
    assert set().union(*draws) == OPS
    assert len({tuple(d) for d in draws}) > 90


def test_flip_is_always_applied_and_recorded():
    img = _img()
    transform = AddStrongView()
    for seed in range(5):
        np.random.seed(seed)
        expected = transform.rand_augment(dict(img=img.copy()))['img'][:, ::-1]
        np.random.seed(seed)
        out = transform(dict(img=img.copy()))
        assert np.array_equal(out['img_strong'], expected)
        assert out['img_strong'].flags['C_CONTIGUOUS'] and out['img_strong'].dtype == np.uint8
        assert out['view_meta']['strong'] == dict(flip=True, scale=1.0)
        assert np.array_equal(out['img'], img), 'the main view is untouched'
    np.random.seed(0)
    unflipped = AddStrongView(flip=False)(dict(img=img.copy()))
    np.random.seed(0)
    flipped = transform(dict(img=img.copy()))
    assert unflipped['view_meta']['strong']['flip'] is False
    assert np.array_equal(flipped['img_strong'], unflipped['img_strong'][:, ::-1])
    assert not np.array_equal(flipped['img_strong'], unflipped['img_strong'])


def test_other_views_meta_is_kept():
    out = AddStrongView()(dict(img=_img(), view_meta=dict(local=dict(flip=False))))
    assert out['view_meta'] == dict(local=dict(flip=False), strong=dict(flip=True, scale=1.0))


def test_view_follows_the_global_numpy_seed():
    img = _img()
    transform = AddStrongView()
    views = []
    for seed in (3, 3, 4):
        np.random.seed(seed)
        views.append(transform(dict(img=img.copy()))['img_strong'])
    assert np.array_equal(views[0], views[1]) and not np.array_equal(views[0], views[2])


def _dataset(root, strong=True):
    init_default_scope('mmseg')
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/_base_/datasets/weakshapes.py').train_dataloader.dataset
    cfg.data_root = root
    if strong:  # after the main view's photometric aug, before packing
        cfg.pipeline = cfg.pipeline[:-1] + [dict(type='AddStrongView'), cfg.pipeline[-1]]
    return DATASETS.build(cfg)


def test_strong_view_is_keyed_by_the_sample_seed(tiny_weakshapes):
    dataset = _dataset(tiny_weakshapes)
    np.random.seed(0)
    a = dataset[(3, 11)]
    dataset[(5, 7)]  # whatever the loader did before (another item, another process state) does not matter
    np.random.seed(1)
    b = dataset[(3, 11)]
    c = dataset[(3, 12)]
    assert torch.equal(a['data_samples'].img_strong, b['data_samples'].img_strong)
    assert not torch.equal(a['data_samples'].img_strong, c['data_samples'].img_strong)
    assert a['data_samples'].view_meta['strong'] == dict(flip=True, scale=1.0)
    # the strong view is drawn last: the main input and the other views are those of the pipeline without it
    plain = _dataset(tiny_weakshapes, strong=False)[(3, 11)]
    assert torch.equal(a['inputs'], plain['inputs'])
    for key in (keys.VIEW_LOCAL, keys.VIEW_GLOBAL2):
        assert torch.equal(a['data_samples'].get(key), plain['data_samples'].get(key))


def test_strong_view_is_made_from_the_main_input(tiny_weakshapes):
    dataset = _dataset(tiny_weakshapes)
    strong = next(t for t in dataset.pipeline.transforms if isinstance(t, AddStrongView))
    _recording(strong)  # no-op ops: only the flip is left
    item = dataset[(2, 5)]
    assert torch.equal(item['data_samples'].img_strong, item['inputs'].flip(-1))


def test_pack_and_preprocess_normalise_it_like_the_main_input():
    img = _img(8, 8)
    results = dict(img=img.copy(), img_shape=(8, 8), ori_shape=(8, 8), gt_img_labels=np.array([1, 0], np.float32))
    without = PackWeakSegInputs()(copy.deepcopy(results))
    np.random.seed(0)
    results = AddStrongView()(results)
    packed = PackWeakSegInputs()(results)
    sample = packed['data_samples']
    assert sample.img_strong.dtype == torch.uint8 and sample.img_strong.shape == (3, 8, 8)
    assert torch.equal(sample.img_strong, torch.from_numpy(results['img_strong']).permute(2, 0, 1))
    assert sample.metainfo['view_meta']['strong'] == dict(flip=True, scale=1.0)
    # a third sample whose main input has the strong view's pixels: the two must be normalised identically
    as_main = PackWeakSegInputs()(dict(results, img=results['img_strong']))
    pre = WeakSegDataPreProcessor(mean=[10., 20., 30.], std=[2., 3., 4.], bgr_to_rgb=True, size=(8, 8))
    out = pre(dict(inputs=[packed['inputs'], without['inputs'], as_main['inputs']],
                   data_samples=[sample, without['data_samples'], as_main['data_samples']]), training=True)
    normed = out['data_samples'][0].img_strong
    assert normed.dtype == torch.float32 and torch.allclose(normed, out['inputs'][2]), 'normalised like inputs'
    assert 'img_strong' not in out['data_samples'][1], 'a sample without the view must stay without it'


def test_pipelines_without_the_strong_view_are_unchanged(tiny_weakshapes):
    item = _dataset(tiny_weakshapes, strong=False)[(1, 3)]
    sample = item['data_samples']
    assert keys.VIEW_STRONG not in sample and 'strong' not in sample.metainfo['view_meta']
    assert keys.VIEW_LOCAL in sample and keys.VIEW_GLOBAL2 in sample
    pre = WeakSegDataPreProcessor(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
                                  size=(96, 96))
    out = pre(dict(inputs=[item['inputs']], data_samples=[sample]), training=True)
    normed = out['data_samples'][0]
    assert keys.VIEW_STRONG not in normed and normed.img_local.dtype == torch.float32
