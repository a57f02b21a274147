"""The VOC 2012 (+ SBD) converter: train_aug list, label file from masks / XMLs, the checks and the CLI; the
--no-sbd mode for VOC 2012 alone (labels of train + val, no train_aug)."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import REPO_ROOT
from fixtures.voc_tree import make_voc_tree
from mmwsss.datasets.converters.voc import (VOC12_OFFICIAL_COUNTS, VOC_OFFICIAL_COUNTS, build_voc_weak,
                                            check_official_counts, check_voc_splits, compute_train_aug, list_stems,
                                            read_split)
from mmwsss.datasets.image_labels import load_label_file

CLI = osp.join('tools', 'dataset_converters', 'voc_weak.py')


@pytest.fixture
def tree(tmp_path):
    return make_voc_tree(str(tmp_path), num_train=4, num_val=3, num_aug_only=5, num_test=2, seed=0)


def build(tree, **kwargs):
    """The converter on the tiny tree: counts relaxed (it is partial by design) and no progress bar."""
    kwargs.setdefault('check_counts', False)
    kwargs.setdefault('progress', False)
    return build_voc_weak(tree['voc_root'], **kwargs)


def split_file(tree, name):
    return osp.join(tree['voc_root'], 'ImageSets', 'Segmentation', f'{name}.txt')


def assert_labels_equal(actual, expected):
    assert set(actual) == set(expected)
    for stem, vec in expected.items():
        assert actual[stem].dtype == np.float32 and actual[stem].shape == (20, ), stem
        assert np.array_equal(actual[stem], vec), stem


def test_fixture_tree_is_seeded_and_consistent(tmp_path):
    a = make_voc_tree(str(tmp_path / 'a'), num_test=2, seed=3)
    b = make_voc_tree(str(tmp_path / 'b'), num_test=2, seed=3)
    c = make_voc_tree(str(tmp_path / 'c'), num_test=2, seed=4)
    assert a['splits'] == b['splits'] and a['splits'] != c['splits']
    assert_labels_equal(a['labels'], b['labels'])
    splits = a['splits']
    assert set(splits['train']) < set(splits['train_aug']) and not set(splits['val']) & set(splits['train_aug'])
    assert set(a['labels']) == set(splits['train_aug'] + splits['val'])
    # labels are not all single-label, so comparing label sources below can fail
    assert max(int(v.sum()) for v in a['labels'].values()) >= 2
    for stem in splits['train'] + splits['val']:
        voc_mask = Image.open(osp.join(a['voc_root'], 'SegmentationClass', stem + '.png'))
        aug_mask = Image.open(osp.join(a['aug_dir'], stem + '.png'))
        assert voc_mask.mode == 'P' and aug_mask.mode == 'L'
        assert np.array_equal(np.array(voc_mask), np.array(aug_mask))
        assert 255 in np.array(voc_mask)
        assert Image.open(osp.join(a['voc_root'], 'JPEGImages', stem + '.jpg')).size == voc_mask.size
    for stem in splits['test']:
        assert osp.isfile(osp.join(a['voc_root'], 'JPEGImages', stem + '.jpg'))
        assert not osp.exists(osp.join(a['aug_dir'], stem + '.png'))
    assert read_split(split_file(a, 'test')) == splits['test']


def test_train_aug_is_aug_stems_minus_val(tree):
    info = build(tree)
    val = read_split(split_file(tree, 'val'))
    aug = list_stems(tree['aug_dir'])
    assert set(val) <= set(aug)  # the aug folder holds val masks too; they must not leak into train_aug
    written = read_split(info['split_file'])
    assert written == sorted(set(aug) - set(val)) == tree['splits']['train_aug']
    assert info['counts'] == dict(train_aug=9, train=4, val=3, test=2, labels=12)
    assert any('10,582' in line for line in info['count_mismatches'])
    assert compute_train_aug(['b', 'a', 'c'], ['c']) == ['a', 'b']
    leftovers = [f for f in os.listdir(osp.dirname(info['split_file'])) + os.listdir(tree['voc_root'])
                 if '.tmp' in f]
    assert not leftovers


def test_labels_from_masks_and_xml_agree_with_fixture(tree):
    out_mask = osp.join(tree['data_root'], 'from_mask.npy')
    out_xml = osp.join(tree['data_root'], 'from_xml.npy')
    build(tree, label_source='mask', out_label_file=out_mask, nproc=2)  # through the process pool
    build(tree, label_source='xml', out_label_file=out_xml)
    from_mask, from_xml = load_label_file(out_mask, 20), load_label_file(out_xml, 20)
    assert_labels_equal(from_mask, tree['labels'])
    assert_labels_equal(from_xml, tree['labels'])


def test_label_file_loads_with_train_aug_and_val(tree):
    info = build(tree)
    assert info['label_file'] == osp.join(tree['voc_root'], 'cls_labels_onehot.npy')
    labels = load_label_file(info['label_file'], 20)
    assert set(labels) == set(tree['splits']['train_aug']) | set(tree['splits']['val'])
    assert not set(labels) & set(tree['splits']['test'])
    assert sum(info['histogram'].values()) == len(labels) == 12
    assert info['histogram'] == {k: v for k, v in zip(*np.unique(
        [int(v.sum()) for v in tree['labels'].values()], return_counts=True))}


def test_aug_dir_elsewhere_or_relative_to_root(tree, tmp_path):
    moved = str(tmp_path / 'SBD' / 'SegAug')
    os.renames(tree['aug_dir'], moved)
    assert build(tree, aug_dir=moved)['counts']['train_aug'] == 9
    os.renames(moved, osp.join(tree['voc_root'], 'MyAug'))
    assert build(tree, aug_dir='MyAug')['counts']['train_aug'] == 9  # not in the cwd: found in the VOC root


def test_val_stem_in_train_is_an_error(tree):
    leaked = tree['splits']['val'][0]
    with open(split_file(tree, 'train'), 'a', encoding='utf-8') as f:
        f.write(leaked + '\n')
    with pytest.raises(ValueError, match=f'train.txt and val.txt share 1 stems \\({leaked}\\)'):
        build(tree)
    # checks run before any write: a failed run leaves the tree as it was
    assert not osp.exists(split_file(tree, 'train_aug'))
    assert not osp.exists(osp.join(tree['voc_root'], 'cls_labels_onehot.npy'))


def test_split_relations_are_checked():
    good = dict(train=['a'], val=['b'], train_aug=['a', 'c'], test=['d'])
    check_voc_splits(good)
    with pytest.raises(ValueError, match='train_aug shares 1 stems with val'):
        check_voc_splits({**good, 'train_aug': ['a', 'b', 'c']})
    with pytest.raises(ValueError, match='1 VOC train stems are not in train_aug'):
        check_voc_splits({**good, 'train': ['a', 'e']})
    with pytest.raises(ValueError, match='test.txt shares 1 stems'):
        check_voc_splits({**good, 'test': ['c']})
    with pytest.raises(ValueError, match='val.txt lists 1 stems more than once'):
        check_voc_splits({**good, 'val': ['b', 'b']})


def test_train_stem_without_aug_mask_is_an_error(tree):
    stem = tree['splits']['train'][1]
    os.remove(osp.join(tree['aug_dir'], stem + '.png'))
    with pytest.raises(ValueError, match=f'not in train_aug \\({stem}\\)'):
        build(tree)


def test_missing_paths_are_named(tree, tmp_path):
    missing_root = str(tmp_path / 'nowhere' / 'VOC2012')
    with pytest.raises(FileNotFoundError, match=f'VOC root {missing_root} does not exist'):
        build_voc_weak(missing_root, progress=False)

    no_aug = make_voc_tree(str(tmp_path / 'no_aug'), with_aug=False)
    with pytest.raises(FileNotFoundError, match='SegmentationClassAug directory .*no_aug.*SegmentationClassAug'):
        build(no_aug)

    stem = tree['splits']['val'][0]
    jpeg = osp.join(tree['voc_root'], 'JPEGImages', stem + '.jpg')
    os.rename(jpeg, jpeg + '.bak')
    with pytest.raises(FileNotFoundError, match=f'image {jpeg} does not exist'):
        build(tree)
    os.rename(jpeg + '.bak', jpeg)

    xml = osp.join(tree['voc_root'], 'Annotations', stem + '.xml')
    os.remove(xml)
    with pytest.raises(FileNotFoundError, match=f'annotation {xml} does not exist'):
        build(tree, label_source='xml')
    build(tree, label_source='mask')  # masks do not need the XML


@pytest.mark.parametrize('nproc', [1, 2])
def test_mask_with_foreign_class_id_names_the_file(tree, nproc):
    stem = tree['splits']['train_aug'][-1]
    path = osp.join(tree['aug_dir'], stem + '.png')
    mask = np.array(Image.open(path))
    mask[0, 0] = 37
    Image.fromarray(mask).save(path)
    with pytest.raises(ValueError, match=f'{path}.*class ids \\[37\\]'):
        build(tree, nproc=nproc)


def test_rgb_mask_is_rejected(tree):
    path = osp.join(tree['aug_dir'], tree['splits']['val'][0] + '.png')
    Image.open(path).convert('RGB').save(path)
    with pytest.raises(ValueError, match=f"mask {path} has PIL mode 'RGB'"):
        build(tree)


def test_count_check(tree):
    with pytest.raises(ValueError, match='train_aug: 9 \\(official 10,582\\).*--no-check-counts'):
        build(tree, check_counts=True)
    assert not osp.exists(split_file(tree, 'train_aug'))
    info = build(tree, check_counts=False)
    assert len(info['count_mismatches']) == 5  # train_aug, train, val, test, labels
    # the official numbers pass, and the test list is optional
    assert check_official_counts(dict(VOC_OFFICIAL_COUNTS)) == []
    assert check_official_counts(dict(train_aug=10582, train=1464, val=1449, labels=12031)) == []
    assert check_official_counts(dict(train_aug=10582, val=1448), strict=False) == ['val: 1,448 (official 1,449)']


def test_cli_end_to_end(tree):
    out = osp.join(tree['data_root'], 'labels', 'cls_labels_onehot.npy')
    proc = subprocess.run([sys.executable, CLI, tree['voc_root'], '--no-check-counts', '--nproc', '2', '--out', out],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert any(line.split()[:2] == ['train_aug', '9'] for line in lines), proc.stdout
    assert any(line.split()[:2] == ['val', '3'] for line in lines), proc.stdout
    hist = {int(line.split()[0]): int(line.split()[2]) for line in lines if 'label(s):' in line}
    assert sum(hist.values()) == 12
    assert f'label file: {out}' in proc.stdout and 'done in' in proc.stdout
    assert_labels_equal(load_label_file(out, 20), tree['labels'])
    assert read_split(split_file(tree, 'train_aug')) == tree['splits']['train_aug']


def test_cli_reports_errors_without_traceback(tree, capsys):
    # In-process (the subprocess above already covers the entry point): the exit message is what users see.
    spec = importlib.util.spec_from_file_location('voc_weak_cli', osp.join(REPO_ROOT, CLI))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    with pytest.raises(SystemExit) as exc:
        cli.main([tree['voc_root'], '--nproc', '1', '--no-progress'])
    assert str(exc.value.code).startswith('error: ') and '10,582' in str(exc.value.code)


def test_fixture_tree_accepts_a_relative_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tree = make_voc_tree('relative', num_train=2, num_val=1, num_aug_only=1)
    assert osp.isabs(tree['voc_root']) and osp.isdir(osp.join('relative', 'VOCdevkit', 'VOC2012', 'JPEGImages'))
    assert osp.isfile(osp.join(tree['aug_dir'], tree['splits']['train'][0] + '.png'))


# --- VOC 2012 without SBD (--no-sbd) ---


@pytest.fixture
def plain(tmp_path):
    """A VOC 2012 trainval tree as downloaded: no SegmentationClassAug; 2 extra images with XML but no mask."""
    return make_voc_tree(str(tmp_path), num_train=4, num_val=3, num_aug_only=2, num_test=2, seed=0, sbd=False)


def test_plain_fixture_tree_has_no_sbd(plain):
    voc_root = plain['voc_root']
    assert not osp.exists(osp.join(voc_root, 'SegmentationClassAug')) and plain['aug_dir'] is None
    assert sorted(plain['splits']) == ['test', 'train', 'val']
    assert set(plain['labels']) == set(plain['splits']['train'] + plain['splits']['val'])
    for stem in plain['splits']['train'] + plain['splits']['val']:
        mask = Image.open(osp.join(voc_root, 'SegmentationClass', stem + '.png'))
        assert mask.mode == 'P'
        present = sorted(set(np.unique(np.array(mask)).tolist()) - {0, 255})
        assert present == (np.flatnonzero(plain['labels'][stem]) + 1).tolist()
    extra = sorted(set(list_stems(osp.join(voc_root, 'Annotations'), '.xml')) - set(plain['labels']))
    assert len(extra) == 2 and all(osp.isfile(osp.join(voc_root, 'JPEGImages', s + '.jpg')) for s in extra)
    # same seed, same images as the SBD tree
    assert make_voc_tree(str(osp.join(plain['data_root'], 'sbd')), num_train=4, num_val=3, num_aug_only=2,
                         num_test=2, seed=0)['sizes'] == plain['sizes']


@pytest.mark.parametrize('label_source', ['mask', 'xml'])
def test_no_sbd_labels_of_train_and_val_agree_with_fixture(plain, label_source):
    out = osp.join(plain['data_root'], f'from_{label_source}.npy')
    info = build(plain, sbd=False, label_source=label_source, out_label_file=out, nproc=2)
    assert info['mode'] == 'voc12' and info['split_file'] is None
    assert info['counts'] == dict(train=4, val=3, test=2, labels=7)
    assert info['official_counts'] == VOC12_OFFICIAL_COUNTS
    assert info['mask_dir'] == (osp.join(plain['voc_root'], 'SegmentationClass') if label_source == 'mask' else None)
    assert_labels_equal(load_label_file(out, 20), plain['labels'])  # the 2 extra images get no label
    assert not osp.exists(split_file(plain, 'train_aug'))
    assert sum(info['histogram'].values()) == 7


def test_no_sbd_default_label_file_and_counts(plain):
    info = build(plain, sbd=False)
    assert info['label_file'] == osp.join(plain['voc_root'], 'cls_labels_onehot.npy')
    assert sorted(info['count_mismatches']) == ['labels: 7 (official 2,913)', 'test: 2 (official 1,456)',
                                                'train: 4 (official 1,464)', 'val: 3 (official 1,449)']
    with pytest.raises(ValueError, match=r'official PASCAL VOC 2012 \(without SBD\) numbers: train: 4 '
                       r'\(official 1,464\).*--no-check-counts'):
        build(plain, sbd=False, check_counts=True, out_label_file=osp.join(plain['data_root'], 'strict.npy'))
    assert not osp.exists(osp.join(plain['data_root'], 'strict.npy'))
    assert VOC12_OFFICIAL_COUNTS == dict(train=1464, val=1449, test=1456, labels=2913)
    assert check_official_counts(dict(train=1464, val=1449, labels=2913), mode='voc12') == []
    # the SBD numbers are not those of VOC 2012 alone, and the other way round
    assert check_official_counts(dict(train=1464, val=1449, labels=2913), strict=False) == [
        'labels: 2,913 (official 12,031)']
    with pytest.raises(ValueError, match='mode must be one of'):
        check_official_counts({}, mode='sbd')


def test_missing_aug_dir_suggests_no_sbd(plain):
    with pytest.raises(FileNotFoundError, match=r"SegmentationClassAug directory .* does not exist; unpack SBD's "
                       r'augmented masks .*rerun with --no-sbd'):
        build(plain)
    with pytest.raises(FileNotFoundError, match='--no-sbd'):
        build(plain, label_source='xml')  # the xml source needs train_aug too, so SBD's masks


def test_no_sbd_checks(plain):
    with pytest.raises(ValueError, match='--aug-dir .* --no-sbd'):
        build(plain, sbd=False, aug_dir='SegmentationClassAug')

    stem = plain['splits']['val'][0]
    png = osp.join(plain['voc_root'], 'SegmentationClass', stem + '.png')
    os.rename(png, png + '.bak')
    with pytest.raises(FileNotFoundError, match=f'mask {png} does not exist \\(1 of the 7 masks'):
        build(plain, sbd=False)
    build(plain, sbd=False, label_source='xml', out_label_file=osp.join(plain['data_root'], 'xml.npy'))  # no mask
    os.rename(png + '.bak', png)

    jpeg = osp.join(plain['voc_root'], 'JPEGImages', stem + '.jpg')
    os.rename(jpeg, jpeg + '.bak')
    with pytest.raises(FileNotFoundError, match=f'image {jpeg} does not exist'):
        build(plain, sbd=False)
    os.rename(jpeg + '.bak', jpeg)

    with open(split_file(plain, 'train'), 'a', encoding='utf-8') as f:
        f.write(stem + '\n')
    with pytest.raises(ValueError, match=f'train.txt and val.txt share 1 stems \\({stem}\\)'):
        build(plain, sbd=False)
    assert not osp.exists(osp.join(plain['voc_root'], 'cls_labels_onehot.npy'))  # nothing written by a failed run

    with pytest.raises(ValueError, match='test.txt shares 1 stems with train/val'):
        check_voc_splits(dict(train=['a'], val=['b'], test=['a']))
    check_voc_splits(dict(train=['a'], val=['b'], test=['c']))


def test_no_sbd_without_segmentation_class_names_the_xml_source(tmp_path):
    tree = make_voc_tree(str(tmp_path), num_train=2, num_val=2, num_aug_only=0, with_seg_class=False, sbd=False)
    with pytest.raises(FileNotFoundError, match='SegmentationClass directory .* --label-source xml'):
        build(tree, sbd=False)
    info = build(tree, sbd=False, label_source='xml')
    assert_labels_equal(load_label_file(info['label_file'], 20), tree['labels'])


def test_cli_no_sbd_end_to_end(plain):
    proc = subprocess.run([sys.executable, CLI, plain['voc_root'], '--no-sbd', '--no-check-counts', '--nproc', '1',
                           '--label-source', 'xml', '--no-progress'],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert out.splitlines()[0].startswith('mode: VOC 2012 without SBD (--no-sbd')
    sizes = {line.split()[0]: line.split()[1] for line in out.splitlines() if '(official' in line}
    assert sizes == dict(train='4', val='3', test='2', labels='7'), out
    assert 'labels per image (xml: Annotations/*.xml)' in out and 'ToCo' not in out
    assert 'split list: none written' in out
    label_file = osp.join(plain['voc_root'], 'cls_labels_onehot.npy')
    assert f'label file: {label_file}' in out
    assert_labels_equal(load_label_file(label_file, 20), plain['labels'])

    # the default (SBD) mode on this tree: one line that names --no-sbd, no traceback
    proc = subprocess.run([sys.executable, CLI, plain['voc_root'], '--no-progress'], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stderr.startswith('error: SegmentationClassAug directory')
    assert '--no-sbd' in proc.stderr and 'Traceback' not in proc.stderr


def test_cli_reports_the_sbd_mode(tree):
    proc = subprocess.run([sys.executable, CLI, tree['voc_root'], '--no-check-counts', '--nproc', '1',
                           '--no-progress'], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines()[0].startswith('mode: VOC 2012 + SBD')
    assert 'labels per image (mask: ' + tree['aug_dir'] + ')' in proc.stdout
