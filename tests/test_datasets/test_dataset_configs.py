"""Every dataset config yields a training batch on a generated tree: views, labels, and no GT mask read."""
import os.path as osp
import re
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
# VOC 2012 without SBD: each leaf and the VOC 2012 + SBD leaf it mirrors
VOC12_LEAVES = [('mcc/mcc_deit-b16_4xb1-20k_voc12-448x448.py', 'mcc/mcc_deit-b16_4xb1-20k_voc12aug-448x448.py'),
                ('toco/toco_deit-b16_2xb2-20k_voc12-448x448.py', 'toco/toco_deit-b16_2xb2-20k_voc12aug-448x448.py')]


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory):
    tree = make_voc_tree(str(tmp_path_factory.mktemp('voc')), num_train=3, num_val=2, num_aug_only=3, num_test=2)
    build_voc_weak(tree['voc_root'], check_counts=False, progress=False)
    return tree


@pytest.fixture(scope='module')
def voc12_root(tmp_path_factory):
    """VOC 2012 alone (no SegmentationClassAug) and its label file from ``voc_weak.py --no-sbd``."""
    tree = make_voc_tree(str(tmp_path_factory.mktemp('voc12')), num_train=3, num_val=2, num_aug_only=2, sbd=False)
    build_voc_weak(tree['voc_root'], sbd=False, check_counts=False, progress=False)
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


def _build(cfg):
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS
    init_default_scope('mmseg')
    return DATASETS.build(cfg)


def _flatten(obj, prefix=''):
    if isinstance(obj, dict):
        return {k: v for key, value in obj.items() for k, v in _flatten(value, f'{prefix}{key}.').items()}
    if isinstance(obj, (list, tuple)):
        return {k: v for i, value in enumerate(obj) for k, v in _flatten(value, f'{prefix}{i}.').items()}
    return {prefix[:-1]: obj}


def test_voc12_config_batch(voc12_root):
    _check_batch_text(describe_batch(_cfg('voc12_weak.py', voc12_root['voc_root'])), 448)


@pytest.mark.parametrize('leaf,parent', VOC12_LEAVES, ids=[leaf for leaf, _ in VOC12_LEAVES])
def test_voc12_leaf_differs_from_its_voc12aug_parent_only_in_the_dataset(leaf, parent):
    configs = osp.join(REPO_ROOT, 'configs')
    child = _flatten(load_config(osp.join(configs, leaf)).to_dict())
    parent = _flatten(load_config(osp.join(configs, parent)).to_dict())
    diff = {k: (parent.get(k), child.get(k)) for k in set(child) | set(parent)
            if k != 'work_dir' and parent.get(k) != child.get(k)}
    assert diff == {
        'train_dataloader.dataset.ann_file': ('ImageSets/Segmentation/train_aug.txt',
                                              'ImageSets/Segmentation/train.txt'),
        'val_dataloader.dataset.data_prefix.seg_map_path': ('SegmentationClassAug', 'SegmentationClass'),
        'test_dataloader.dataset.data_prefix.seg_map_path': ('SegmentationClassAug', 'SegmentationClass')}
    with open(osp.join(configs, leaf)) as f:
        assert '--no-sbd' in f.read()  # the header says how to build the label file
    readme = open(osp.join(configs, osp.dirname(leaf), 'README.md')).read()
    row = [line for line in readme.splitlines() if osp.basename(leaf) in line]
    assert row and 'not trained yet' in row[0]


@pytest.mark.parametrize('leaf', [leaf for leaf, _ in VOC12_LEAVES])
def test_voc12_leaf_datasets_build_and_val_reads_segmentation_class(voc12_root, leaf):
    """Train on train.txt with labels of the --no-sbd label file; val masks: SegmentationClass palette PNGs read
    by MMSeg's LoadAnnotations as class indices (not colours)."""
    from PIL import Image
    cfg = load_config(osp.join(REPO_ROOT, 'configs', leaf), cfg_options=dict(data_root=voc12_root['voc_root']))
    train = _build(cfg.train_dataloader.dataset)
    assert sorted(train.get_data_info(i)['stem'] for i in range(len(train))) == voc12_root['splits']['train']
    for i in range(len(train)):
        info = train.get_data_info(i)
        assert 'seg_map_path' not in info
        np.testing.assert_array_equal(info['gt_img_labels'], voc12_root['labels'][info['stem']])
    assert cfg.test_dataloader.dataset.data_prefix.seg_map_path == 'SegmentationClass'
    val = _build(cfg.val_dataloader.dataset)
    assert len(val) == len(voc12_root['splits']['val']) == 2
    for i in range(len(val)):
        item = val[i]
        sample, info = item['data_samples'], val.get_data_info(i)
        assert info['seg_map_path'].endswith(osp.join('SegmentationClass', info['stem'] + '.png'))
        gt = sample.gt_sem_seg.data.squeeze(0).numpy()
        with Image.open(info['seg_map_path']) as png:
            assert png.mode == 'P'
            np.testing.assert_array_equal(gt, np.array(png))
        assert gt.shape == tuple(item['inputs'].shape[-2:]) == voc12_root['sizes'][info['stem']]
        present = sorted(set(np.unique(gt).tolist()) - {0, 255})
        assert present == (np.flatnonzero(voc12_root['labels'][info['stem']]) + 1).tolist()
        assert 255 in gt and set(np.unique(gt).tolist()) <= set(range(21)) | {255}


def test_voc12aug_config_on_a_tree_without_sbd_names_the_converter(voc12_root):
    cfg = _cfg('voc12aug_weak.py', voc12_root['voc_root']).train_dataloader.dataset
    train_aug = osp.join(voc12_root['voc_root'], 'ImageSets/Segmentation/train_aug.txt')
    with pytest.raises(FileNotFoundError) as exc:
        _build(cfg)
    assert str(exc.value) == (f"WeakVOCDataset: split list '{train_aug}' does not exist. Build it with: python "
                              f"tools/dataset_converters/voc_weak.py {voc12_root['voc_root']}  (VOC 2012 without "
                              'SBD: add --no-sbd and use a *_voc12-448x448.py config)')


def test_missing_label_file_names_the_converter(voc12_root):
    cfg = _cfg('voc12_weak.py', voc12_root['voc_root']).train_dataloader.dataset
    cfg.label_file = 'missing.npy'
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"missing.npy does not exist. Build it with: python tools/dataset_converters/voc_weak.py "
            f"{voc12_root['voc_root']}  (VOC 2012 without SBD: add --no-sbd")):
        _build(cfg)


def test_how_to_build_names_each_converter():
    from mmwsss.datasets import WeakCOCODataset, WeakSegDataset, WeakShapesDataset, WeakVOCDataset
    assert WeakVOCDataset.how_to_build('/d/VOC2012') == (
        'python tools/dataset_converters/voc_weak.py /d/VOC2012  (VOC 2012 without SBD: add --no-sbd and use a '
        '*_voc12-448x448.py config)')
    assert WeakCOCODataset.how_to_build('/d/coco') == 'python tools/dataset_converters/coco_weak.py /d/coco'
    assert WeakShapesDataset.how_to_build('/d/ws') == 'python tools/dataset_converters/make_weakshapes.py /d/ws'
    assert WeakShapesDataset.how_to_build() == 'python tools/dataset_converters/make_weakshapes.py .'
    assert 'split list' in WeakSegDataset.how_to_build('/d')  # no converter: what to write by hand
    for cls in (WeakVOCDataset, WeakCOCODataset, WeakShapesDataset):  # every command names a file that exists
        script = re.search(r'tools/dataset_converters/\w+\.py', cls.how_to_build('x')).group(0)
        assert osp.isfile(osp.join(REPO_ROOT, script)), script
