"""`--amp` through MMSeg's packaged tools/train.py and through mmwsss's, with the NaN/Inf gradient guard kept."""
import os.path as osp

import pytest

import mmseg
from conftest import run_tool

pytestmark = pytest.mark.integration

MCC = 'configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'
MMSEG_TRAIN = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')


def _options(root):
    # MMSeg's train.py does not spread a top-level data_root to the loaders (mmwsss's does): set each one
    return ['--cfg-options', *[f'{loader}.dataset.data_root={root}' for loader in
                               ('train_dataloader', 'val_dataloader', 'test_dataloader')],
            'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']


@pytest.mark.timeout(300)
@pytest.mark.parametrize('tool', ['mmseg', 'mmwsss'])
def test_amp_trains_two_iterations_with_the_guard(tool, tiny_weakshapes, tmp_path):
    script = MMSEG_TRAIN if tool == 'mmseg' else 'tools/train.py'
    assert osp.isfile(script), f'{script}: MMSeg ships its tools in the package (mim); the install lacks them'
    proc = run_tool([script, MCC, '--amp', '--work-dir', str(tmp_path), *_options(tiny_weakshapes)], timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    # MMSeg's check accepted the config (type OptimWrapper), --amp made it AmpOptimWrapper, the constructor guarded it
    assert 'FiniteGradCPUAmpOptimWrapper (AdamW)' in log or 'FiniteGradAmpOptimWrapper (AdamW)' in log, log[-3000:]
    assert 'Iter(train) [2/2]' in log and 'mIoU' in log
    assert osp.isfile(osp.join(tmp_path, 'iter_2.pth'))
