"""mmwsss: weakly-supervised semantic segmentation (ToCo, MCC, MSFC) as an MMSegmentation 1.x plugin."""
import os.path as osp
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


def read_version():
    with open(osp.join(HERE, 'mmwsss', 'version.py'), encoding='utf-8') as f:
        return re.search(r"__version__ = '([^']+)'", f.read()).group(1)


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt without comments."""
    with open(osp.join(HERE, 'requirements', name), encoding='utf-8') as f:
        lines = (line.split('#', 1)[0].strip() for line in f)
        return [line for line in lines if line]


class BuildPyWithMim(build_py):
    """Also copy configs/, tools/ and model-index.yml into ``mmwsss/.mim`` of a built (non-editable) package.

    That folder is where OpenMMLab's ``mim`` looks (as for mmseg): ``mim search mmwsss`` reads the model index, ``mim
    train mmwsss CONFIG`` runs the packaged tools/train.py. An editable install (``make install``) has no such folder;
    there, run the tools from the checkout or use ``mim train mmsegmentation CONFIG``.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = osp.join(self.build_lib, 'mmwsss', '.mim')
        for name in ('configs', 'tools', 'model-index.yml'):
            src, dst = osp.join(HERE, name), osp.join(target, name)
            if osp.isdir(src):
                shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            elif osp.isfile(src):
                shutil.copy2(src, dst)


setup(
    name='mmwsss',
    version=read_version(),
    description='Weakly-supervised semantic segmentation (ToCo, MCC, MSFC) for MMSegmentation 1.x',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmwsss', 'mmwsss.*']),
    python_requires='>=3.9',
    # torch/torchvision and the full mmcv (compiled ops) are declared here too; `make install` installs them
    # first because mmcv must be built or picked against the installed torch (tools/misc/install_mmcv.sh).
    install_requires=['torch>=2.4', 'torchvision', 'mmcv>=2.1.0,<2.2.0'] + read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    include_package_data=True,
    zip_safe=False,
    cmdclass={'build_py': BuildPyWithMim},
)
