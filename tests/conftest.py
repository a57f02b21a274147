"""Shared fixtures: a tiny WeakShapes tree generated once per session, helpers to run the tools.

``make test`` runs the suite in two pytest-xdist workers (``-n 2 --dist loadfile``: the tests of one file stay in
one worker, so a file's fixed DDP port and module fixtures are never shared). Many tests run the tools in
subprocesses whose start (importing torch, mmcv and mmseg) keeps one core busy; two workers keep both busy. Each
worker gets its share of the cores as torch threads (1 on a 2-core machine), exported through ``OMP_NUM_THREADS``
so that the tools it starts use the same: two workers with torch's default of one thread per core would put twice
as many busy OpenMP threads as cores on the machine.
"""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMOKE_CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'fcn_r18-tiny_1xb4-40_weakshapes-96x96.py')


def pytest_configure(config):
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    if workers > 1 and 'OMP_NUM_THREADS' not in os.environ:
        threads = max(1, (os.cpu_count() or 1) // workers)
        os.environ['OMP_NUM_THREADS'] = os.environ['MKL_NUM_THREADS'] = str(threads)
        import torch
        torch.set_num_threads(threads)


@pytest.fixture(scope='session')
def tiny_weakshapes(tmp_path_factory):
    """A 32-train / 8-val WeakShapes tree (128 px), generated in about a second."""
    from mmwsss.datasets import generate_weakshapes
    root = str(tmp_path_factory.mktemp('weakshapes'))
    generate_weakshapes(root, num_train=32, num_val=8, seed=0, progress=False)
    return root


def run_tool(args, cwd=REPO_ROOT, env=None, timeout=600):
    """Run ``python <args>`` (or a shell script when args[0] ends in .sh) and return the CompletedProcess.

    The child gets torch's defaults for checkpoint loading: any variable that would relax ``weights_only`` is
    removed from its environment.
    """
    child_env = {k: v for k, v in os.environ.items() if not k.startswith('TORCH_FORCE_')}
    child_env.update(env or {})
    child_env['PYTHON'] = sys.executable
    cmd = ['bash', *args] if args[0].endswith('.sh') else [sys.executable, *args]
    proc = subprocess.run(cmd, cwd=cwd, env=child_env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} failed with {proc.returncode}:\n{proc.stdout[-4000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc
