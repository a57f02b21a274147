"""DDP on 2 CPU processes (gloo) trains exactly like 1 process with the same global batch.

Reference: 1 process x 1 image x 2 accumulated steps, the repo's own recipe for a smaller GPU count (the
``1xbN-accM`` configs): the same model options, since the model counts its thresholds (segmentation start, bank
interval, teacher EMA) in optimizer steps; only ``optim_wrapper.accumulative_counts=2`` and the iteration count
change. Both see the same samples with
the same augmentations and MCC masks (:class:`~mmwsss.datasets.SeededInfiniteSampler` + per-sample generators),
both normalise PTC and the balanced CE over one image's tokens/pixels, and both average the two images'
gradients, so every logged loss term of DDP iteration ``t`` must equal the mean of the accumulated run's
iterations ``2t - 1`` and ``2t`` up to float rounding, and the memory bank must be the same on both ranks.

(Against 1 process x 2 images without accumulation the per-image terms agree too, but PTC, SMCM and the balanced
CE normalise over the process's batch as in the reference code, so those differ by design: docs/reliability.md.)
"""
import glob
import json
import os.path as osp
import re

import pytest

from conftest import run_tool
from mmwsss.compat import load_checkpoint_file

pytestmark = pytest.mark.integration

ITERS = 6
CONFIGS = {
    # (config, model options of both runs: thresholds in optimizer steps)
    'mcc': ('configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py', ['model.seg_start_iter=1']),
    # both students with every DuPL term from iteration 2 (per image, so 2 processes x 1 image = 1 x 1 x 2)
    'dupl': ('configs/dupl/dupl_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
             ['model.seg_start_iter=1', 'model.noise_filter.start_iter=1', 'model.noise_filter.min_pixels=10',
              'model.consistency.start_iter=2', 'model.dynamic_threshold.start=1', 'model.dynamic_threshold.length=4']),
    'msfc': ('configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
             ['model.seg_start_iter=1', 'model.aux_losses.mp2m.update_interval=2',
              'model.aux_losses.mp2m.bank.min_count=1']),
}


def options(root, iters, extra):
    # constant learning rate: a per-iteration schedule would give the accumulated run other LRs at its steps
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=1', 'param_scheduler=[]', 'default_hooks.logger.interval=1',
            'log_processor.window_size=1',  # each iteration's own values, not a running mean
            f'default_hooks.checkpoint.interval={iters}', 'train_cfg.val_interval=1000', f'train_cfg.max_iters={iters}',
            'randomness.deterministic=True', 'default_hooks.global_batch.expected=2', *extra]


def logged(work_dir):
    rows = {}
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row:
                    rows[row['step']] = {k: v for k, v in row.items() if 'loss' in k}  # student0.loss_cls too
    return rows


@pytest.mark.timeout(600)
@pytest.mark.parametrize('method', sorted(CONFIGS))
def test_two_processes_equal_one_process_with_accumulation(method, tiny_weakshapes, tmp_path):
    config, extra = CONFIGS[method]
    ddp_dir, acc_dir = str(tmp_path / 'ddp'), str(tmp_path / 'acc')
    proc = run_tool(['tools/dist_train.sh', config, '2', '--work-dir', ddp_dir,
                     *options(tiny_weakshapes, ITERS, extra)], env={'PORT': '29541'})
    ddp_log = proc.stdout + proc.stderr
    assert 'global batch = 2 processes x 1 images x 1 accumulated steps = 2' in ddp_log
    run_tool(['tools/train.py', config, '--work-dir', acc_dir,
              *options(tiny_weakshapes, 2 * ITERS, extra + ['optim_wrapper.accumulative_counts=2'])])

    ddp, acc = logged(ddp_dir), logged(acc_dir)
    assert sorted(ddp) == list(range(1, ITERS + 1)) and sorted(acc) == list(range(1, 2 * ITERS + 1))
    assert any(k.endswith('decode.loss_seg') for k in ddp[ITERS]) and len(ddp[ITERS]) >= 5
    worst = {}
    for t in range(1, ITERS + 1):
        assert ddp[t].keys() == acc[2 * t].keys()
        for term, value in ddp[t].items():
            expected = (acc[2 * t - 1][term] + acc[2 * t][term]) / 2
            dev = abs(value - expected) / max(abs(expected), 1e-3)
            if dev >= worst.get(t, (0.0,))[0]:
                worst[t] = (dev, term, abs(value - expected))
            # step 1: same weights, only the order of float additions differs. Later the weights differ by AdamW's
            # amplified rounding (see below), which moves the losses by ~1e-5 relative, and small terms (SMCM ~2e-3)
            # by up to 2e-6 absolute (measured: loss_smcm at MSFC step 6); the EMA bug this test found gave 1.6e-2 relative at step 3
            rel, absolute = (1e-5, 1e-7) if t == 1 else (1e-3, 1e-5)
            assert abs(value - expected) <= absolute + rel * abs(expected), (
                f'iteration {t}: {term} = {value} with 2 processes, {expected} with 1 process + accumulation '
                f'(relative deviation {dev:.2e})')
    print(f'{method}: largest relative deviation of a loss term per iteration (term, absolute deviation):',
          ', '.join(f'{t}: {d:.1e} ({term}, {a:.1e})' for t, (d, term, a) in worst.items()))

    a = load_checkpoint_file(osp.join(ddp_dir, f'iter_{ITERS}.pth'))['state_dict']
    b = load_checkpoint_file(osp.join(acc_dir, f'iter_{2 * ITERS}.pth'))['state_dict']
    weights = max(float((a[k].float() - b[k].float()).abs().max()) for k in a if a[k].is_floating_point())
    print(f'{method}: largest weight difference after {ITERS} steps: {weights:.1e}')
    # AdamW divides every gradient entry by its own running size, so float rounding in entries whose gradient is
    # ~0 becomes an update of up to lr (5e-4) of either sign; the losses above show the models stay the same
    assert weights < 5e-4, f'weights differ by up to {weights} after {ITERS} steps'
    if method == 'msfc':
        updates = re.findall(r'MemoryBankHook: [\w.]+: iter \d+: updated \d+ classes.*', ddp_log)
        assert len(updates) == ITERS // 2 and all('identical on all 2 ranks' in u for u in updates), updates
        assert 'loss_mem' in ddp[ITERS]
        assert (a['aux_losses.mp2m.bank.bank'] - b['aux_losses.mp2m.bank.bank']).abs().max() < 1e-5
