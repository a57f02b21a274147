"""The docs stay true to the tree: every module is in the architecture layout, every paper term has its file, and
nothing in the repository points to a file outside it."""
import glob
import os.path as osp
import re
import subprocess

import pytest

from conftest import REPO_ROOT

ARCHITECTURE = osp.join(REPO_ROOT, 'docs', 'architecture.md')


def _section(text: str, title: str) -> str:
    """The Markdown section whose heading contains ``title`` (up to the next heading of the same or higher level)."""
    match = re.search(rf'^(#+) [^\n]*{title}[^\n]*$', text, flags=re.M | re.I)
    assert match, f'docs/architecture.md has no "{title}" section'
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf'^#{{1,{level}}} ', rest, flags=re.M)
    return rest[:end.start()] if end else rest


MODULES = sorted(osp.relpath(p, osp.join(REPO_ROOT, 'mmwsss'))
                 for p in glob.glob(osp.join(REPO_ROOT, 'mmwsss', '**', '*.py'), recursive=True))


@pytest.mark.parametrize('module', MODULES)
def test_every_module_is_in_the_layout(module):
    layout = _section(open(ARCHITECTURE).read(), 'Layout')
    name = module if not module.endswith('__init__.py') else osp.dirname(module) + '/'
    assert module in layout or (module.endswith('__init__.py') and (name in layout or module in layout)), \
        f'mmwsss/{module} is missing from the layout section of docs/architecture.md'


TERMS = {'PTC': 'models/contrast/ptc.py', 'CTC': 'models/contrast/ctc.py', 'MCC': 'models/contrast/mcc.py',
         'TFCM': 'models/contrast/tfcm.py', 'SMCM': 'models/contrast/smcm.py', 'MP2M': 'models/contrast/mp2m.py',
         'PAR': 'models/cam/par.py', 'Pseudo labels': 'models/cam/pseudo_label.py',
         'CRF': 'postprocessing/dense_crf.py'}


@pytest.mark.parametrize('term', sorted(TERMS))
def test_paper_term_table_names_the_file(term):
    table = _section(open(ARCHITECTURE).read(), 'Paper term')
    rows = [line for line in table.splitlines() if line.startswith('|') and term.lower() in line.lower()]
    assert rows, f'no row for {term} in the paper-term table'
    assert any(TERMS[term] in row for row in rows), f'{term} row does not name {TERMS[term]}'
    assert osp.isfile(osp.join(REPO_ROOT, 'mmwsss', TERMS[term]))


def test_nothing_points_outside_the_repository():
    """Method docs are in docs/methods/; no file may cite a specification the repository does not contain."""
    proc = subprocess.run(['grep', '-rnE', r'shared/specs|spec section|spec [0-9]', 'mmwsss', 'configs',
                           'docs', 'tools', 'README.md'], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.stdout == '', proc.stdout
    for method in ('toco', 'mcc', 'msfc'):
        assert osp.isfile(osp.join(REPO_ROOT, 'docs', 'methods', f'{method}.md'))
