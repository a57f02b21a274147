"""tools/analysis_tools/model_zoo_report.py on fake work dirs: every number lands in its column; metafile parses."""
import json
import os
import os.path as osp

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
    _record(w, 'test_cam', '1', output='cam', split=train, metrics={'mIoU': 60.5, 'best_mIoU': 63.25, 'best_thr': 0.35})
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
    assert cells[2:] == ['60.50', '63.25 (0.35)', '55.50', '90.50 / 88.2%', '71.50', '72.25', '74.75', '0.60']
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
