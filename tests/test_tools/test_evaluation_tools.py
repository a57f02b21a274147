"""tools/test.py --ms-flip-crf (record for the report), tools/eval_cams.py, tools/export_voc_test.py, end to end."""
import glob
import json
import os.path as osp
import sys
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.integration

MCC_WEAKSHAPES = osp.join(REPO_ROOT, 'configs', 'mcc', 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')
MCC_VOC = osp.join(REPO_ROOT, 'configs', 'mcc_voc.py')
# DeiT-B shrunk to DeiT-Tiny without pretrained weights: the VOC config's data path and test settings, light enough
# for a CPU test
VOC_TINY = {'model.backbone.arch': 'deit-tiny', 'model.backbone.init_cfg': None, 'model.decode_head.in_channels': 192,
            'model.decode_head.channels': 32, 'model.aux_losses.mcc.projector.in_dims': 192}


def _random_checkpoint(config, path, options=None):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmwsss  # noqa: F401
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options or {})
    torch.manual_seed(0)
    torch.save({'state_dict': MODELS.build(cfg.model).state_dict(), 'meta': {}}, path)
    return str(path)


def _records(work_dir):
    paths = sorted(glob.glob(osp.join(work_dir, '*', 'wsss_eval.json')), key=osp.getmtime)
    return [json.load(open(p)) for p in paths]


@pytest.fixture(scope='module')
def weakshapes_ckpt(tmp_path_factory):
    return _random_checkpoint(MCC_WEAKSHAPES, tmp_path_factory.mktemp('ckpt') / 'mcc_random.pth')


def _data(root):
    return [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


@pytest.mark.timeout(300)
def test_ms_flip_crf_test_writes_the_eval_record(tiny_weakshapes, weakshapes_ckpt, tmp_path):
    work = str(tmp_path / 'msfc')
    proc = run_tool(['tools/test.py', MCC_WEAKSHAPES, weakshapes_ckpt, '--work-dir', work, '--ms-flip-crf',
                     '--crf-workers', '2', '--cfg-options', *_data(tiny_weakshapes)])
    assert 'Iter(test) [8/8]' in proc.stdout + proc.stderr
    (rec, ) = _records(work)
    assert rec['tta'] and rec['merge'] == 'max' and rec['tta_scales'] == [1.0, 1.25, 1.5]
    assert rec['crf']['type'] == 'DenseCRF' and rec['crf_workers'] == 2 and rec['output'] == 'seg'
    assert rec['num_images'] == 8 and rec['images_per_s'] > 0 and rec['split'].endswith('val.txt')
    assert 0 <= rec['metrics']['mIoU'] <= 100 and rec['metrics']['coverage'] == 100.0


@pytest.mark.timeout(300)
def test_eval_cams_sweeps_thresholds_and_scores_pseudo_labels(tiny_weakshapes, weakshapes_ckpt, tmp_path):
    proc = run_tool(['tools/eval_cams.py', MCC_WEAKSHAPES, weakshapes_ckpt, '--data-root', tiny_weakshapes,
                     '--work-dir', str(tmp_path), '--thresholds', '0.3,0.5'])
    out = proc.stdout
    assert '| 0.30' in out and '| 0.50' in out and 'best of the sweep' in out and 'PAR pseudo labels' in out
    (cam, ) = _records(str(tmp_path / 'test_cam_train'))
    (pseudo, ) = _records(str(tmp_path / 'test_pseudo_train'))
    assert cam['output'] == 'cam' and cam['num_images'] == 32 and cam['metrics']['best_thr'] in (0.3, 0.5)
    assert cam['metrics']['mIoU'] == pytest.approx(cam['metrics']['mIoU@0.50'], abs=1e-4)  # config bkg_thr 0.5
    assert pseudo['output'] == 'pseudo' and 0 < pseudo['metrics']['coverage'] <= 100
    assert pseudo['metrics']['mIoU'] <= pseudo['metrics']['mIoU_covered'] + 1e-6


@pytest.mark.timeout(300)
def test_voc_test_export_writes_palette_pngs_and_a_tarball(tmp_path):
    sys.path.insert(0, osp.join(REPO_ROOT, 'tests'))
    from fixtures.voc_tree import make_voc_tree

    from mmwsss.datasets.class_names import voc_palette_bytes
    tree = make_voc_tree(str(tmp_path / 'data'), num_train=2, num_val=2, num_aug_only=1, num_test=3,
                         with_train_aug_list=True, with_label_file=True)
    ckpt = _random_checkpoint(MCC_VOC, tmp_path / 'voc_tiny.pth', VOC_TINY)
    options = [f'{k}={v}' for k, v in VOC_TINY.items()]
    proc = run_tool(['tools/export_voc_test.py', MCC_VOC, ckpt, '--data-root', tree['voc_root'], '--out-dir',
                     str(tmp_path / 'sub'), '--ms-flip-crf', '--cfg-options', *options])
    assert 'submission tarball' in proc.stdout
    png_dir = tmp_path / 'sub' / 'results' / 'VOC2012' / 'Segmentation' / 'comp6_test_cls'
    for stem in tree['splits']['test']:
        png = Image.open(png_dir / f'{stem}.png')
        assert png.mode == 'P' and bytes(png.getpalette()[:63]) == voc_palette_bytes()[:63]
        assert png.size == tuple(reversed(tree['sizes'][stem])) and np.asarray(png).max() <= 20
    with tarfile.open(tmp_path / 'sub' / 'results.tar.gz') as tar:
        names = sorted(n for n in tar.getnames() if n.endswith('.png'))
    assert names == [f'results/VOC2012/Segmentation/comp6_test_cls/{s}.png' for s in sorted(tree['splits']['test'])]
