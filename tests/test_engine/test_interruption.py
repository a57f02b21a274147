"""Interrupted training: atomic checkpoint writes, --resume picks a complete checkpoint, SIGKILL + resume == straight."""
import os
import os.path as osp
import re

import pytest
import torch
from mmengine.fileio import get_file_backend

from conftest import run_tool
from mmwsss.engine.checkpoint_io import AtomicLocalBackend, find_resumable_checkpoint, is_complete_checkpoint

pytestmark = pytest.mark.integration


def _save(path, value):
    torch.save({'state_dict': {'w': torch.full((1000,), float(value))}}, path)


def test_mmengine_writes_through_the_atomic_backend():
    assert isinstance(get_file_backend('/some/work_dir/iter_2.pth'), AtomicLocalBackend)


def test_a_write_that_dies_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = str(tmp_path / 'iter_4.pth')
    _save(path, 1)
    before = open(path, 'rb').read()

    class Crash(Exception):
        pass

    real_fsync = os.fsync

    def crash_after_half(fd):  # the new bytes are written to the temp file, then the process "dies"
        raise Crash

    monkeypatch.setattr(os, 'fsync', crash_after_half)
    with pytest.raises(Crash):
        AtomicLocalBackend().put(b'PK' + b'\0' * 100, path)
    monkeypatch.setattr(os, 'fsync', real_fsync)
    assert open(path, 'rb').read() == before, 'the checkpoint was changed by a failed write'
    assert os.listdir(tmp_path) == ['iter_4.pth'], 'a temp file was left behind'


def test_resume_skips_truncated_checkpoints_and_a_stale_pointer(tmp_path):
    work = str(tmp_path)
    for it in (2, 4, 6):
        _save(osp.join(work, f'iter_{it}.pth'), it)
    data = open(osp.join(work, 'iter_6.pth'), 'rb').read()
    with open(osp.join(work, 'iter_6.pth'), 'wb') as f:  # what a kill during a plain write leaves
        f.write(data[:len(data) // 2])
    with open(osp.join(work, 'iter_8.pth.tmp-123'), 'wb') as f:
        f.write(data[:100])
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'iter_6.pth'))
    assert not is_complete_checkpoint(osp.join(work, 'iter_6.pth'))
    assert find_resumable_checkpoint(work) == osp.join(work, 'iter_4.pth')
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'iter_2.pth'))
    assert find_resumable_checkpoint(work) == osp.join(work, 'iter_2.pth'), 'a valid pointer must win'
    assert find_resumable_checkpoint(str(tmp_path / 'empty')) is None


@pytest.mark.timeout(600)
def test_sigkill_during_save_and_between_checkpoints_then_resume(tiny_weakshapes, tmp_path):
    """tools/misc/kill_resume_check.py on MSFC: kills while iter_2.pth is written and after iteration 5."""
    proc = run_tool(['tools/misc/kill_resume_check.py', 'configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
                     '--work-dir', str(tmp_path), '--iters', '6', '--checkpoint-interval', '2', '--cfg-options',
                     f'train_dataloader.dataset.data_root={tiny_weakshapes}',
                     f'val_dataloader.dataset.data_root={tiny_weakshapes}', 'train_dataloader.batch_size=2',
                     'default_hooks.global_batch.expected=2', 'model.aux_losses.mp2m.update_interval=3', 'model.aux_losses.mp2m.bank.min_count=1',
                     'model.seg_start_iter=1'])
    out = proc.stdout
    assert out.rstrip().endswith('PASS'), out[-3000:]
    assert re.search(r'continuing from \S+iter_4\.pth', out)
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'memory_bank_window'):
        assert f'| final {key} equals the uninterrupted run | iter_6.pth | bit for bit |' in out
