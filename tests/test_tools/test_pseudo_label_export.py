"""tools/export_pseudo_labels.py end to end on WeakShapes, resumable, and a stock MMSeg model trained on its PNGs."""
import glob
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.integration

MCC = osp.join(REPO_ROOT, 'configs', 'mcc', 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')
SECOND_STAGE = osp.join(REPO_ROOT, 'configs', 'second_stage', 'deeplabv3plus_r18-d8_1xb8-3k_weakshapes-pseudo-96x96.py')


@pytest.fixture(scope='module')
def mcc_ckpt(tmp_path_factory):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmwsss  # noqa: F401
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('ckpt') / 'mcc_random.pth'
    torch.save({'state_dict': MODELS.build(Config.fromfile(MCC).model).state_dict(), 'meta': {}}, path)
    return str(path)


def _export(root, ckpt, out, *extra):
    return run_tool(['tools/export_pseudo_labels.py', MCC, ckpt, '--out', out, '--data-root', root, *extra]).stdout


def _check_pngs(out, n, allow_band):
    from mmwsss.datasets.class_names import voc_palette_bytes
    pngs = sorted(glob.glob(osp.join(out, '*.png')))
    assert len(pngs) == n
    values = set()
    for p in pngs:
        png = Image.open(p)
        assert png.mode == 'P' and bytes(png.getpalette()[:18]) == voc_palette_bytes()[:18]
        assert png.size == (128, 128)
        values |= set(np.unique(np.asarray(png)).tolist())
    assert values <= set(range(6)) | ({255} if allow_band else set())
    return values


@pytest.mark.timeout(600)
@pytest.mark.parametrize('refine', ['par', 'crf'])
def test_export_writes_palette_pngs_and_resumes(tiny_weakshapes, mcc_ckpt, tmp_path, refine):
    out = str(tmp_path / refine)
    log = _export(tiny_weakshapes, mcc_ckpt, out, '--refine', refine, '--workers', '2', '--eval')
    assert '32 images, 0 already exported (skipped), 32 to do' in log and '| pseudo labels |' in log
    _check_pngs(out, 32, allow_band=True)
    first = sorted(glob.glob(osp.join(out, '*.png')))[0]
    before = np.asarray(Image.open(first)).copy()
    assert '32 already exported (skipped), 0 to do' in _export(tiny_weakshapes, mcc_ckpt, out, '--refine', refine)
    os.remove(first)  # an interrupted export: exactly the missing file is redone, identically
    assert '31 already exported (skipped), 1 to do' in _export(tiny_weakshapes, mcc_ckpt, out, '--refine', refine)
    assert np.array_equal(np.asarray(Image.open(first)), before)
    assert not glob.glob(osp.join(out, '*.tmp'))


@pytest.mark.timeout(600)
def test_no_ignore_band_labels_every_pixel(tiny_weakshapes, mcc_ckpt, tmp_path):
    values = set()
    for refine in ('par', 'crf'):
        out = str(tmp_path / refine)
        _export(tiny_weakshapes, mcc_ckpt, out, '--refine', refine, '--no-ignore-band', '--workers', '0')
        values |= _check_pngs(out, 32, allow_band=False)
    assert 255 not in values


@pytest.mark.timeout(600)
def test_stock_deeplabv3plus_trains_on_exported_labels(tiny_weakshapes, mcc_ckpt, tmp_path):
    out = osp.join(tiny_weakshapes, 'pseudo_test')
    _export(tiny_weakshapes, mcc_ckpt, out)
    proc = run_tool(['tools/train.py', SECOND_STAGE, '--work-dir', str(tmp_path / 'stage2'), '--cfg-options',
                     f'train_dataloader.dataset.data_root={tiny_weakshapes}',
                     f'val_dataloader.dataset.data_root={tiny_weakshapes}',
                     'train_dataloader.dataset.data_prefix.seg_map_path=pseudo_test', 'train_dataloader.batch_size=2',
                     'train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.logger.interval=1',
                     'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                     'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False'])
    log = proc.stdout + proc.stderr
    assert re.search(r'Iter\(train\) \[2/2\].*decode\.loss_ce', log)
    assert re.search(r'Iter\(val\) \[8/8\].*mIoU: [0-9.]+', log)
    assert 'WeakSegmentor' not in open(glob.glob(str(tmp_path / 'stage2' / '*.py'))[0]).read()
