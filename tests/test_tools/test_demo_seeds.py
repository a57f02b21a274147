"""tools/demo.py --seeds without training: its `run` is replaced by a fake that writes what tools/train.py and
tools/test.py leave behind, so the orchestration (run dirs, reuse, resume after a kill, the seed tables) is tested in
a second."""
import importlib.util
import json
import os
import os.path as osp
import sys

import pytest

from conftest import REPO_ROOT

# val mIoU per (method, seed); mcc - toco = 1, 2, 3 on seeds 0, 1, 2: mean 2, interval 2 ± 4.303 / sqrt(3)
SEG = {('toco', 0): 70.0, ('toco', 1): 71.0, ('toco', 2): 72.5, ('mcc', 0): 71.0, ('mcc', 1): 73.0, ('mcc', 2): 75.5}
KEYS = ['seg_val', 'seg_val_ms', 'seg_val_ms_crf', 'cam_train', 'cam_val', 'pseudo_train']  # demo.EVALS order


class Killed(Exception):
    """The fake's SIGKILL: raised in the middle of a step, after the step's first files are written."""


class FakeTools:
    """Stands in for ``demo.run``; records ('train', run folder, resumed) and ('test', run folder, result key)."""

    def __init__(self, kill_at=None):
        self.calls, self.kill_at = [], kill_at

    def __call__(self, cmd):
        script = cmd[1]
        if script.endswith('make_weakshapes.py'):
            return 0.0
        out = cmd[cmd.index('--work-dir') + 1]
        if script == 'tools/train.py':
            seed = int(next(o for o in cmd if o.startswith('randomness.seed=')).split('=')[1])
            os.makedirs(out, exist_ok=True)
            with open(osp.join(out, 'fake_config.py'), 'w') as f:  # the config dump, as tools/train.py writes it
                f.write(f'randomness = dict(seed={seed})\n')
            with open(osp.join(out, 'last_checkpoint'), 'w') as f:  # a first checkpoint before the end
                f.write(osp.join(out, 'iter_1.pth'))
            log = osp.join(out, '20260101_000000', 'vis_data')  # the training log: s/iter 0.5 + 0.1 seed (+0.2 mcc)
            os.makedirs(log, exist_ok=True)
            with open(osp.join(log, 'scalars.json'), 'w') as f:
                seconds = 0.5 + 0.1 * seed + 0.2 * osp.basename(out).startswith('mcc')
                f.write(json.dumps(dict(step=1, loss=1.0, time=seconds)) + '\n')
            event = ('train', osp.basename(out), '--resume' in cmd)
        else:
            event = ('test', osp.basename(osp.dirname(out)), osp.basename(out)[len('test_'):])
        self.calls.append(event)
        if event == self.kill_at:
            raise Killed(event)
        if script == 'tools/train.py':
            open(osp.join(out, 'iter_2.pth'), 'w').close()
        else:
            folder = event[1]
            method, seed = (folder.split('-seed') + ['0'])[:2]
            value = SEG[method, int(seed)] + KEYS.index(event[2])  # each metric its own level, same differences
            # the sweep's keys as CAMThresholdSweepMetric writes them; train is best at 0.35 and val at 0.50, so the
            # held-out train CAM number is train's mIoU@0.50
            best_thr = 0.50 if event[2] == 'cam_val' else 0.35
            record = dict(metrics={'mIoU': value, 'best_mIoU': value + 0.5, 'best_thr': best_thr,
                                   'mIoU@0.35': value + 0.5, 'mIoU@0.50': value, 'mIoU_covered': 90.0,
                                   'coverage': 88.0})
            run_dir = osp.join(out, f'2026010{len(os.listdir(out)) if osp.isdir(out) else 0}')
            os.makedirs(run_dir)
            with open(osp.join(run_dir, 'wsss_eval.json'), 'w') as f:
                json.dump(record, f)
        return 1.0


@pytest.fixture
def demo(monkeypatch):
    spec = importlib.util.spec_from_file_location('mmwsss_demo_under_test', osp.join(REPO_ROOT, 'tools', 'demo.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, 'trivial_baselines', lambda root, split, n: {'all background': 10.0})
    monkeypatch.setattr(module, 'save_overlays', lambda config, ckpt, root, out, num: open(out, 'w').close())
    return module


def compare(demo, monkeypatch, work_dir, seeds, fake, extra=()):
    """One `tools/demo.py --methods toco mcc --seeds ...` with ``fake`` as its subprocess runner."""
    monkeypatch.setattr(demo, 'run', fake)
    monkeypatch.setattr(sys, 'argv', ['demo.py', '--work-dir', str(work_dir), '--methods', 'toco', 'mcc', '--iters',
                                      '2', '--data-root', str(work_dir / 'data'), '--seeds', *map(str, seeds), *extra])
    demo.main()
    return fake.calls


def evals(folder, keys=KEYS):
    return [('test', folder, k) for k in keys]


def test_killed_multi_seed_comparison_reruns_only_what_is_missing(demo, monkeypatch, tmp_path):
    work = tmp_path / 'cmp'
    # 1. killed while training toco seed 1 (seeds are the outer loop: seed 0 of both methods is complete)
    first = FakeTools(kill_at=('train', 'toco-seed1', False))
    with pytest.raises(Killed):
        compare(demo, monkeypatch, work, [0, 1, 2], first)
    assert first.calls == [('train', 'toco', False), *evals('toco'), ('train', 'mcc', False), *evals('mcc'),
                           ('train', 'toco-seed1', False)]
    assert not (work / 'summary.md').exists()
    # 2. the same command: toco seed 1 resumes its training; killed again in its second evaluation
    second = FakeTools(kill_at=('test', 'toco-seed1', 'seg_val_ms'))
    with pytest.raises(Killed):
        compare(demo, monkeypatch, work, [0, 1, 2], second)
    assert second.calls == [('train', 'toco-seed1', True), *evals('toco-seed1', KEYS[:2])]
    # 3. again: the finished evaluation is kept, the rest runs once
    third = FakeTools()
    compare(demo, monkeypatch, work, [0, 1, 2], third)
    assert third.calls == [*evals('toco-seed1', KEYS[1:]), ('train', 'mcc-seed1', False), *evals('mcc-seed1'),
                           ('train', 'toco-seed2', False), *evals('toco-seed2'), ('train', 'mcc-seed2', False),
                           *evals('mcc-seed2')]
    # 4. and once more: nothing left to do
    assert compare(demo, monkeypatch, work, [0, 1, 2], FakeTools()) == []

    summary = (work / 'summary.md').read_text()
    for label in [f'{m} (seed {s})' for m in ('toco', 'mcc') for s in (0, 1, 2)]:
        assert f'| {label} | ' in summary  # the per-run table keeps every run
    seed_rows = {line.split('|')[1].strip(): line for line in summary.splitlines()
                 if line.startswith(('| toco | ', '| mcc | ')) and '±' in line}
    assert set(seed_rows) == {'toco', 'mcc'}
    for line in seed_rows.values():
        cells = [c.strip() for c in line.split('|')[2:-1]]
        assert len(cells) == 9 and all(c.endswith('(3)') and '±' in c for c in cells), line
    # toco seg val: 70, 71, 72.5 -> mean 71.17, sample std 1.26
    assert seed_rows['toco'].split('|')[7].strip() == '71.17 ± 1.26 (3)'
    assert '| mcc | seg mIoU (val) | +1.00, +2.00, +3.00 | +2.00 [-0.48, +4.48] (3) | 0.074 |' in summary
    assert seed_rows['mcc'].split('|')[-2].strip() == '0.80 ± 0.10 (3)'  # s/iter 0.7, 0.8, 0.9
    assert '| mcc | s/iter (training) | +0.20, +0.20, +0.20 |' in summary


def test_one_seed_keeps_the_old_layout_and_is_seed_zero_of_more(demo, monkeypatch, tmp_path):
    work = tmp_path / 'cmp'
    calls = compare(demo, monkeypatch, work, [0], FakeTools())
    assert {c[1] for c in calls} == {'toco', 'mcc'}  # <work-dir>/<method>, as before seeds existed
    summary = (work / 'summary.md').read_text()
    assert '| toco | 73.00 | 73.50 (0.35) | 73.00 (0.50) | 75.00 |' in summary  # held out: val's 0.50
    assert '±' not in summary and 'seed' not in summary
    # a result.json of the single-seed demo names no seed; a later multi-seed comparison reuses it as seed 0
    for method in ('toco', 'mcc'):
        result = work / method / 'result.json'
        row = json.loads(result.read_text())
        del row['seed']
        result.write_text(json.dumps(row))
    calls = compare(demo, monkeypatch, work, [0, 1], FakeTools())
    assert calls == [('train', 'toco-seed1', False), *evals('toco-seed1'), ('train', 'mcc-seed1', False),
                     *evals('mcc-seed1')]
    assert '| toco | ' in (work / 'summary.md').read_text()
    # a run folder whose config dump has another seed is refused instead of being paired as the wrong seed
    (work / 'toco-seed1' / 'fake_config.py').write_text('randomness = dict(seed=5)\n')
    with pytest.raises(SystemExit, match='trained with seed 5, not 1'):
        compare(demo, monkeypatch, work, [0, 1], FakeTools())


def test_records_let_a_comparison_go_on_elsewhere(demo, monkeypatch, tmp_path):
    """--records keeps each finished run without checkpoints; a fresh work dir (another machine) reuses them."""
    work, records = tmp_path / 'cmp', tmp_path / 'records'
    calls = compare(demo, monkeypatch, work, [0, 1], FakeTools(), extra=['--records', str(records)])
    assert len(calls) == 4 * (1 + len(KEYS))
    assert sorted(os.listdir(records)) == ['mcc', 'mcc-seed1', 'toco', 'toco-seed1']
    kept = sorted(os.listdir(records / 'toco'))
    assert 'result.json' in kept and 'fake_config.py' in kept and not [k for k in kept if k.endswith('.pth')]
    assert 'last_checkpoint' not in kept and 'overlays.png' not in kept and (work / 'toco' / 'overlays.png').exists()
    assert not list((records / 'toco').glob('*/**/*.py'))  # only the run folder's own config dump
    summary = (work / 'summary.md').read_text().split('total wall time')[0]
    # another machine: no work dir, only the records, and one more seed to run
    other = tmp_path / 'elsewhere'
    calls = compare(demo, monkeypatch, other, [0, 1, 2], FakeTools(), extra=['--records', str(records)])
    assert calls == [('train', 'toco-seed2', False), *evals('toco-seed2'), ('train', 'mcc-seed2', False),
                     *evals('mcc-seed2')]
    assert sorted(os.listdir(records)) == ['mcc', 'mcc-seed1', 'mcc-seed2', 'toco', 'toco-seed1', 'toco-seed2']
    # the cost of the whole comparison counts the reused runs as they were measured: 6 runs x (1 s of training +
    # 6 evaluations of 1 s) = 42 s, not the 14 s this invocation ran
    assert 'compute time of the 6 runs (training + evaluations, as each recorded it when it ran): 0.7 min' in \
        (other / 'summary.md').read_text()
    assert compare(demo, monkeypatch, other, [0, 1], FakeTools(), extra=['--records', str(records)]) == []
    assert (other / 'summary.md').read_text().split('total wall time')[0] == summary
