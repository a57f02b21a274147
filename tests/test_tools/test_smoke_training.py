"""tools/train.py, --resume, tools/test.py and tools/dist_train.sh on a stock MMSeg model, on CPU.

All children run with torch's default ``weights_only=True`` (conftest.run_tool removes TORCH_FORCE_*), so these
tests also prove that mmengine checkpoints resume and test through mmwsss's safe loader.
"""
import glob
import json
import os.path as osp

import pytest

from conftest import SMOKE_CONFIG, run_tool

pytestmark = pytest.mark.integration


def _data_options(root):
    return ['--cfg-options', f'train_dataloader.dataset.data_root={root}',
            f'val_dataloader.dataset.data_root={root}', f'test_dataloader.dataset.data_root={root}']


@pytest.mark.timeout(600)
def test_train_interrupt_resume_then_test(tiny_weakshapes, tmp_path):
    work_dir = str(tmp_path / 'work')
    data = _data_options(tiny_weakshapes)
    # First run stops after 20 of 40 iterations (as if interrupted after the first checkpoint).
    run_tool(['tools/train.py', SMOKE_CONFIG, '--work-dir', work_dir, *data, 'train_cfg.max_iters=20'])
    assert osp.isfile(osp.join(work_dir, 'iter_20.pth'))

    proc = run_tool(['tools/dist_test.sh', SMOKE_CONFIG, osp.join(work_dir, 'iter_20.pth'), '2',
                     '--work-dir', str(tmp_path / 'dist_test'), *_data_options(tiny_weakshapes)],
                    env={'PORT': '29518'})
    log = proc.stdout + proc.stderr
    assert 'Iter(test) [4/4]' in log and 'mIoU' in log
    assert not osp.exists(osp.join(work_dir, 'iter_40.pth'))

    # --resume without a value picks the latest checkpoint of the work dir.
    proc = run_tool(['tools/train.py', SMOKE_CONFIG, '--work-dir', work_dir, '--resume', *data])
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 20' in log
    assert 'Iter(train) [40/40]' in log and 'Iter(train) [10/40]' not in log
    assert osp.isfile(osp.join(work_dir, 'iter_40.pth'))

    test_dir = str(tmp_path / 'test')
    out_dir = str(tmp_path / 'preds')
    run_tool(['tools/test.py', SMOKE_CONFIG, osp.join(work_dir, 'iter_40.pth'), '--work-dir', test_dir,
              '--out', out_dir, *data])
    metrics_files = [p for p in glob.glob(osp.join(test_dir, '*', '*.json')) if not p.endswith('wsss_eval.json')]
    assert metrics_files, 'tools/test.py wrote no metrics'
    with open(metrics_files[0]) as f:
        metrics = json.load(f)
    assert 0 <= metrics['mIoU'] <= 100
    assert len(glob.glob(osp.join(out_dir, '*.png'))) == 8  # one prediction per val image

    # --tta: MMSeg's SegTTAModel over the config's tta_pipeline (3 scales x flip)
    proc = run_tool(['tools/test.py', SMOKE_CONFIG, osp.join(work_dir, 'iter_40.pth'), '--work-dir', test_dir,
                     '--tta', *data])
    assert 'mIoU' in proc.stdout + proc.stderr
    # the config (with the TTA model) is in the run's log file; the terminal shows where (WSSSRunner)
    newest_log = sorted(glob.glob(osp.join(test_dir, '*', '*.log')))[-1]
    with open(newest_log) as f:
        assert "type='SegTTAModel'" in f.read()


@pytest.mark.timeout(600)
def test_dist_train_two_cpu_processes(tiny_weakshapes, tmp_path):
    work_dir = str(tmp_path / 'dist')
    proc = run_tool(['tools/dist_train.sh', SMOKE_CONFIG, '2', '--work-dir', work_dir,
                     *_data_options(tiny_weakshapes), 'train_cfg.max_iters=20'],
                    env={'PORT': '29517'})
    log = proc.stdout + proc.stderr
    assert 'launcher pytorch, world size 2' in log  # WSSSRunner's start-up line (the dump is in the log file)
    # Each of the two ranks evaluates half of the 8 val images: the sampler really split the work.
    assert 'Iter(val) [4/4]' in log
    assert osp.isfile(osp.join(work_dir, 'iter_20.pth'))

    proc = run_tool(['tools/dist_test.sh', SMOKE_CONFIG, osp.join(work_dir, 'iter_20.pth'), '2',
                     '--work-dir', str(tmp_path / 'dist_test'), *_data_options(tiny_weakshapes)],
                    env={'PORT': '29518'})
    log = proc.stdout + proc.stderr
    assert 'Iter(test) [4/4]' in log and 'mIoU' in log


@pytest.mark.timeout(600)
def test_dist_train_mcc_weakshapes_two_cpu_processes(tiny_weakshapes, tmp_path):
    """The MCC WeakShapes config under DDP (gloo): every loss, including ones that start late, trains."""
    config = osp.join(osp.dirname(SMOKE_CONFIG), '..', 'mcc', 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')
    proc = run_tool(['tools/dist_train.sh', config, '2', '--work-dir', str(tmp_path / 'mcc'),
                     *_data_options(tiny_weakshapes), 'train_cfg.max_iters=4', 'model.seg_start_iter=2',
                     'train_dataloader.batch_size=2', 'default_hooks.logger.interval=2'],
                    env={'PORT': '29519'})
    log = proc.stdout + proc.stderr
    assert 'global batch = 2 processes x 2 images x 1 accumulated steps = 4' in log
    assert 'loss_mcc' in log and 'decode.loss_seg' in log and 'Iter(val) [4/4]' in log
    assert osp.isfile(osp.join(str(tmp_path / 'mcc'), 'iter_4.pth'))
