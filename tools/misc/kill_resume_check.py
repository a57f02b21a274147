# Kill a training with SIGKILL (during a checkpoint save and between checkpoints), resume it with --resume, and
# check that the result equals an uninterrupted run. Rerunnable; prints a table and exits 1 on any difference.
#
#   python tools/misc/kill_resume_check.py configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py \
#       --work-dir work_dirs/kill_check --iters 12 --checkpoint-interval 4
import argparse
import glob
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import time

import torch

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

from mmwsss.compat import load_checkpoint_file  # noqa: E402
from mmwsss.engine.checkpoint_io import is_complete_checkpoint  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='SIGKILL + --resume equals an uninterrupted run')
    parser.add_argument('config')
    parser.add_argument('--work-dir', required=True, help='holds straight/ (reference) and killed/ (interrupted)')
    parser.add_argument('--iters', type=int, default=12, help='training iterations of both runs')
    parser.add_argument('--checkpoint-interval', type=int, default=4)
    parser.add_argument('--kill-between', type=int, default=None,
                        help='second kill after this iteration (default: checkpoint-interval * 2 + 1)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='extra overrides for both runs')
    return parser.parse_args()


def train_cmd(args, work_dir, resume=False):
    options = [f'train_cfg.max_iters={args.iters}', f'default_hooks.checkpoint.interval={args.checkpoint_interval}',
               'default_hooks.checkpoint.max_keep_ckpts=-1', 'default_hooks.logger.interval=1',
               f'train_cfg.val_interval={args.iters + 1}', 'randomness.deterministic=True', *args.cfg_options]
    return [sys.executable, 'tools/train.py', args.config, '--work-dir', work_dir,
            *(['--resume'] if resume else []), '--cfg-options', *options]


def run(cmd):
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f'{" ".join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}')
    return proc.stdout + proc.stderr


def run_and_kill(cmd, pattern: str, wait_for_temp_in=None):
    """Start ``cmd`` in its own process group; SIGKILL the whole group the moment a log line matches.

    With ``wait_for_temp_in``, after the match poll that directory and kill as soon as a checkpoint temp file
    (``*.tmp-<pid>``) exists, i.e. in the middle of writing it (or when the write already finished: reported).
    """
    proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    for line in proc.stdout:
        if re.search(pattern, line):
            note = ''
            if wait_for_temp_in is not None:
                deadline, before = time.time() + 30, set(glob.glob(osp.join(wait_for_temp_in, '*.pth')))
                while time.time() < deadline:
                    if glob.glob(osp.join(wait_for_temp_in, '*.tmp-*')):
                        note = ' (killed while the temp file was being written)'
                        break
                    if set(glob.glob(osp.join(wait_for_temp_in, '*.pth'))) - before:
                        note = ' (the write finished before the kill)'
                        break
                    time.sleep(0.0005)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return line.strip() + note
    proc.wait()
    sys.exit(f'the run ended (exit {proc.returncode}) before a line matched {pattern!r}')


def checkpoint_files(work_dir):
    done = sorted(glob.glob(osp.join(work_dir, '*.pth')))
    partial = sorted(glob.glob(osp.join(work_dir, '*.tmp-*')))
    return done, partial


def differing(a, b, prefix=''):
    if isinstance(a, dict):
        out = [] if a.keys() == b.keys() else [f'{prefix}: keys differ']
        for k in a.keys() & b.keys():
            out += differing(a[k], b[k], f'{prefix}.{k}')
        return out
    if isinstance(a, (list, tuple)):
        out = [] if len(a) == len(b) else [f'{prefix}: lengths differ']
        for i, (x, y) in enumerate(zip(a, b)):
            out += differing(x, y, f'{prefix}[{i}]')
        return out
    same = torch.equal(a, b) if torch.is_tensor(a) else a == b
    return [] if same else [prefix]


def main():
    args = parse_args()
    kill_between = args.kill_between or 2 * args.checkpoint_interval + 1
    straight, killed = osp.join(args.work_dir, 'straight'), osp.join(args.work_dir, 'killed')
    for d in (straight, killed):
        shutil.rmtree(d, ignore_errors=True)
    rows = []

    t0 = time.time()
    run(train_cmd(args, straight))
    rows.append(('uninterrupted run', f'{args.iters} iterations, {time.time() - t0:.0f} s', 'ok'))

    # 1) kill as soon as the checkpoint save of the first interval is announced: the file is being written
    line = run_and_kill(train_cmd(args, killed), rf'Saving checkpoint at {args.checkpoint_interval} iterations',
                        wait_for_temp_in=killed)
    done, partial = checkpoint_files(killed)
    complete = all(is_complete_checkpoint(p) for p in done)
    rows.append(('SIGKILL during the first checkpoint save', line[line.find('Saving'):],
                 f'complete: {[osp.basename(p) for p in done] or "none"}; partial temp files: '
                 f'{[osp.basename(p) for p in partial] or "none"}; every *.pth loads: {complete}'))
    ok = complete
    stale = set(partial)  # left in place: the resume must ignore them

    # 2) resume, and kill again between two checkpoints
    line = run_and_kill(train_cmd(args, killed, resume=True), rf'Iter\(train\) \[\s*{kill_between}/')
    done, partial = checkpoint_files(killed)
    partial = [p for p in partial if p not in stale]
    complete = all(is_complete_checkpoint(p) for p in done)
    ok &= complete and not partial
    rows.append((f'--resume, SIGKILL after iteration {kill_between}', line[line.find('Iter'):][:40],
                 f'complete: {[osp.basename(p) for p in done]}; new partial files: {partial or "none"}; '
                 f'every *.pth loads: {complete}'))

    # 3) resume to the end
    log = run(train_cmd(args, killed, resume=True))
    resumed_from = re.search(r'--resume: continuing from (\S+)', log)
    rows.append(('--resume to the end', resumed_from.group(0) if resumed_from else 'no checkpoint found', 'ok'))

    final = f'iter_{args.iters}.pth'
    a, b = load_checkpoint_file(osp.join(straight, final)), load_checkpoint_file(osp.join(killed, final))
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'memory_bank_window'):
        if key not in a and key not in b:
            continue
        diff = differing(a.get(key), b.get(key))
        ok &= not diff
        rows.append((f'final {key} equals the uninterrupted run', f'{final}',
                     'bit for bit' if not diff else f'DIFFERS: {diff[:5]}'))

    print(f'\n{args.config}: {args.iters} iterations, checkpoint every {args.checkpoint_interval}')
    print('| step | detail | result |\n|---|---|---|')
    for row in rows:
        print('| ' + ' | '.join(map(str, row)) + ' |')
    print('PASS' if ok else 'FAIL')
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
