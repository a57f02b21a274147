# Train WeakShapes configs on adversarial images (mmwsss/datasets/weakshapes_adversarial.py) with every loss term
# active from iteration 0, and check that no logged value and no weight is ever NaN/Inf. Prints a table per run;
# exits 1 if any run fails (the NaN guard's message is shown).
#
#   python tools/misc/stress_numerics.py configs/toco/toco_vit-tiny-p8_1xb8-700_weakshapes-96x96.py \
#       configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py \
#       --iters 500 --all-masked-views --work-dir work_dirs/stress_numerics
import argparse
import glob
import json
import math
import os.path as osp
import subprocess
import sys
import time

import torch
from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from mmwsss.compat import load_checkpoint_file  # noqa: E402
from mmwsss.datasets.weakshapes_adversarial import ADVERSARIAL_CASES, generate_adversarial_weakshapes  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='NaN/Inf stress test on adversarial WeakShapes batches')
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--iters', type=int, default=500)
    parser.add_argument('--batch-size', type=int, default=None, help="default: the config's")
    parser.add_argument('--per-case', type=int, default=4, help='images per adversarial case')
    parser.add_argument('--all-masked-views', action='store_true',
                        help='also run each config with MaskedViewContrast once more with every token masked')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='extra overrides for every run')
    return parser.parse_args()


def stress_options(config: str, iters: int, data_root: str, batch_size, all_masked: bool):
    """Every loss active from iteration 0 (segmentation, contrast and memory losses), logs at every iteration."""
    cfg = Config.fromfile(config)
    opts = [f'train_dataloader.dataset.data_root={data_root}', f'val_dataloader.dataset.data_root={data_root}',
            f'test_dataloader.dataset.data_root={data_root}', 'model.seg_start_iter=0',
            'default_hooks.logger.interval=1', 'log_processor.window_size=1',
            f'default_hooks.checkpoint.interval={iters}', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}']
    for name, aux in _aux_losses(cfg).items():
        opts.append(f'model.aux_losses.{name}.start_iter=0')
        if all_masked and aux['type'] == 'MaskedViewContrast':
            opts += [f'model.aux_losses.{name}.mask_prob=1.0', f'model.aux_losses.{name}.min_visible_blocks=0']
        if aux['type'] == 'MemoryPrototypeContrast':  # the bank fills every 5 steps from one sample on
            opts += [f'model.aux_losses.{name}.update_interval=5', f'model.aux_losses.{name}.bank.min_count=1']
    if batch_size is not None:
        opts += [f'train_dataloader.batch_size={batch_size}', f'default_hooks.global_batch.expected={batch_size}']
    return opts


def _aux_losses(cfg) -> dict:
    """The config's aux modules by term (entries set to None are dropped, as the segmentor does)."""
    return {k: v for k, v in (cfg.model.get('aux_losses') or {}).items() if v is not None}


def logged_values(work_dir):
    rows = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            rows += [json.loads(line) for line in f]
    train = [r for r in rows if 'loss' in r]
    val = [r for r in rows if 'mIoU' in r]
    return train, val


def main():
    args = parse_args()
    data_root = osp.join(args.work_dir, 'adversarial_data')
    info = generate_adversarial_weakshapes(data_root, per_case=args.per_case)
    print(f'{info["num_train"]} adversarial training images in {data_root}:')
    for case, what in ADVERSARIAL_CASES.items():
        print(f'  {case}: {what}')
    runs = [(c, False) for c in args.configs]
    if args.all_masked_views:
        runs += [(c, True) for c in args.configs
                 if any(a['type'] == 'MaskedViewContrast' for a in _aux_losses(Config.fromfile(c)).values())]
    failed = False
    report = []
    for config, all_masked in runs:
        name = osp.splitext(osp.basename(config))[0] + (' (all MCC views fully masked)' if all_masked else '')
        work_dir = osp.join(args.work_dir, osp.splitext(osp.basename(config))[0] + ('-all-masked' if all_masked else ''))
        cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
               *stress_options(config, args.iters, data_root, args.batch_size, all_masked), *args.cfg_options]
        t0 = time.time()
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        seconds = time.time() - t0
        if proc.returncode != 0:
            failed = True
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
            report.append(f'\n### {name}: FAILED after {seconds:.0f} s\n' + '\n'.join(tail))
            continue
        train, val = logged_values(work_dir)
        keys = sorted({k for r in train for k in r if k.startswith(('loss', 'decode.loss', 'grad_norm'))})
        lines = [f'\n### {name}: {len(train)} iterations in {seconds:.0f} s', '| value | iterations logged | min | max '
                 '| non-finite |', '|---|---|---|---|---|']
        bad_total = 0
        for key in keys:
            vals = [r[key] for r in train if key in r]
            bad = sum(not math.isfinite(v) for v in vals)
            bad_total += bad
            finite = [v for v in vals if math.isfinite(v)]
            lines.append(f'| {key} | {len(vals)} | {min(finite):.4g} | {max(finite):.4g} | {bad} |')
        state = load_checkpoint_file(osp.join(work_dir, f'iter_{args.iters}.pth'))['state_dict']
        bad_weights = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
        miou = val[-1]['mIoU'] if val else None
        lines.append(f'weights all finite: {not bad_weights}; val mIoU on the adversarial val images: {miou}')
        ok = len(train) == args.iters and bad_total == 0 and not bad_weights and miou is not None
        failed |= not ok
        report.append('\n'.join(lines) + ('' if ok else '\nFAILED'))
    print('\n'.join(report))
    print('\nPASS' if not failed else '\nFAIL')
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
