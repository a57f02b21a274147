"""Shared fixtures: a tiny WeakShapes tree generated once per session, helpers to run the tools."""
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMOKE_CONFIG = osp.join(REPO_ROOT, 'configs', 'smoke', 'fcn_r18-tiny_1xb4-40_weakshapes-96x96.py')


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
