# How long a --resume takes to reach its first trained iteration: mmengine's IterBasedTrainLoop (re-loads every
# trained batch and drops it) vs FastForwardIterBasedTrainLoop (positions the seeded sampler). Rerunnable; prints
# a table with the ratio of the two, measured in one run on this machine.
#
#   python tools/misc/benchmark_resume.py configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py \
#       --work-dir work_dirs/benchmark_resume --resume-iter 350
#
# Only the data skip is measured, so the resumed checkpoint does not have to come from resume-iter iterations of
# training: the script trains 1 iteration and relabels that checkpoint as iteration --resume-iter (iteration
# counter and data-stream position; weights, optimizer and schedulers stay those of iteration 1).
import argparse
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import time

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from mmwsss.compat import load_checkpoint_file  # noqa: E402
from mmwsss.engine import STREAM_POSITION_KEY  # noqa: E402

LOOPS = {'replay (mmengine IterBasedTrainLoop)': 'IterBasedTrainLoop',
         'fast-forward (FastForwardIterBasedTrainLoop)': 'FastForwardIterBasedTrainLoop'}


def parse_args():
    parser = argparse.ArgumentParser(description='time to the first iteration after --resume: replay vs fast-forward')
    parser.add_argument('config')
    parser.add_argument('--work-dir', required=True)
    parser.add_argument('--resume-iter', type=int, default=350, help='iteration the resumed checkpoint claims')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='extra overrides for every run')
    return parser.parse_args()


def train_cmd(args, work_dir, loop, max_iters, resume_from=None):
    options = [f'train_cfg.type={loop}', f'train_cfg.max_iters={max_iters}', f'train_cfg.val_interval={max_iters + 1}',
               'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1', *args.cfg_options]
    return [sys.executable, 'tools/train.py', args.config, '--work-dir', work_dir,
            *(['--resume', resume_from] if resume_from else []), '--cfg-options', *options]


def timed_resume(cmd, resume_iter):
    """Seconds from the 'resumed ... iter: N' log line to the first trained iteration's line, and the whole run."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    resumed = first = None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if resumed is None and f'resumed epoch: 0, iter: {resume_iter}' in line:
            resumed = time.monotonic()
        elif resumed is not None and first is None and re.search(rf'Iter\(train\) \[\s*{resume_iter + 1}/', line):
            first = time.monotonic()
    if proc.wait() != 0 or resumed is None or first is None:
        sys.exit(f'{" ".join(cmd)} failed (exit {proc.returncode}):\n{"".join(lines[-40:])}')
    skip = [ln.strip() for ln in lines if 'Fast-forwarded' in ln or 'Advance dataloader' in ln]
    return first - resumed, time.monotonic() - start, skip[0] if skip else ''


def main():
    args = parse_args()
    base = osp.join(args.work_dir, 'base')
    shutil.rmtree(args.work_dir, ignore_errors=True)
    proc = subprocess.run(train_cmd(args, base, 'FastForwardIterBasedTrainLoop', 1), cwd=REPO_ROOT,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f'training the base checkpoint failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    checkpoint = load_checkpoint_file(osp.join(base, 'iter_1.pth'))
    per_iter = checkpoint['message_hub']['runtime_info'][STREAM_POSITION_KEY]  # global batch of the config
    checkpoint['meta']['iter'] = args.resume_iter
    checkpoint['message_hub']['runtime_info'][STREAM_POSITION_KEY] = per_iter * args.resume_iter

    rows = []
    for name, loop in LOOPS.items():
        work_dir = osp.join(args.work_dir, loop)
        os.makedirs(work_dir)
        path = osp.join(work_dir, f'iter_{args.resume_iter}.pth')
        torch.save(checkpoint, path)
        to_first, total, skip_line = timed_resume(
            train_cmd(args, work_dir, loop, args.resume_iter + 1, resume_from=path), args.resume_iter)
        rows.append((name, to_first, total, skip_line.split(' - ')[-1]))

    print(f'{args.config}: resume at iteration {args.resume_iter} ({per_iter} images per iteration, '
          f'{per_iter * args.resume_iter} samples to skip)')
    print('| loop | resumed -> first iteration (s) | whole resumed run (s) | log |')
    print('|---|---|---|---|')
    for name, to_first, total, skip_line in rows:
        print(f'| {name} | {to_first:.1f} | {total:.1f} | {skip_line[:90]} |')
    print(f'ratio (replay / fast-forward), resumed -> first iteration: {rows[0][1] / rows[1][1]:.1f}x')


if __name__ == '__main__':
    main()
