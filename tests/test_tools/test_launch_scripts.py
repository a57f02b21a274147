"""tools/misc/python.sh: which interpreter the launch scripts (dist_train/dist_test via torchrun.sh, slurm_*) run."""
import os
import os.path as osp
import shutil
import subprocess

import pytest

from conftest import REPO_ROOT


def _resolve(repo, python=None):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHON'}
    if python:
        env['PYTHON'] = python
    proc = subprocess.run(['bash', '-c', f'source {repo}/tools/misc/python.sh; echo "$PYTHON"'], env=env,
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip(), proc.stderr


@pytest.fixture
def repo(tmp_path):
    os.makedirs(tmp_path / 'tools' / 'misc')
    shutil.copy(osp.join(REPO_ROOT, 'tools', 'misc', 'python.sh'), tmp_path / 'tools' / 'misc')
    return tmp_path


def test_python_on_path_without_a_venv(repo):
    chosen, said = _resolve(repo)
    assert chosen == 'python' and 'using python' in said


def test_the_project_venv_when_it_exists(repo):
    venv_python = repo / '.venv' / 'bin' / 'python'
    os.makedirs(venv_python.parent)
    venv_python.write_text('#!/bin/sh\n')
    venv_python.chmod(0o755)
    chosen, said = _resolve(repo)
    assert chosen == str(venv_python) and f'using {venv_python}' in said


def test_python_variable_wins(repo):
    os.makedirs(repo / '.venv' / 'bin')
    chosen, _ = _resolve(repo, python='/opt/other/python')
    assert chosen == '/opt/other/python'


@pytest.mark.parametrize('script', ['torchrun.sh', 'srun.sh'])
def test_launch_scripts_use_it(script):
    with open(osp.join(REPO_ROOT, 'tools', 'misc', script)) as f:
        text = f.read()
    assert 'misc/python.sh' in text and '"$PYTHON"' in text


@pytest.mark.parametrize('script,target', [('slurm_train.sh', 'train.py'), ('slurm_test.sh', 'test.py'),
                                           ('dist_train.sh', 'train.py'), ('dist_test.sh', 'test.py')])
def test_launchers_go_through_the_shared_scripts(script, target):
    with open(osp.join(REPO_ROOT, 'tools', script)) as f:
        text = f.read()
    assert ('misc/srun.sh' in text or 'misc/torchrun.sh' in text) and target in text


def test_slurm_launch_passes_the_arguments(tmp_path):
    """The srun command line srun.sh builds (srun itself replaced by `echo`, there is no Slurm here): partition, job,
    interpreter, script and arguments."""
    fake = tmp_path / 'srun'
    fake.write_text('#!/bin/sh\necho "$@"\n')
    fake.chmod(0o755)
    env = dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}', PYTHON='/opt/py', GPUS='2')
    proc = subprocess.run(['bash', osp.join(REPO_ROOT, 'tools', 'slurm_test.sh'), 'part', 'job', 'cfg.py', 'ck.pth',
                           '--tta'], env=env, capture_output=True, text=True, check=True)
    out = proc.stdout.strip()
    assert out.startswith('-p part --job-name=job') and '--ntasks=2' in out
    assert out.endswith(f'/opt/py -u {REPO_ROOT}/tools/test.py cfg.py ck.pth --tta --launcher=slurm')
