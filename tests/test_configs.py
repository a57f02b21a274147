"""Contract over every config shipped in configs/: it parses, names itself MMSeg-style, and builds its model."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS

import mmwsss  # noqa: F401

CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
                 if '_base_' not in p)
# {method}_{backbone}_{gpus}xb{batch}-{schedule}_{dataset}-{crop}.py, or a short alias at the top level.
FULL_NAME = re.compile(r'^[a-z0-9.+-]+_[a-z0-9.+-]+_\d+xb\d+(-acc\d+)?-[a-z0-9.]+_[a-z0-9+-]+-\d+x\d+\.py$')


def test_configs_exist():
    assert CONFIGS, 'no configs found'


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_config_contract(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    if osp.dirname(path) != CONFIG_ROOT:
        assert FULL_NAME.match(name), f'{name} does not follow MMSeg naming'
    assert cfg.default_scope == 'mmseg'
    assert 'mmwsss' in cfg.custom_imports['imports']
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


# Iteration-valued keys: MMEngine counts them in forward passes, so an `-accN` config multiplies each by N.
ITER_KEYS = {'max_iters', 'val_interval', 'interval', 'begin', 'end', 'start_iter', 'seg_start_iter',
             'aux_pseudo_until', 'final_cam_after'}
ACC_CONFIGS = [p for p in CONFIGS if re.search(r'-acc\d+-', osp.basename(p))]


def _flatten(obj, prefix=''):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f'{prefix}{k}.'))
        return out
    if isinstance(obj, (list, tuple)):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f'{prefix}{i}.'))
        return out
    return {prefix[:-1]: obj}


def test_accumulation_configs_exist():
    assert len(ACC_CONFIGS) >= 6  # toco, mcc, msfc x (VOC, COCO)


@pytest.mark.parametrize('path', ACC_CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_accumulation_config_keeps_the_recipe(path):
    """An `-accN` config = its multi-GPU parent with N accumulated steps and the same number of optimizer steps:
    every iteration count x N, the teacher EMA updated once per accumulation window, everything else unchanged."""
    acc = int(re.search(r'-acc(\d+)-', osp.basename(path)).group(1))
    with open(path) as f:
        parent_name = re.search(r"_base_ = \['\./([^']+)'\]", f.read()).group(1)
    child = _flatten(Config.fromfile(path).to_dict())
    parent = _flatten(Config.fromfile(osp.join(osp.dirname(path), parent_name)).to_dict())
    gpus, batch = re.search(r'_(\d+)xb(\d+)-', parent_name).groups()
    cgpus, cbatch = re.search(r'_(\d+)xb(\d+)-', osp.basename(path)).groups()
    assert int(gpus) * int(batch) == int(cgpus) * int(cbatch) * acc, 'global batch differs from the parent'
    assert child.pop('optim_wrapper.accumulative_counts') == acc
    assert child.pop('model.ema_interval') == acc and 'model.ema_interval' not in parent
    child_batch = child.pop('train_dataloader.batch_size')
    assert child_batch * acc * int(cgpus) == parent.pop('train_dataloader.batch_size') * int(gpus)
    variables = ('acc', 'bank_interval', 'high_thr', 'max_iters')  # top-level helper variables of the files
    child = {k: v for k, v in child.items() if k not in variables}
    parent = {k: v for k, v in parent.items() if k not in variables}
    assert sorted(child) == sorted(parent), set(child) ^ set(parent)
    scaled = 0
    for key, value in parent.items():
        if key.rsplit('.', 1)[-1] in ITER_KEYS and isinstance(value, int) and not isinstance(value, bool):
            assert child[key] == value * acc, f'{key}: {child[key]} != {value} x {acc}'
            scaled += value > 0
        else:
            assert child[key] == value, f'{key}: {child[key]!r} != {value!r}'
    assert scaled >= 5  # max_iters, val/checkpoint/logger intervals, scheduler end, ...
