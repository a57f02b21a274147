"""A built (non-editable) package carries configs, tools and the model index in mmwsss/.mim, where mim looks."""
import os.path as osp
import subprocess
import sys

import yaml

from conftest import REPO_ROOT


def test_build_py_packs_the_mim_folder(tmp_path):
    subprocess.run([sys.executable, 'setup.py', '-q', 'build_py', '--build-lib', str(tmp_path)], cwd=REPO_ROOT,
                   check=True, capture_output=True)
    mim = tmp_path / 'mmwsss' / '.mim'
    index = yaml.safe_load((mim / 'model-index.yml').read_text())
    assert index['Import'], 'model-index.yml imports no metafile'
    for metafile in index['Import']:  # the index's relative paths resolve inside .mim, as in the checkout
        assert osp.isfile(mim / metafile), metafile
    assert osp.isfile(mim / 'tools' / 'train.py') and osp.isfile(mim / 'configs' / 'mcc_voc.py')
    assert not list(mim.rglob('__pycache__'))
