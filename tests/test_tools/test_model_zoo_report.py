"""tools/analysis_tools/model_zoo_report.py on fake work dirs: every number lands in its column; metafile parses."""
import json
import os
import os.path as osp
import shutil

import pytest
import yaml
from mmengine.config import Config

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.integration

MCC = osp.join(REPO_ROOT, 'configs', 'mcc', 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')


def _record(work_dir, sub, stamp, **fields):
    run_dir = osp.join(work_dir, sub, stamp)
    os.makedirs(run_dir)
    with open(osp.join(run_dir, 'wsss_eval.json'), 'w') as f:
        json.dump(dict(dict(tta=False, merge=None, crf=None, images_per_s=None, device='CPU (test)'), **fields), f)


@pytest.fixture
def work_dir(tmp_path):
    w = str(tmp_path / 'mcc')
    os.makedirs(osp.join(w, '20260101_000000', 'vis_data'))
    Config.fromfile(MCC).dump(osp.join(w, 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'))
    with open(osp.join(w, '20260101_000000', 'vis_data', 'scalars.json'), 'w') as f:
        for it, t in ((10, 0.5), (20, 0.7)):
            f.write(json.dumps(dict(iter=it, loss=1.0, time=t, memory=2048 * it / 10)) + '\n')
        f.write(json.dumps(dict(iter=20, mIoU=50.0)) + '\n')  # a val record: not a training iteration
    val, train = 'ImageSets/Segmentation/val.txt', 'ImageSets/Segmentation/train.txt'
    _record(w, 'test_seg_val', '1', output='seg', split=val, metrics=dict(mIoU=11.0), images_per_s=123.4)
    _record(w, 'test_seg_val', '2', output='seg', split=val, metrics=dict(mIoU=71.5), images_per_s=99.0)  # newest
    _record(w, 'test_ms', '1', output='seg', split=val, tta=True, merge='max', metrics=dict(mIoU=72.25))
    _record(w, 'test_ms_crf', '1', output='seg', split=val, tta=True, merge='max', crf=dict(type='DenseCRF'),
            metrics=dict(mIoU=74.75))
    _record(w, 'test_cam', '1', output='cam', split=train, metrics={'mIoU': 60.5, 'best_mIoU': 63.25, 'best_thr': 0.35,
                                                                     'mIoU@0.35': 63.25, 'mIoU@0.40': 62.0})
    # the val sweep is best at 0.40: the held-out column is the train CAMs at 0.40, not train's own best
    _record(w, 'test_cam_val', '1', output='cam', split=val, metrics={'mIoU': 58.0, 'best_mIoU': 59.0, 'best_thr': 0.4})
    _record(w, 'test_pseudo', '1', output='pseudo', split=train, metrics=dict(mIoU=55.5, mIoU_covered=90.5,
                                                                             coverage=88.25))
    return w


def test_report_puts_each_number_in_its_column(work_dir, tmp_path):
    meta = str(tmp_path / 'metafile.yaml')
    out = run_tool(['tools/analysis_tools/model_zoo_report.py', work_dir, '--metafile', meta,
                    '--out-md', str(tmp_path / 'r.md')]).stdout
    mmseg_row = next(line for line in out.splitlines() if line.startswith('| mcc | vit-tiny-p8 | 96x96'))
    cells = [c.strip() for c in mmseg_row.split('|')[1:-1]]
    assert cells[3:9] == ['700', '4.00', '99.00', 'CPU (test)', '71.50', '72.25']
    wsss_row = [line for line in out.splitlines() if line.startswith('| mcc | vit-tiny-p8 |')][1]
    cells = [c.strip() for c in wsss_row.split('|')[1:-1]]
    assert cells[2:] == ['60.50', '63.25 (0.35)', '62.00 (0.40)', '55.50', '90.50 / 88.2%', '71.50', '72.25', '74.75',
                         '0.60']
    assert 'max over scales' in out and open(tmp_path / 'r.md').read().startswith('| Method |')
    doc = yaml.safe_load(open(meta))
    (model, ) = doc['Models']
    assert doc['Collections'][0]['Name'] == 'MCC' and model['In Collection'] == 'MCC'
    assert model['Results'][0]['Metrics'] == {'mIoU': 71.5, 'mIoU(ms+flip)': 72.25, 'mIoU(ms+flip+crf)': 74.75}
    assert model['Metadata']['lr schd'] == 700 and model['Config'].endswith('mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')


def test_report_names_what_is_missing(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(AssertionError, match='no config dump'):
        run_tool(['tools/analysis_tools/model_zoo_report.py', str(empty)])
    Config.fromfile(MCC).dump(str(empty / 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'))
    with pytest.raises(AssertionError, match='no evaluation records'):
        run_tool(['tools/analysis_tools/model_zoo_report.py', str(empty)])


TOCO = osp.join(REPO_ROOT, 'configs', 'toco', 'toco_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')
# val mIoU per (method, seed); mcc - toco = 1, 2, 3: mean 2, interval 2 ± 4.303 / sqrt(3) = [-0.48, 4.48]
SEEDED = {('toco', 0): 70.0, ('toco', 1): 71.0, ('toco', 2): 72.5, ('mcc', 0): 71.0, ('mcc', 1): 73.0, ('mcc', 2): 75.5}


def _seed_work_dirs(root):
    """tools/demo.py --seeds 0 1 2 folders (<method>, <method>-seed<S>), each with its seed in the config dump."""
    dirs = {}
    val, train = 'ImageSets/Segmentation/val.txt', 'ImageSets/Segmentation/train.txt'
    for method, config in (('toco', TOCO), ('mcc', MCC)):
        cfg = Config.fromfile(config)
        for seed in (0, 1, 2):
            w = osp.join(root, method if seed == 0 else f'{method}-seed{seed}')
            os.makedirs(w)
            cfg.randomness = dict(seed=seed)
            cfg.dump(osp.join(w, osp.basename(config)))
            seg = SEEDED[method, seed]
            _record(w, 'test_seg_val', '1', output='seg', split=val, metrics=dict(mIoU=seg))
            _record(w, 'test_ms', '1', output='seg', split=val, tta=True, merge='max', metrics=dict(mIoU=seg + 3))
            _record(w, 'test_cam', '1', output='cam', split=train,
                    metrics={'mIoU': seg + 5, 'best_mIoU': seg + 6, 'best_thr': 0.3 + 0.05 * seed})
            dirs[method, seed] = w
    return dirs


def test_report_groups_seeds_and_compares_with_the_baseline(tmp_path):
    dirs = _seed_work_dirs(str(tmp_path / 'cmp'))
    meta = str(tmp_path / 'metafile.yaml')
    order = [dirs['mcc', 2], dirs['toco', 0], dirs['mcc', 0], dirs['toco', 2], dirs['mcc', 1], dirs['toco', 1]]
    out = run_tool(['tools/analysis_tools/model_zoo_report.py', *order, '--baseline', 'toco', '--metafile',
                    meta]).stdout
    lines = out.splitlines()
    rows = {m: [line for line in lines if line.startswith(f'| {m} | vit-tiny-p8 |')] for m in ('toco', 'mcc')}
    assert [len(r) for r in rows.values()] == [2, 2], out  # one row per config (MMSeg table, WSSS table)
    cells = [c.strip() for c in rows['toco'][0].split('|')[1:-1]]
    # toco val mIoU 70, 71, 72.5: mean 71.17, sample std 1.26
    assert cells[7:9] == ['71.17 ± 1.26 (3)', '74.17 ± 1.26 (3)']
    cells = [c.strip() for c in rows['mcc'][1].split('|')[1:-1]]
    assert cells[2:4] == ['78.17 ± 2.25 (3)', '79.17 ± 2.25 (3) (0.30/0.35/0.40)'] and cells[7] == '73.17 ± 2.25 (3)'
    assert cells[4] == '-'  # no val CAM sweep among these records: no held-out threshold
    (diff, ) = [line for line in lines if line.startswith('| mcc | toco |')]
    cells = [c.strip() for c in diff.split('|')[1:-1]]
    assert cells[2:5] == ['0, 1, 2', '+2.00 [-0.48, +4.48] (3), p 0.074', '+2.00 [-0.48, +4.48] (3), p 0.074']
    assert cells[5] == '-'  # no MS+flip+CRF records: nothing to compare
    doc = yaml.safe_load(open(meta))
    models = {m['Name'].split('_')[0]: m for m in doc['Models']}
    assert set(models) == {'toco', 'mcc'}
    # the baseline comparison lands in the metafile too: mcc - toco is 1, 2, 3 on seeds 0, 1, 2 (see the table above)
    assert models['mcc']['Results'][0]['Metrics'] == {
        'mIoU': 73.17, 'mIoU std': 2.25, 'mIoU(ms+flip)': 76.17, 'mIoU(ms+flip) std': 2.25,
        'mIoU minus toco': 2.0, 'mIoU minus toco 95% low': -0.48, 'mIoU minus toco 95% high': 4.48,
        'mIoU minus toco p': 0.0742, 'mIoU(ms+flip) minus toco': 2.0, 'mIoU(ms+flip) minus toco 95% low': -0.48,
        'mIoU(ms+flip) minus toco 95% high': 4.48, 'mIoU(ms+flip) minus toco p': 0.0742}
    assert not any('minus' in k for k in models['toco']['Results'][0]['Metrics'])  # the baseline itself
    assert models['mcc']['Metadata']['Seeds'] == [0, 1, 2]


def test_report_refuses_two_work_dirs_of_one_seed(tmp_path):
    dirs = _seed_work_dirs(str(tmp_path / 'cmp'))
    shutil.copytree(dirs['toco', 1], str(tmp_path / 'toco-again'))
    with pytest.raises(AssertionError, match='seed 1 in several work dirs'):
        run_tool(['tools/analysis_tools/model_zoo_report.py', dirs['toco', 0], dirs['toco', 1],
                  str(tmp_path / 'toco-again')])


def test_update_readme_fills_only_the_named_block(tmp_path):
    """--update-readme writes between its markers; --block NAME a second table, the rest of the README untouched."""
    dirs = _seed_work_dirs(str(tmp_path / 'cmp'))
    readme = tmp_path / 'README.md'
    readme.write_text('# Method\n<!-- model-zoo:begin -->\nold main table\n<!-- model-zoo:end -->\nhand-written\n'
                      '<!-- model-zoo:ablation:begin -->\nold ablation\n<!-- model-zoo:ablation:end -->\nend\n')
    run_tool(['tools/analysis_tools/model_zoo_report.py', *dirs.values(), '--baseline', 'mcc',
              '--update-readme', str(readme), '--block', 'ablation'])
    doc = readme.read_text()
    main, ablation = doc.split('<!-- model-zoo:ablation:begin -->')
    assert main == '# Method\n<!-- model-zoo:begin -->\nold main table\n<!-- model-zoo:end -->\nhand-written\n'
    assert 'old ablation' not in ablation and ablation.endswith('<!-- model-zoo:ablation:end -->\nend\n')
    assert '| toco | mcc | 0, 1, 2 | -2.00 [-4.48, +0.48] (3), p 0.074 |' in ablation  # the sign follows the baseline
    assert '--block ablation' in ablation  # the command that made it
    with pytest.raises(AssertionError, match='no <!-- model-zoo:other:begin --> ... <!-- model-zoo:other:end -->'):
        run_tool(['tools/analysis_tools/model_zoo_report.py', *dirs.values(), '--update-readme', str(readme),
                  '--block', 'other'])
