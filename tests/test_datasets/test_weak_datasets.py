"""Weak-label datasets on generated trees: labels as first-class field, no GT read at train time, clear errors."""
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import DATASETS

import mmwsss  # noqa: F401
from conftest import REPO_ROOT

WEAKSHAPES_CFG = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets', 'weakshapes.py')


def _dataset_cfg(split_cfg, root, **overrides):
    cfg = Config.fromfile(WEAKSHAPES_CFG)[split_cfg].dataset
    cfg.data_root = root
    cfg.update(overrides)
    return cfg


def _build(cfg):
    init_default_scope('mmseg')
    return DATASETS.build(cfg)


@pytest.fixture
def weakshapes_copy(tiny_weakshapes, tmp_path):
    root = str(tmp_path / 'ws')
    shutil.copytree(tiny_weakshapes, root)
    return root


def test_items_carry_image_labels_and_train_lists_no_masks(tiny_weakshapes):
    train = _build(_dataset_cfg('train_dataloader', tiny_weakshapes))
    table = np.load(osp.join(tiny_weakshapes, 'cls_labels_onehot.npy'), allow_pickle=True).item()
    assert len(train) == 32
    for i in range(len(train)):
        info = train.get_data_info(i)
        assert 'seg_map_path' not in info
        np.testing.assert_array_equal(info['gt_img_labels'], table[info['stem']])
    val = _build(_dataset_cfg('val_dataloader', tiny_weakshapes))
    assert len(val) == 8 and osp.isfile(val.get_data_info(0)['seg_map_path'])


def test_training_never_reads_gt_masks(weakshapes_copy, monkeypatch):
    """With the mask folder gone and mask loading booby-trapped, a training batch still builds."""
    shutil.rmtree(osp.join(weakshapes_copy, 'SegmentationClass'))
    from mmcv.transforms import LoadAnnotations as MMCVLoadAnnotations

    def refuse(*args, **kwargs):
        raise AssertionError('a GT mask was read during training')

    monkeypatch.setattr(MMCVLoadAnnotations, 'transform', refuse)
    train = _build(_dataset_cfg('train_dataloader', weakshapes_copy))
    for i in range(4):
        sample = train[i]['data_samples']
        assert 'gt_sem_seg' not in sample and sample.gt_img_labels.shape == (5, )
        assert sample.img_local.shape == sample.img_global2.shape == (3, 96, 96)


def test_label_sources_agree(tiny_weakshapes):
    from_file = _build(_dataset_cfg('val_dataloader', tiny_weakshapes))
    from_mask = _build(_dataset_cfg('val_dataloader', tiny_weakshapes, label_source='mask'))
    for i in range(len(from_file)):
        np.testing.assert_array_equal(from_file.get_data_info(i)['gt_img_labels'],
                                      from_mask.get_data_info(i)['gt_img_labels'])


def test_toco_label_file_format_accepted_as_is(tmp_path, tiny_weakshapes):
    """A dict stem -> float32 vector saved with np.save (the ToCo cls_labels_onehot.npy) loads unchanged."""
    stems = open(osp.join(tiny_weakshapes, 'ImageSets/Segmentation/train.txt')).read().split()
    toco = {s: np.eye(5, dtype=np.float32)[i % 5] for i, s in enumerate(stems)}
    path = str(tmp_path / 'cls_labels_onehot.npy')
    np.save(path, toco)
    train = _build(_dataset_cfg('train_dataloader', tiny_weakshapes, label_file=path))
    for i in range(len(train)):
        info = train.get_data_info(i)
        np.testing.assert_array_equal(info['gt_img_labels'], toco[info['stem']])


def test_no_labels_split_for_prediction_export(tiny_weakshapes):
    ds = _build(_dataset_cfg('val_dataloader', tiny_weakshapes, label_source=None,
                             data_prefix=dict(img_path='JPEGImages'),
                             pipeline=[dict(type='LoadImageFromFile'), dict(type='PackWeakSegInputs')]))
    sample = ds[0]['data_samples']
    assert 'gt_img_labels' not in sample and 'gt_sem_seg' not in sample


def test_wrong_label_length_names_the_stem(tmp_path, tiny_weakshapes):
    path = str(tmp_path / 'bad.npy')
    np.save(path, {'ws_000000': np.zeros(20, np.float32)})
    with pytest.raises(ValueError, match=r"ws_000000.*20 entries.*5 foreground"):
        _build(_dataset_cfg('train_dataloader', tiny_weakshapes, label_file=path))


def test_missing_label_entry_names_the_file(tmp_path, tiny_weakshapes):
    path = str(tmp_path / 'partial.npy')
    np.save(path, {'ws_000000': np.zeros(5, np.float32)})
    with pytest.raises(KeyError, match='partial.npy'):
        _build(_dataset_cfg('train_dataloader', tiny_weakshapes, label_file=path))


def test_missing_label_file(tiny_weakshapes):
    with pytest.raises(FileNotFoundError, match='nope.npy'):
        _build(_dataset_cfg('train_dataloader', tiny_weakshapes, label_file='nope.npy'))


def test_missing_image_names_the_path(weakshapes_copy):
    os.remove(osp.join(weakshapes_copy, 'JPEGImages', 'ws_000003.jpg'))
    with pytest.raises(FileNotFoundError, match='ws_000003.jpg'):
        _build(_dataset_cfg('train_dataloader', weakshapes_copy))


def test_empty_split(weakshapes_copy):
    open(osp.join(weakshapes_copy, 'ImageSets/Segmentation/train.txt'), 'w').close()
    with pytest.raises(ValueError, match='train.txt is empty'):
        _build(_dataset_cfg('train_dataloader', weakshapes_copy))


def test_mask_class_outside_class_list(weakshapes_copy):
    from PIL import Image
    path = osp.join(weakshapes_copy, 'SegmentationClass', 'ws_000032.png')
    mask = np.array(Image.open(path))
    mask[0, 0] = 37
    Image.fromarray(mask).save(path)
    with pytest.raises(ValueError, match=r'ws_000032.png.*\[37\]'):
        _build(_dataset_cfg('val_dataloader', weakshapes_copy, label_source='mask'))


def test_corrupt_image_is_reported_not_replaced(weakshapes_copy):
    with open(osp.join(weakshapes_copy, 'JPEGImages', 'ws_000000.jpg'), 'wb') as f:
        f.write(b'not a jpeg')
    train = _build(_dataset_cfg('train_dataloader', weakshapes_copy))
    with pytest.raises(RuntimeError, match='ws_000000.jpg'):
        train[0]
