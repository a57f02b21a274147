"""tools/analysis_tools/training_curves.py on fake work dirs: window statistics, seeds grouped, plot, clear errors."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tools', 'analysis_tools'))
import training_curves  # noqa: E402


def _work_dir(root, name, config, values, runs=1):
    """A work dir with a config dump and `runs` logs (a resumed run has two) of mem_fg_fraction at steps 10, 20..."""
    w = osp.join(root, name)
    os.makedirs(w)
    with open(osp.join(w, f'{config}.py'), 'w') as f:
        f.write('model = dict()\n')
    steps = [10 * (i + 1) for i in range(len(values))]
    chunks = [list(zip(steps, values))[i::runs] for i in range(runs)] if runs > 1 else [list(zip(steps, values))]
    for i, chunk in enumerate(chunks):
        log = osp.join(w, f'2026010{i}_000000', 'vis_data')
        os.makedirs(log)
        with open(osp.join(log, 'scalars.json'), 'w') as f:
            for step, value in chunk:
                f.write(json.dumps(dict(iter=step, step=step, loss=1.0, mem_fg_fraction=value)) + '\n')
            f.write(json.dumps(dict(step=steps[-1], mIoU=50.0)) + '\n')  # a val record, no training values
    return w


def test_windows_and_seed_groups(tmp_path):
    a = _work_dir(tmp_path, 'msfc', 'msfc_x', [0.0, 0.0, 0.2, 0.4, 0.1, 0.3])
    b = _work_dir(tmp_path, 'msfc-seed1', 'msfc_x', [0.0, 0.1, 0.0, 0.2, 0.3, 0.5], runs=2)  # resumed: 2 logs
    c = _work_dir(tmp_path, 'other', 'other_x', [1.0, 1.0, 1.0, 1.0])
    groups = training_curves.summarise_runs([a, b, c], ['mem_fg_fraction'], windows=[0, 20, 60])
    assert list(groups) == ['msfc_x', 'other_x']
    early, late = groups['msfc_x']['mem_fg_fraction']
    assert early['window'] == (0, 20) and late['window'] == (20, 60)
    assert early['mean'] == pytest.approx([0.0, 0.05]) and early['positive'] == pytest.approx([0.0, 0.5])
    assert late['mean'] == pytest.approx([0.25, 0.25]) and late['positive'] == pytest.approx([1.0, 0.75])
    assert late['min'] == pytest.approx([0.1, 0.0]) and late['max'] == pytest.approx([0.4, 0.5])
    other_late = groups['other_x']['mem_fg_fraction'][1]
    assert other_late['mean'] == pytest.approx([1.0])  # steps 30, 40 only: 50-60 holds no record of this run
    text = training_curves.table(groups, ['mem_fg_fraction'])
    assert '| msfc_x | 21-60 | 0.250 ± 0.000 (2) | 88 ± 18 (2)% | 0.050 ± 0.071 (2) | 0.450 ± 0.071 (2) |' in text


def test_command_line_plot_and_json(tmp_path):
    a = _work_dir(tmp_path, 'msfc', 'msfc_x', [0.0, 0.2, 0.4])
    out, js = str(tmp_path / 'curves.png'), str(tmp_path / 'curves.json')
    proc = subprocess.run([sys.executable, 'tools/analysis_tools/training_curves.py', a, '--keys', 'mem_fg_fraction',
                           '--out', out, '--json', js], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert '| msfc_x | 1-30 | 0.200 (1) | 67 (1)% | 0.000 (1) | 0.400 (1) |' in proc.stdout
    assert osp.getsize(out) > 1000
    with open(js) as f:
        assert json.load(f)['msfc_x']['runs'] == [a]


def test_a_key_that_was_not_logged_names_the_work_dir_and_the_logged_keys(tmp_path):
    a = _work_dir(tmp_path, 'msfc', 'msfc_x', [0.0, 0.2])
    with pytest.raises(SystemExit, match=r'msfc: "mem_weight" is not in its training log; logged keys: .*mem_fg'):
        training_curves.summarise_runs([a], ['mem_weight'])
    with pytest.raises(SystemExit, match='increasing'):
        training_curves.main([a, '--keys', 'mem_fg_fraction', '--windows', '50', '10'])
