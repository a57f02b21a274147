"""mmwsss/utils/launch.py: config loading as the tools do it."""
import os.path as osp

import pytest

from conftest import REPO_ROOT
from mmwsss.utils.launch import load_config

MCC = osp.join(REPO_ROOT, 'configs', 'mcc', 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')


def test_top_level_data_root_reaches_every_dataloader():
    default = load_config(MCC)
    assert default.train_dataloader.dataset.data_root == 'data/weakshapes'
    cfg = load_config(MCC, cfg_options={'data_root': '/elsewhere/weakshapes'})
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == '/elsewhere/weakshapes', loader
    # a loader-level override still wins for its own loader
    cfg = load_config(MCC, cfg_options={'data_root': '/a', 'val_dataloader.dataset.data_root': '/b'})
    assert cfg.train_dataloader.dataset.data_root == '/a' and cfg.val_dataloader.dataset.data_root == '/b'


def test_data_root_is_refused_for_a_wrapper_dataset():
    cfg_options = {'train_dataloader.dataset': dict(_delete_=True, type='ConcatDataset', datasets=[]),
                   'data_root': '/x'}
    with pytest.raises(ValueError, match='cannot reach train_dataloader'):
        load_config(MCC, cfg_options=cfg_options)
