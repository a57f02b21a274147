"""Pre-flight checks: missing weights, checkpoints and data are named (with what to do) before anything is built."""
import os
import os.path as osp
import subprocess
import sys
import time

import pytest
from mmengine.config import Config

from conftest import REPO_ROOT
from mmwsss.utils import preflight as pf

MCC_WEAKSHAPES = 'configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'
URL = 'https://weights.invalid/models/deit-base_20211124-6f40c188.pth'  # .invalid never resolves (RFC 2606)


def _cfg(checkpoint=URL, root=None):
    loader = dict(dataset=dict(type='WeakVOCDataset', data_root=root or '/nonexistent/VOC2012',
                               data_prefix=dict(img_path='JPEGImages'), ann_file='ImageSets/Segmentation/train.txt',
                               label_source='file', label_file='cls_labels_onehot.npy'))
    return Config(dict(model=dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint))),
                       train_dataloader=loader, val_dataloader=loader))


def test_pretrained_checkpoints_are_found_anywhere_in_the_model():
    model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='a.pth')),
                 heads=[dict(init_cfg=[dict(type='Normal'), dict(type='Pretrained', checkpoint='b.pth')])])
    assert list(pf.pretrained_checkpoints(model)) == [('model.backbone.init_cfg.checkpoint', 'a.pth'),
                                                      ('model.heads.0.init_cfg.1.checkpoint', 'b.pth')]


def test_an_unreachable_uncached_url_names_the_cache_path_and_the_three_ways_out(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    monkeypatch.delenv('MMWSSS_OFFLINE', raising=False)
    start = time.perf_counter()
    problems = pf.check_weights(_cfg(), probe_timeout=5)
    assert time.perf_counter() - start < 10
    assert len(problems) == 1
    cached = osp.join(str(tmp_path), 'hub', 'checkpoints', 'deit-base_20211124-6f40c188.pth')
    text = problems[0]
    assert URL in text and 'cannot be downloaded (URLError' in text and cached in text
    assert '--cfg-options model.backbone.init_cfg.checkpoint=/path/to/deit-base_20211124-6f40c188.pth' in text
    assert '--cfg-options model.backbone.init_cfg=None' in text
    # the file copied to the cache path is what the run will load: no problem left
    os.makedirs(osp.dirname(cached))
    open(cached, 'wb').close()
    assert pf.check_weights(_cfg()) == []


def test_offline_switch_skips_the_request(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    monkeypatch.setenv('MMWSSS_OFFLINE', '1')
    monkeypatch.setattr(pf, '_probe', lambda *a: pytest.fail('the network was asked although offline'))
    assert 'cannot be downloaded (MMWSSS_OFFLINE is set)' in pf.check_weights(_cfg())[0]


def test_a_missing_local_weights_file(tmp_path):
    problems = pf.check_weights(_cfg(str(tmp_path / 'deit.pth')))
    assert problems == [f'pretrained weights {tmp_path / "deit.pth"} (model.backbone.init_cfg.checkpoint) do not '
                        'exist. Point model.backbone.init_cfg.checkpoint at the file, or train from scratch with '
                        '--cfg-options model.backbone.init_cfg=None']


def test_checkpoints_to_load(tmp_path):
    assert pf.check_checkpoint(None, 'load_from') == []
    assert pf.check_checkpoint('https://host/x.pth', 'load_from') == []
    assert pf.check_checkpoint(str(tmp_path / 'iter_8.pth'), '--resume checkpoint') == [
        f'--resume checkpoint {tmp_path / "iter_8.pth"} does not exist']
    assert 'it is a directory' in pf.check_checkpoint(str(tmp_path), 'load_from')[0]


def test_data_problems_name_the_file_once_with_the_converter(tmp_path):
    problems = pf.check_data(_cfg(), ['train_dataloader', 'val_dataloader'])
    assert len(problems) == 1, problems  # the same root of two loaders: one line naming both
    assert problems[0].startswith('data root /nonexistent/VOC2012 of train_dataloader (WeakVOCDataset) and '
                                  'val_dataloader (WeakVOCDataset) does not exist.')
    root = tmp_path / 'VOC2012'
    os.makedirs(root / 'JPEGImages')
    problems = pf.check_data(_cfg(root=str(root)), ['train_dataloader'])
    assert [p.split(' of ')[0] for p in problems] == [f'split list {root}/ImageSets/Segmentation/train.txt',
                                                      f'label file {root}/cls_labels_onehot.npy']
    assert all('tools/dataset_converters/voc_weak.py' in p for p in problems), problems


def _train(*args, env=None):
    return subprocess.run([sys.executable, 'tools/train.py', *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120, env=env)


def test_train_preflight_only_fails_with_one_short_message_and_passes_on_good_input(tiny_weakshapes, tmp_path):
    proc = _train(MCC_WEAKSHAPES, '--preflight-only', '--work-dir', str(tmp_path), '--resume', str(tmp_path / 'x.pth'),
                  '--cfg-options', f'data_root={tmp_path}/missing')
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == f'mmwsss pre-flight: 2 problems with {MCC_WEAKSHAPES}, found before anything was built:'
    assert f'--resume checkpoint {tmp_path}/x.pth does not exist' in lines[1]
    assert 'make_weakshapes.py' in lines[2], lines  # the dataset's converter command
    assert len(lines) == 4 and 'Traceback' not in proc.stderr
    ok = _train(MCC_WEAKSHAPES, '--preflight-only', '--work-dir', str(tmp_path),
                '--cfg-options', f'data_root={tiny_weakshapes}')
    assert ok.returncode == 0 and 'the weights, checkpoints and data it needs are in place' in ok.stdout, ok.stderr


def test_dist_train_stops_before_torchrun_starts_the_processes(tmp_path):
    proc = subprocess.run(['tools/dist_train.sh', MCC_WEAKSHAPES, '2', '--work-dir', str(tmp_path),
                           '--cfg-options', f'data_root={tmp_path}/missing'],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1
    assert 'mmwsss pre-flight: 1 problem' in out and 'ChildFailedError' not in out and 'Traceback' not in out
    assert len(out.strip().splitlines()) <= 5, out
