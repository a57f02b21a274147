"""Weak-label transforms: geometry recorded exactly, views consistent with the main view, packing, normalising."""
import numpy as np
import pytest
import torch

from mmwsss.datasets.transforms import (AddGlobalView, AddLocalView, PackWeakSegInputs, RandomCropWithBox,
                                        RandomRescale, WSSSPhotoMetricAug)
from mmwsss.models import WeakSegDataPreProcessor

NO_AUG = dict(jitter_prob=0.0, gray_prob=0.0, blur_prob=0.0, solarize_prob=0.0)


def _img(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize('shape', [(5, 30), (30, 5), (3, 4), (40, 50)])
def test_crop_with_box_keeps_valid_region(shape):
    np.random.seed(1)
    img = _img(*shape)
    out = RandomCropWithBox(crop_size=16, pad_val=(1, 2, 3))(dict(img=img.copy(), seg_fields=[]))
    top, bottom, left, right = out['img_box']
    assert out['img'].shape == (16, 16, 3)
    assert bottom - top == min(shape[0], 16) and right - left == min(shape[1], 16)
    inside = out['img'][top:bottom, left:right]
    # the valid region is a window of the original image ...
    windows = [img[y:y + inside.shape[0], x:x + inside.shape[1]] for y in range(shape[0] - inside.shape[0] + 1)
               for x in range(shape[1] - inside.shape[1] + 1)]
    assert any(np.array_equal(inside, w) for w in windows)
    # ... and everything outside it is padding
    mask = np.ones((16, 16), bool)
    mask[top:bottom, left:right] = False
    assert (out['img'][mask] == np.array([1, 2, 3], np.uint8)).all()


def test_crop_pads_gt_with_ignore():
    np.random.seed(0)
    seg = np.ones((4, 4), np.uint8)
    out = RandomCropWithBox(crop_size=8)(dict(img=_img(4, 4), gt_seg_map=seg, seg_fields=['gt_seg_map']))
    top, bottom, left, right = out['img_box']
    assert (out['gt_seg_map'][top:bottom, left:right] == 1).all()
    assert (out['gt_seg_map'] == 255).sum() == 64 - 16


def test_random_rescale_range():
    np.random.seed(0)
    for _ in range(20):
        out = RandomRescale((0.5, 2.0))(dict(img=_img(40, 20), seg_fields=[]))
        h, w = out["img"].shape[:2]
        assert 20 <= h <= 80 and abs(h - 2 * w) <= 1 and out["scale_factor"][0] == w / 20


def test_local_view_flip_is_recorded_and_exact():
    img = _img(12, 12)
    out = AddLocalView(flip_prob=1.0, aug=NO_AUG)(dict(img=img.copy()))
    assert out['view_meta']['local']['flip'] is True
    assert np.array_equal(out['img_local'], img[:, ::-1])
    out = AddLocalView(flip_prob=0.0, aug=NO_AUG)(dict(img=img.copy()))
    assert out['view_meta']['local']['flip'] is False and np.array_equal(out['img_local'], img)


def test_global_view_box_is_recorded():
    np.random.seed(3)
    img = _img(60, 80)
    out = AddGlobalView(size=20, flip_prob=0.0, aug=NO_AUG)(dict(img=img.copy()))
    top, left, h, w = out['view_meta']['global2']['box']
    assert 0.4 * 60 * 80 * 0.9 <= h * w <= 60 * 80
    import mmcv
    expected = mmcv.imresize(img[top:top + h, left:left + w], (20, 20), interpolation='bicubic')
    assert np.array_equal(out['img_global2'], expected)
    assert np.array_equal(out['img'], img)  # the main view is untouched


def test_photometric_aug_seeded_and_identity_when_off():
    img = _img(16, 16)
    aug = WSSSPhotoMetricAug()
    np.random.seed(5)
    a = aug(dict(img=img.copy()))['img']
    np.random.seed(5)
    b = aug(dict(img=img.copy()))['img']
    assert np.array_equal(a, b) and not np.array_equal(a, img)
    assert np.array_equal(WSSSPhotoMetricAug(**NO_AUG)(dict(img=img.copy()))['img'], img)


def test_pack_and_preprocess_views_like_inputs():
    img = _img(8, 8)
    results = dict(img=img.copy(), img_local=img.copy(), img_global2=img[::-1].copy(), img_shape=(8, 8),
                   ori_shape=(8, 8), gt_img_labels=np.array([0, 1, 0], np.float32), img_box=(0, 8, 0, 8),
                   view_meta=dict(local=dict(flip=False)), stem='x')
    packed = PackWeakSegInputs()(results)
    sample = packed['data_samples']
    assert torch.equal(sample.gt_img_labels, torch.tensor([0., 1., 0.]))
    assert sample.img_local.dtype == torch.uint8 and sample.img_local.shape == (3, 8, 8)
    assert sample.metainfo['img_box'] == (0, 8, 0, 8) and sample.metainfo['stem'] == 'x'
    assert 'gt_sem_seg' not in sample
    pre = WeakSegDataPreProcessor(mean=[10., 20., 30.], std=[2., 3., 4.], bgr_to_rgb=True, size=(8, 8))
    out = pre(dict(inputs=[packed['inputs']], data_samples=[sample]), training=True)
    normed = out['data_samples'][0]
    assert torch.allclose(normed.img_local, out['inputs'][0])  # same pixels -> same normalised tensor
    assert torch.allclose(normed.img_global2, out['inputs'][0].flip(1))
    assert normed.gt_img_labels.device == out['inputs'].device
