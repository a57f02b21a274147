"""Numerical safety: adversarial batches never give NaN/Inf; a NaN that does arise stops training at once."""
import os.path as osp
import subprocess
import sys

import pytest
import torch

from conftest import REPO_ROOT, run_tool
from mmwsss.compat import load_checkpoint_file
from mmwsss.datasets.weakshapes_adversarial import ADVERSARIAL_CASES

pytestmark = pytest.mark.integration

MCC = 'configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'
MSFC = 'configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'


@pytest.mark.timeout(600)
def test_adversarial_batches_stay_finite(tmp_path):
    """tools/misc/stress_numerics.py, short: every adversarial case, every loss from iteration 0, all-masked MCC."""
    proc = run_tool(['tools/misc/stress_numerics.py', MCC, MSFC, '--iters', '6', '--batch-size', '4',
                     '--per-case', '1', '--all-masked-views', '--work-dir', str(tmp_path)])
    out = proc.stdout
    assert out.rstrip().endswith('PASS'), out[-3000:]
    for case in ADVERSARIAL_CASES:
        assert case in out
    assert out.count('iterations in') == 3 and '(all MCC views fully masked): 6 iterations' in out
    for term in ('loss_mcc', 'loss_ctc', 'loss_smcm', 'loss_mem', 'loss_ptc', 'decode.loss_seg'):
        assert f'| {term} | 6 |' in out, f'{term} was not active in every iteration'
    assert all(line.rstrip().endswith('| 0 |') for line in out.splitlines() if line.startswith('| ') and
               not line.startswith('| value'))


def _nan_options(root, *extra):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=2', 'model.seg_start_iter=0', 'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.interval=2', 'train_cfg.val_interval=1000', 'train_cfg.max_iters=6',
            # MCC's loss becomes NaN from iteration 3 on (0-based start 2)
            'model.aux_losses.mcc.start_iter=2', 'model.aux_losses.mcc.loss.loss_weight=nan', *extra]


def _train_into_nan(root, work, *extra, timeout, args=()):
    """Run tools/train.py on one process with the NaN injected; return the combined log, asserting it failed."""
    proc = subprocess.run([sys.executable, 'tools/train.py', MCC, '--work-dir', work, *args,
                           *_nan_options(root, 'default_hooks.global_batch.expected=2', *extra)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode != 0
    return proc.stdout + proc.stderr


def _assert_stopped_in_iteration_3_with_a_clean_checkpoint(log, work):
    assert 'Iter(train) [2/6]' in log and 'Iter(train) [3/6]' not in log
    assert not osp.exists(osp.join(work, 'iter_4.pth'))
    state = load_checkpoint_file(osp.join(work, 'iter_2.pth'))['state_dict']
    assert all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point())


@pytest.mark.timeout(600)
def test_nan_stops_training_naming_term_iteration_and_images(tiny_weakshapes, tmp_path):
    work = str(tmp_path)
    log = _train_into_nan(tiny_weakshapes, work, timeout=600)
    assert 'FloatingPointError: non-finite loss at iteration 3: loss_mcc=nan' in log
    assert 'ws_0' in log.split('FloatingPointError')[-1], 'the batch images are not named'
    _assert_stopped_in_iteration_3_with_a_clean_checkpoint(log, work)


@pytest.mark.timeout(300)
def test_nan_stops_every_ddp_rank_instead_of_hanging(tiny_weakshapes, tmp_path):
    """Only the logged values are compared across ranks, so both ranks raise in the same iteration."""
    proc = subprocess.run(['bash', 'tools/dist_train.sh', MCC, '2', '--work-dir', str(tmp_path),
                           *_nan_options(tiny_weakshapes, 'default_hooks.global_batch.expected=4')],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
                          env={**__import__('os').environ, 'PYTHON': sys.executable, 'PORT': '29561'})
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert log.count('FloatingPointError: non-finite loss at iteration 3: loss_mcc=nan') >= 2, log[-3000:]


class _SqrtAtZero(torch.nn.Module):
    """A finite loss (0) whose gradient is NaN: d sqrt(u)/du is infinite at u = 0, times du/dw = 0."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(4))
        self.b = torch.nn.Parameter(torch.ones(2))

    def forward(self):
        return torch.sqrt((self.w - self.w.detach()) ** 2).sum() + (self.b ** 2).sum()


def _one_step(wrapper_type):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    import mmwsss  # noqa: F401  (registers FiniteGradOptimWrapper)
    model = _SqrtAtZero()
    wrapper = build_optim_wrapper(model, dict(type=wrapper_type, clip_grad=dict(max_norm=1.0),
                                              optimizer=dict(type='SGD', lr=0.1)))
    with wrapper.optim_context(model):
        loss = model()
    assert torch.isfinite(loss)
    wrapper.update_params(loss)
    return model


def test_non_finite_gradient_of_a_finite_loss_stops_before_the_step():
    with pytest.raises(FloatingPointError, match=r'non-finite gradient at iteration 1 in 1 parameter tensor\(s\): '
                                                  r'w \(nan in 4 of 4\)\.') as info:
        _one_step('FiniteGradOptimWrapper')
    assert 'b (' not in str(info.value), 'a parameter with a finite gradient was named'
    # the control: mmengine's wrapper clips by max_norm / nan and writes NaN into every weight, b included
    model = _one_step('OptimWrapper')
    assert torch.isnan(model.w).all() and torch.isnan(model.b).all()


@pytest.mark.timeout(300)
def test_nan_gradient_stops_training_with_the_loss_guard_off(tiny_weakshapes, tmp_path):
    """With model.nan_guard=False the NaN loss reaches backward; the optimizer wrapper still stops it."""
    work = str(tmp_path)
    log = _train_into_nan(tiny_weakshapes, work, 'model.nan_guard=False', timeout=300)
    message = log.split('FloatingPointError: ')[-1]
    assert message.startswith('non-finite gradient at iteration 3 in '), log[-3000:]
    assert 'backbone.' in message.split('. ')[0], 'the parameters are not named'
    _assert_stopped_in_iteration_3_with_a_clean_checkpoint(log, work)


@pytest.mark.timeout(300)
def test_nan_gradient_stops_training_under_amp(tiny_weakshapes, tmp_path):
    """--amp keeps the guard: the constructor guards the AMP wrapper (bf16 autocast on this CPU: no loss scaler, so
    the first non-finite gradient stops training, as without AMP)."""
    work = str(tmp_path)
    log = _train_into_nan(tiny_weakshapes, work, 'model.nan_guard=False', timeout=300, args=['--amp'])
    assert 'FiniteGradCPUAmpOptimWrapper (AdamW)' in log, 'not the guarded AMP wrapper'
    message = log.split('FloatingPointError: ')[-1]
    assert message.startswith('non-finite gradient at iteration 3 in '), log[-3000:]
    _assert_stopped_in_iteration_3_with_a_clean_checkpoint(log, work)
