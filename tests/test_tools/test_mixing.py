"""Mixing: the WSSS segmentor trains with stock MMSeg decode heads (configs/mixing/) through tools/train.py."""
import glob
import os.path as osp
import re

import pytest

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.integration

MIXING = sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'mixing', '*weakshapes*.py')))


def test_mixing_configs_use_stock_heads():
    from mmengine.config import Config
    heads = {Config.fromfile(p).model.decode_head.type for p in MIXING}
    assert heads == {'ASPPHead', 'SegformerHead'}  # MMSeg's own classes, not mmwsss ones
    from mmseg.models import decode_heads
    assert all(hasattr(decode_heads, h) for h in heads)


@pytest.mark.timeout(600)
@pytest.mark.parametrize('config', MIXING, ids=osp.basename)
def test_mixing_config_trains_with_segmentation_loss(tiny_weakshapes, tmp_path, config):
    root = tiny_weakshapes
    proc = run_tool(['tools/train.py', config, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                     f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
                     'train_dataloader.batch_size=2', 'default_hooks.global_batch.expected=2', 'model.seg_start_iter=0',
                     'train_cfg.max_iters=3', 'train_cfg.val_interval=3', 'default_hooks.logger.interval=1',
                     'default_hooks.checkpoint.interval=3', 'train_dataloader.num_workers=0',
                     'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
                     'val_dataloader.persistent_workers=False'])
    log = proc.stdout + proc.stderr
    seg = [float(v) for v in re.findall(r'decode\.loss_ce: ([0-9.eE+-]+|nan|inf)', log)]
    assert len(seg) == 3 and all(0 < v < 10 for v in seg), f'segmentation loss per iteration: {seg}'
    assert re.search(r'Iter\(val\) \[8/8\].*mIoU: [0-9.]+', log)
