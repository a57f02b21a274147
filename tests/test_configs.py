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
