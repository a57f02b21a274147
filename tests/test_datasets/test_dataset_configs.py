"""Every dataset config yields a training batch on a generated tree: views, labels, and no GT mask read."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from conftest import REPO_ROOT
from fixtures.coco_tree import make_coco_tree
from fixtures.voc_tree import make_voc_tree

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'misc'))
from print_batch import describe_batch  # noqa: E402

from mmwsss.datasets.converters.coco import convert_coco  # noqa: E402
from mmwsss.datasets.converters.voc import build_voc_weak  # noqa: E402
from mmwsss.utils.launch import load_config  # noqa: E402

DATASET_CFGS = osp.join(REPO_ROOT, 'configs', '_base_', 'datasets')


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    tree = make_voc_tree(str(tmp_path_factory.mktemp('voc')), num_train=3, num_val=2, num_aug_only=3, num_test=2)
    build_voc_weak(tree['voc_root'], check_counts=False, progress=False)
    return tree


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory):
    tree = make_coco_tree(str(tmp_path_factory.mktemp('coco')))
    convert_coco(tree['root'], nproc=1, progress=False)
    return tree


def _cfg(name, root, batch_size=2):
    options = {f'{split}.dataset.data_root': root for split in ('train_dataloader', 'val_dataloader')}
    options['train_dataloader.batch_size'] = batch_size
    return load_config(osp.join(DATASET_CFGS, name), cfg_options=options)


def _check_batch_text(text, crop):
    print(text)  # the printed batch is part of the record (pytest -s shows it)
    assert f'inputs (2, 3, {crop}, {crop})' in text
    assert f"'img_global2': (3, {crop}, {crop}), 'img_local': (3, {crop}, {crop})" in text
    assert 'gt_sem_seg present' not in text and 'absent (not read)' in text


def test_voc_config_batch(voc_root):
    _check_batch_text(describe_batch(_cfg('voc12aug_weak.py', voc_root['voc_root'])), 448)


def test_coco_config_batch(coco_root):
    _check_batch_text(describe_batch(_cfg('coco2014_weak.py', coco_root['root'])), 448)


def test_weakshapes_config_batch(tiny_weakshapes):
    _check_batch_text(describe_batch(_cfg('weakshapes.py', tiny_weakshapes)), 96)


@pytest.mark.parametrize('source', ['file', 'mask', 'xml'])
def test_voc_label_sources_match_fixture(voc_root, source):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    cfg = _cfg('voc12aug_weak.py', voc_root['voc_root']).train_dataloader.dataset
    cfg.label_source = source
    if source == 'mask':
        cfg.label_mask_dir = 'SegmentationClassAug'
    ds = DATASETS.build(cfg)
    assert len(ds) == len(voc_root['splits']['train_aug'])
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        np.testing.assert_array_equal(info['gt_img_labels'], voc_root['labels'][info['stem']])


def test_voc_test_split_without_gt_exports(voc_root):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    cfg = _cfg('voc12aug_weak.py', voc_root['voc_root'])
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.update(ann_file='ImageSets/Segmentation/test.txt', label_source=None, pipeline=cfg.test_pipeline_no_gt)
    ds_cfg.data_prefix = dict(img_path='JPEGImages')  # replace, not merge: the test split has no masks
    ds = DATASETS.build(ds_cfg)
    sample = ds[0]['data_samples']
    assert len(ds) == 2 and 'gt_sem_seg' not in sample and 'gt_img_labels' not in sample


def test_coco_labels_and_classes(coco_root):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    ds = DATASETS.build(_cfg('coco2014_weak.py', coco_root['root']).train_dataloader.dataset)
    assert len(ds.metainfo['classes']) == 81
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        expected = sorted(coco_root['labels'][info['stem']])
        assert (np.flatnonzero(info['gt_img_labels']) + 1).tolist() == expected
    assert isinstance(ds[0]['data_samples'].gt_img_labels, torch.Tensor)
