"""The COCO 2014 converter: class indices, first-instance-wins masks, labels, exclusions, resume, parallel, CLI."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from conftest import run_tool
from fixtures.coco_tree import make_coco_tree
from mmwsss.datasets.class_names import COCO_CLASSES, voc_palette_bytes
from mmwsss.datasets.converters.coco import (COCO_CATEGORY_IDS, VAL_PART_SIZE, category_to_class,
                                             check_official_counts, convert_coco)
from mmwsss.datasets.image_labels import load_label_file

FOLDERS = dict(train='train2014', val='val2014')


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """The fixture tree converted once (serially, in place), shared by the read-only tests."""
    root = str(tmp_path_factory.mktemp('coco'))
    tree = make_coco_tree(root)
    summary = convert_coco(root, nproc=1, progress=False)
    return tree, summary


def _read_list(path):
    with open(path) as f:
        return f.read().split()


def _mask(out_root, split, stem):
    return np.array(Image.open(osp.join(out_root, 'SegmentationClass', FOLDERS[split], stem + '.png')))


def _all_masks(out_root, tree):
    return {(split, stem): _mask(out_root, split, stem) for split, stems in tree['stems'].items() for stem in stems}


def _reference_mask(coco, image_id, class_index):
    """First-instance-wins painting, written independently with pycocotools' own ``annToMask``."""
    img = coco.imgs[image_id]
    mask = np.zeros((img['height'], img['width']), dtype=np.uint8)
    for ann in coco.imgToAnns[image_id]:  # in the order of the json's annotations list
        covered = coco.annToMask(ann).astype(bool) & (mask == 0)
        mask[covered] = class_index[ann['category_id']]
    return mask


def _mtimes(out_root):
    return {p: os.stat(p).st_mtime_ns for p in _png_paths(out_root)}


def _png_paths(out_root):
    return sorted(osp.join(dirpath, name) for dirpath, _, names in os.walk(osp.join(out_root, 'SegmentationClass'))
                  for name in names if name.endswith('.png'))


def test_real_category_ids_match_class_list():
    assert len(COCO_CATEGORY_IDS) == len(COCO_CLASSES) - 1 == 80
    assert COCO_CATEGORY_IDS[:3] == (1, 2, 3) and COCO_CATEGORY_IDS[-1] == 90
    full = [dict(id=i, name=n) for i, n in zip(COCO_CATEGORY_IDS, COCO_CLASSES[1:])]
    assert category_to_class(full[::-1], 'x.json') == {i: k + 1 for k, i in enumerate(COCO_CATEGORY_IDS)}


def test_splits_counts_and_exclusion(converted):
    tree, summary = converted
    root = tree['root']
    for split in ('train', 'val'):
        info = summary['splits'][split]
        stems = tree['stems'][split]
        assert len(stems) == 3
        # ascending image id, not the json's image order
        assert _read_list(osp.join(root, 'ImageSets', f'{split}.txt')) == stems
        assert info['num_images'] == 3 and info['num_json_images'] == 4 and info['num_excluded'] == 1
        assert info['num_written'] == 3 and info['num_skipped'] == 0
        excluded = f'COCO_{FOLDERS[split]}_{tree["excluded_ids"][split][0]:012d}'
        assert osp.isfile(osp.join(root, FOLDERS[split], excluded + '.jpg'))  # the image exists...
        assert excluded not in _read_list(osp.join(root, 'ImageSets', f'{split}.txt'))  # ...but is left out
        assert not osp.exists(osp.join(root, 'SegmentationClass', FOLDERS[split], excluded + '.png'))
        assert sorted(os.listdir(osp.join(root, 'SegmentationClass', FOLDERS[split]))) == [s + '.png' for s in stems]
    assert _read_list(osp.join(root, 'ImageSets', 'val_part.txt')) == tree['stems']['val'][:VAL_PART_SIZE]
    assert summary['num_val_part'] == 3
    labels = load_label_file(osp.join(root, 'cls_labels_onehot.npy'), num_foreground=80)
    assert set(labels) == set(tree['stems']['train'] + tree['stems']['val'])


def test_masks_equal_pycocotools_painting(converted):
    tree, _ = converted
    palette = voc_palette_bytes()
    for split, json_path in tree['json'].items():
        coco = COCO(json_path)
        for image_id, stem in zip(tree['image_ids'][split], tree['stems'][split]):
            png = Image.open(osp.join(tree['root'], 'SegmentationClass', FOLDERS[split], stem + '.png'))
            assert png.mode == 'P' and png.size == tree['sizes'][stem][::-1]
            assert bytes(png.getpalette()[:3 * 81]) == palette[:3 * 81]
            expected = _reference_mask(coco, image_id, tree['class_index'])
            np.testing.assert_array_equal(np.array(png), expected, err_msg=stem)
            # every class of the image is visible here and nothing else is: no 255, no stray index
            assert set(np.unique(expected).tolist()) == {0} | tree['labels'][stem], stem


def test_class_indices_and_labels(converted):
    tree, _ = converted
    labels = load_label_file(osp.join(tree['root'], 'cls_labels_onehot.npy'), num_foreground=80)
    for stem, classes in tree['labels'].items():
        vec = labels[stem]
        assert vec.dtype == np.float32 and vec.shape == (80, )
        assert set((np.flatnonzero(vec) + 1).tolist()) == classes, stem
    # COCO id 90 (toothbrush) is class 80, id 44 (bottle) class 40, id 18 (dog) class 17
    mask = _mask(tree['root'], 'val', 'COCO_val2014_000000000139')
    assert mask[5, 5] == 80 and COCO_CLASSES[80] == 'toothbrush'
    assert labels['COCO_val2014_000000000139'][79] == 1
    assert _mask(tree['root'], 'val', 'COCO_val2014_000000000073')[10, 10] == 17 and COCO_CLASSES[17] == 'dog'
    assert _mask(tree['root'], 'val', 'COCO_val2014_000000000042')[5, 5] == 40 and COCO_CLASSES[40] == 'bottle'


def test_overlap_keeps_the_first_instance(converted):
    tree, _ = converted
    stem, first_cls, second_cls = tree['overlap']
    coco = COCO(tree['json']['train'])
    image_id = int(stem.rsplit('_', 1)[1])
    first, second = (coco.annToMask(a).astype(bool) for a in coco.imgToAnns[image_id])
    overlap = first & second
    assert overlap.sum() > 0
    mask = _mask(tree['root'], 'train', stem)
    # the first annotation has the *higher* class index and annotation id: only the list order decides
    assert first_cls > second_cls
    assert np.all(mask[overlap] == first_cls)
    assert np.all(mask[second & ~first] == second_cls)


def test_crowd_rle_is_painted_and_labelled(converted):
    tree, _ = converted
    labels = load_label_file(osp.join(tree['root'], 'cls_labels_onehot.npy'), num_foreground=80)
    assert len(tree['crowd']) == 3  # uncompressed RLE in train and val, compressed RLE in train
    for stem, cls in tree['crowd'].items():
        split = 'train' if 'train2014' in stem else 'val'
        assert cls in np.unique(_mask(tree['root'], split, stem)), stem
        assert labels[stem][cls - 1] == 1, stem
    # the crowd of bicycles is listed before the bottle that overlaps it: the crowd keeps the overlap
    mask = _mask(tree['root'], 'train', 'COCO_train2014_000000000025')
    assert mask[8, 22] == 2


def test_resume_skips_done_masks_and_force_rewrites(tmp_path):
    root = str(tmp_path / 'coco')
    tree = make_coco_tree(root)
    convert_coco(root, nproc=1, progress=False)
    first = _all_masks(root, tree)
    deleted = osp.join(root, 'SegmentationClass', 'val2014', tree['stems']['val'][1] + '.png')
    os.remove(deleted)
    # a temporary file left by an interrupted write is not taken for a finished mask
    with open(deleted + '.tmp', 'wb') as f:
        f.write(b'partial')
    old = 1_000_000_000 * 10**9  # set far in the past: any rewrite moves it, whatever the clock resolution
    for path in _png_paths(root):
        os.utime(path, ns=(old, old))

    summary = convert_coco(root, nproc=1, progress=False)
    assert summary['splits']['val']['num_written'] == 1 and summary['splits']['val']['num_skipped'] == 2
    assert summary['splits']['train']['num_written'] == 0 and summary['splits']['train']['num_skipped'] == 3
    mtimes = _mtimes(root)
    assert os.stat(deleted).st_mtime_ns != old
    assert all(t == old for p, t in mtimes.items() if p != deleted)
    assert not osp.exists(deleted + '.tmp')
    second = _all_masks(root, tree)
    assert second.keys() == first.keys()
    for key in first:
        np.testing.assert_array_equal(second[key], first[key], err_msg=str(key))

    summary = convert_coco(root, nproc=1, force=True, progress=False)
    assert summary['splits']['train']['num_written'] == 3 and summary['splits']['train']['num_skipped'] == 0
    assert all(t != old for t in _mtimes(root).values())


def test_parallel_equals_serial(converted, tmp_path):
    tree, _ = converted
    out = str(tmp_path / 'parallel')
    summary = convert_coco(tree['root'], out_root=out, nproc=2, progress=False)
    assert summary['splits']['train']['num_written'] == 3
    serial, parallel = _all_masks(tree['root'], tree), _all_masks(out, tree)
    for key in serial:
        np.testing.assert_array_equal(parallel[key], serial[key], err_msg=str(key))
    for name in ('train.txt', 'val.txt', 'val_part.txt'):
        assert _read_list(osp.join(out, 'ImageSets', name)) == _read_list(osp.join(tree['root'], 'ImageSets', name))
    a = load_label_file(osp.join(out, 'cls_labels_onehot.npy'), 80)
    b = load_label_file(osp.join(tree['root'], 'cls_labels_onehot.npy'), 80)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize('category,message', [
    (dict(id=3, name='automobile'), 'automobile'),  # renamed
    (dict(id=89, name='toothbrush'), 'id 89'),  # right name, wrong id
])
def test_category_mismatch_names_the_json(tmp_path, category, message):
    root = str(tmp_path)
    tree = make_coco_tree(root)
    with open(tree['json']['val']) as f:
        data = json.load(f)
    data['categories'] = [c for c in data['categories'] if c['name'] != category['name'] and c['id'] != category['id']]
    data['categories'].append(dict(category, supercategory='x'))
    with open(tree['json']['val'], 'w') as f:
        json.dump(data, f)
    with pytest.raises(ValueError, match='instances_val2014.json') as err:
        convert_coco(root, out_root=str(tmp_path / 'out'), nproc=1, progress=False)
    assert message in str(err.value)


def test_missing_json_is_reported_before_any_work(tmp_path):
    root = str(tmp_path)
    tree = make_coco_tree(root)
    os.remove(tree['json']['val'])
    with pytest.raises(FileNotFoundError, match='instances_val2014.json'):
        convert_coco(root, nproc=1, progress=False)
    assert not osp.exists(osp.join(root, 'SegmentationClass', 'train2014'))  # train was not started


def test_official_count_warnings_only_for_the_full_dataset():
    small = dict(splits=dict(train=dict(num_json_images=4, num_images=3), val=dict(num_json_images=4, num_images=3)))
    assert check_official_counts(small) == []
    full = dict(splits=dict(train=dict(num_json_images=82783, num_images=82081),
                            val=dict(num_json_images=40504, num_images=40136)))
    warnings = check_official_counts(full)
    assert len(warnings) == 1 and warnings[0].startswith('val: 40136 of 40504') and '40137' in warnings[0]


def test_cli_end_to_end(tmp_path):
    root = str(tmp_path / 'coco')
    tree = make_coco_tree(root)
    out = str(tmp_path / 'out')
    # one subprocess only (the package import is the slow part): resume an in-process run with one mask missing
    convert_coco(root, out_root=out, nproc=1, progress=False)
    os.remove(osp.join(out, 'SegmentationClass', 'val2014', tree['stems']['val'][0] + '.png'))
    proc = run_tool(['tools/dataset_converters/coco_weak.py', root, '--out-dir', out, '--nproc', '2'])
    assert 'train: 3 images with annotations of 4' in proc.stdout
    assert 'val: 3 images with annotations of 4' in proc.stdout
    assert proc.stdout.count('(1 excluded for having no annotation)') == 2
    assert 'masks: 0 written, 3 skipped as already done' in proc.stdout
    assert 'masks: 1 written, 2 skipped as already done' in proc.stdout
    assert 'val label-count histogram {labels per image: images}: {"1": 1, "2": 2}' in proc.stdout
    assert 'counts not compared with the official numbers' in proc.stdout and 'WARNING' not in proc.stdout
    assert len(_png_paths(out)) == 6 and osp.isfile(osp.join(out, 'cls_labels_onehot.npy'))


def test_output_loads_as_weak_coco_dataset(converted):
    """The layout is the one configs/_base_/datasets/coco2014_weak.py reads."""
    from mmwsss.datasets.weak_seg_dataset import WeakCOCODataset
    tree, _ = converted
    dataset = WeakCOCODataset(
        data_root=tree['root'], data_prefix=dict(img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        ann_file='ImageSets/val.txt', label_source='file', label_file='cls_labels_onehot.npy', pipeline=[])
    assert len(dataset) == 3
    info = dataset.get_data_info(2)
    assert info['stem'] == 'COCO_val2014_000000000139'
    assert set((np.flatnonzero(info['gt_img_labels']) + 1).tolist()) == {1, 80}
