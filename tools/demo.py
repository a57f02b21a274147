# `make demo`: the project's main job on a CPU.
#
# Until the WSSS methods land, this is the platform smoke run: generate WeakShapes, train a stock MMSeg FCN with
# tools/train.py (fully supervised), evaluate it with tools/test.py and save painted predictions. Every step is
# a command a user can run by hand; the demo prints each one before running it.
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/smoke/fcn_r18-tiny_1xb4-40_weakshapes-96x96.py'


def parse_args():
    parser = argparse.ArgumentParser(description='mmwsss demo (CPU)')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/weakshapes')
    parser.add_argument('--iters', type=int, default=2000)
    return parser.parse_args()


def run(cmd):
    print('\n$ ' + ' '.join(shlex.quote(c) for c in cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True)
    return time.perf_counter() - start


def main():
    args = parse_args()
    py = sys.executable
    data = [f'{k}.dataset.data_root={args.data_root}' for k in ('train_dataloader', 'val_dataloader',
                                                                 'test_dataloader')]
    t_data = run([py, 'tools/dataset_converters/make_weakshapes.py', args.data_root])
    schedule = [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                f'param_scheduler.0.end={args.iters}', f'default_hooks.checkpoint.interval={args.iters // 2}',
                'default_hooks.logger.interval=100']
    t_train = run([py, 'tools/train.py', CONFIG, '--work-dir', args.work_dir, '--cfg-options', *data, *schedule])
    ckpt = osp.join(args.work_dir, f'iter_{args.iters}.pth')
    test_dir = osp.join(args.work_dir, 'test')
    show_dir = osp.join(args.work_dir, 'vis')
    t_test = run([py, 'tools/test.py', CONFIG, ckpt, '--work-dir', test_dir, '--show-dir', show_dir,
                  '--cfg-options', *data])
    metrics_file = sorted(glob.glob(osp.join(REPO, test_dir, '*', '*.json')), key=os.path.getmtime)[-1]
    with open(metrics_file) as f:
        metrics = json.load(f)
    print('\n=== mmwsss demo summary (platform smoke: stock FCN, fully supervised, CPU) ===')
    print(f'data        {args.data_root} ({t_data:.1f} s)')
    print(f'train       {args.iters} iterations in {t_train:.0f} s -> {ckpt}')
    print(f'test        val mIoU {metrics["mIoU"]:.2f}, aAcc {metrics["aAcc"]:.2f} ({t_test:.0f} s)')
    print(f'pictures    {show_dir} (input | prediction, one PNG per val image)')


if __name__ == '__main__':
    main()
