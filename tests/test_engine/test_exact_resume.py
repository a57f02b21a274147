"""Exact resume: N iterations straight == N/2, stop, ``--resume``, N/2 more (MCC, MSFC and DuPL WeakShapes configs).

Compared bit for bit (CPU, ``randomness.deterministic=True``): every model tensor (EMA projector teacher and the
MSFC memory bank included), the optimizer and LR-scheduler states, the open memory-bank window and every logged
value of the second half (``vis_data/scalars.json``, full precision).
"""
import glob
import json
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT, run_tool
from mmwsss.compat import load_checkpoint_file

pytestmark = pytest.mark.integration

CONFIGS = {
    'mcc': ('configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py', []),
    # bank update every 3 iterations: the window of iterations 1-3 is open at the checkpoint of iteration 2
    # both students; the GMM filter from iteration 1 and the strong-view consistency from 2 (the RandAugment draws
    # of the resumed half must be the straight run's)
    'dupl': ('configs/dupl/dupl_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
             ['model.noise_filter.start_iter=1', 'model.noise_filter.min_pixels=10', 'model.consistency.start_iter=2',
              'model.dynamic_threshold.start=1', 'model.dynamic_threshold.length=4']),
    'msfc': ('configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
             ['model.aux_losses.mp2m.update_interval=3', 'model.aux_losses.mp2m.bank.min_count=1']),
}


def train_options(root, max_iters, extra=()):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=2', 'default_hooks.global_batch.expected=2', 'model.seg_start_iter=1',
            'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2', 'train_cfg.val_interval=1000',
            'randomness.deterministic=True', f'train_cfg.max_iters={max_iters}', *extra]


def logged(work_dir):
    """iteration -> {key: value} from every run's scalars.json in the work dir."""
    rows = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    row.pop('time', None), row.pop('data_time', None)  # wall-clock, not training state
                    rows[row['step']] = row
    return rows


def flatten(obj, prefix=''):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from flatten(v, f'{prefix}.{k}')
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from flatten(v, f'{prefix}[{i}]')
    else:
        yield prefix, obj


def assert_same(a, b, what):
    fa, fb = dict(flatten(a)), dict(flatten(b))
    assert fa.keys() == fb.keys(), f'{what}: different keys {set(fa) ^ set(fb)}'
    differ = [k for k in fa if not (torch.equal(fa[k], fb[k]) if torch.is_tensor(fa[k]) else fa[k] == fb[k])]
    assert not differ, f'{what} differs after resume: {differ[:6]}'


@pytest.mark.timeout(600)
@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_resume_continues_bit_for_bit(method, tiny_weakshapes, tmp_path):
    config, extra = CONFIGS[method]
    straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
    run_tool(['tools/train.py', config, '--work-dir', straight, *train_options(tiny_weakshapes, 4, extra)])
    run_tool(['tools/train.py', config, '--work-dir', resumed, *train_options(tiny_weakshapes, 2, extra)])
    proc = run_tool(['tools/train.py', config, '--work-dir', resumed, '--resume',
                     *train_options(tiny_weakshapes, 4, extra)])
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 2' in log and 'RandomStateHook: restored the random state' in log
    # the trained batches are skipped by position, not loaded again (FastForwardIterBasedTrainLoop)
    assert 'Fast-forwarded the data stream to sample 4 (iteration 2)' in log
    assert 'Advance dataloader' not in log and 'Replaying' not in log

    a = load_checkpoint_file(osp.join(straight, 'iter_4.pth'))
    b = load_checkpoint_file(osp.join(resumed, 'iter_4.pth'))
    if method == 'dupl':  # both students, no teacher
        assert any(k.startswith('students.1.') for k in a['state_dict'])
    else:
        assert any('projector_teacher' in k for k in a['state_dict'])
    assert_same(a['state_dict'], b['state_dict'], 'model state (weights, EMA teacher, buffers)')
    assert_same(a['optimizer'], b['optimizer'], 'optimizer state')
    assert_same(a['param_schedulers'], b['param_schedulers'], 'LR scheduler state')
    positions = [c['message_hub']['runtime_info']['train_stream_position'] for c in (a, b)]
    assert positions == [8, 8], f'samples drawn in 4 iterations of 2 images: {positions}'
    if method == 'msfc':
        assert 'resumed the open update window' in log
        assert a['state_dict']['aux_losses.mp2m.bank.initialised'].any(), 'the bank was never updated: nothing compared'
        assert_same(a['memory_bank_window'], b['memory_bank_window'], 'memory bank window')

    first, second = logged(straight), logged(resumed)
    assert sorted(second) == [1, 2, 3, 4]
    for it in (3, 4):
        assert first[it] == second[it], f'iteration {it} logged {first[it]} straight but {second[it]} resumed'
    if method == 'dupl':  # the filter and the strong-view consistency ran in the compared iterations
        assert {'student1.decode.loss_seg', 'gmm_removed', 'student0.loss_reg'} <= set(first[4])
    else:
        assert 'decode.loss_seg' in first[4] and ('loss_mem' in first[4]) == (method == 'msfc')


@pytest.mark.timeout(300)
@pytest.mark.parametrize('first_run,why', [
    (['train_cfg.type=IterBasedTrainLoop'], 'the checkpoint has no "train_stream_position"'),
    (['train_dataloader.sampler.type=InfiniteSampler'], 'InfiniteSampler cannot be fast-forwarded'),
])
def test_resume_falls_back_to_replay(first_run, why, tiny_weakshapes, tmp_path):
    """A checkpoint of mmengine's loop, or a sampler without fast_forward: the loop replays, says why, and counts on."""
    config, work_dir = CONFIGS['mcc'][0], str(tmp_path / 'run')
    sampler = [o for o in first_run if 'sampler' in o]  # the resumed run keeps the first run's sampler
    run_tool(['tools/train.py', config, '--work-dir', work_dir, *train_options(tiny_weakshapes, 2, first_run)])
    proc = run_tool(['tools/train.py', config, '--work-dir', work_dir, '--resume',
                     *train_options(tiny_weakshapes, 3, sampler)])
    log = proc.stdout + proc.stderr
    assert f'Replaying 2 iterations of data loading to skip trained samples: {why}' in log
    final = load_checkpoint_file(osp.join(work_dir, 'iter_3.pth'))
    assert final['message_hub']['runtime_info']['train_stream_position'] == 6


@pytest.mark.timeout(300)
def test_benchmark_resume_script(tiny_weakshapes, tmp_path):
    """tools/misc/benchmark_resume.py, short: both loops resume the relabelled checkpoint, each its own way."""
    proc = run_tool(['tools/misc/benchmark_resume.py', CONFIGS['mcc'][0], '--work-dir', str(tmp_path),
                     '--resume-iter', '5', '--cfg-options', f'train_dataloader.dataset.data_root={tiny_weakshapes}',
                     f'val_dataloader.dataset.data_root={tiny_weakshapes}', 'train_dataloader.batch_size=2',
                     'default_hooks.global_batch.expected=2'])
    out = proc.stdout
    assert 'resume at iteration 5 (2 images per iteration, 10 samples to skip)' in out
    assert 'Advance dataloader 5 steps' in out and 'Fast-forwarded the data stream to sample 10 (iteration 5)' in out
    assert 'ratio (replay / fast-forward)' in out
