"""MSFC through the real tools: the memory bank survives ``--resume`` exactly, and trains under dist_train.sh."""
import os.path as osp
import re

import pytest
import torch

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.integration

MSFC_CONFIG = osp.join(REPO_ROOT, 'configs', 'msfc', 'msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')


def _options(root, *extra):
    """Tiny MSFC run: batch 2, bank update (from 1 sample) + checkpoint every 2 iterations, memory loss from 2."""
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=2', 'default_hooks.global_batch.expected=2', 'model.aux_losses.mp2m.update_interval=2',
            'model.aux_losses.mp2m.bank.min_count=1', 'model.seg_start_iter=1',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2', 'train_cfg.val_interval=1000',
            *extra]


def _bank(path):
    state = torch.load(path, map_location='cpu', weights_only=True)['state_dict']
    return state['aux_losses.mp2m.bank.bank'], state['aux_losses.mp2m.bank.initialised']


@pytest.mark.timeout(600)
def test_resume_restores_the_memory_bank_exactly(tiny_weakshapes, tmp_path):
    work_dir = str(tmp_path / 'msfc')
    run_tool(['tools/train.py', MSFC_CONFIG, '--work-dir', work_dir, *_options(tiny_weakshapes,
                                                                               'train_cfg.max_iters=2')])
    bank2, init2 = _bank(osp.join(work_dir, 'iter_2.pth'))
    assert init2.any(), 'the first update (iteration 2) initialised no class'
    assert torch.allclose(bank2[init2].norm(dim=1), torch.ones(int(init2.sum())))

    # Resume and run one more iteration: no bank update happens at iteration 3 (interval 2), so the bank saved at
    # the end must be the restored one, bit for bit; an unrestored bank would be all zeros.
    proc = run_tool(['tools/train.py', MSFC_CONFIG, '--work-dir', work_dir, '--resume',
                     *_options(tiny_weakshapes, 'train_cfg.max_iters=3')])
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log
    assert f'{int(init2.sum())}/5 classes initialised at start' in log
    assert re.search(r'Iter\(train\) \[3/3\].*loss_mem', log), 'the memory loss did not run after the resume'
    bank3, init3 = _bank(osp.join(work_dir, 'iter_3.pth'))
    assert torch.equal(init3, init2)
    assert torch.equal(bank3, bank2)


@pytest.mark.timeout(600)
def test_dist_train_msfc_weakshapes_two_cpu_processes(tiny_weakshapes, tmp_path):
    """tools/dist_train.sh with the MSFC WeakShapes config (gloo): SMCM and the memory loss train under DDP."""
    proc = run_tool(['tools/dist_train.sh', MSFC_CONFIG, '2', '--work-dir', str(tmp_path / 'dist'),
                     *_options(tiny_weakshapes, 'train_cfg.max_iters=4', 'default_hooks.global_batch.expected=4')],
                    env={'PORT': '29521'})
    log = proc.stdout + proc.stderr
    assert 'global batch = 2 processes x 2 images x 1 accumulated steps = 4' in log
    assert re.search(r'MemoryBankHook: aux_losses.mp2m.bank: iter 2: updated [1-5] classes', log)
    last = next(line for line in log.splitlines() if 'Iter(train) [4/4]' in line)
    for term in ('loss_ptc', 'loss_ctc', 'loss_smcm', 'loss_mem', 'decode.loss_seg'):
        assert term in last, f'{term} missing at iteration 4: {last}'

    assert osp.isfile(str(tmp_path / 'dist' / 'iter_4.pth'))
