"""tools/visualize_cams.py: a grid PNG and one overlay per (image, labelled class)."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import REPO_ROOT, run_tool

pytestmark = pytest.mark.integration

MCC = osp.join(REPO_ROOT, 'configs', 'mcc', 'mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')


@pytest.mark.timeout(300)
def test_grid_and_per_class_overlays(tiny_weakshapes, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmwsss  # noqa: F401
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    ckpt = str(tmp_path / 'random.pth')
    torch.save({'state_dict': MODELS.build(Config.fromfile(MCC).model).state_dict(), 'meta': {}}, ckpt)
    out = tmp_path / 'cams'
    run_tool(['tools/visualize_cams.py', MCC, ckpt, '--out', str(out), '--data-root', tiny_weakshapes, '--num', '3',
              '--per-image'])
    grid = Image.open(out / 'cams.png')
    assert grid.size[0] > 300 and grid.size[1] > 3 * 150
    labels = np.load(osp.join(tiny_weakshapes, 'cls_labels_onehot.npy'), allow_pickle=True).item()
    stems = open(osp.join(tiny_weakshapes, 'ImageSets', 'Segmentation', 'val.txt')).read().split()[:3]
    expected = sum(int(labels[s].sum()) for s in stems)
    overlays = sorted(glob.glob(str(out / '*_*.png')))
    assert len(overlays) == expected
    assert all(Image.open(p).size == (128, 128) for p in overlays)
    with pytest.raises(AssertionError, match='not in'):
        run_tool(['tools/visualize_cams.py', MCC, ckpt, '--out', str(out), '--data-root', tiny_weakshapes,
                  '--stems', 'no_such_image'])
