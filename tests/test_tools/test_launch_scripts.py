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


@pytest.mark.parametrize('script', ['torchrun.sh', '../slurm_train.sh', '../slurm_test.sh'])
def test_launch_scripts_use_it(script):
    with open(osp.join(REPO_ROOT, 'tools', 'misc', script)) as f:
        text = f.read()
    assert 'misc/python.sh' in text and '"$PYTHON"' in text
