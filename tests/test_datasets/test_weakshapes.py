"""The WeakShapes generator: deterministic, complete, consistent labels, skip when unchanged."""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image

from mmwsss.datasets.weakshapes import WEAKSHAPES_CLASSES, generate_weakshapes, render_sample


def test_render_is_deterministic_and_seed_dependent():
    a = render_sample(3, seed=0)
    b = render_sample(3, seed=0)
    c = render_sample(3, seed=1)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])


def test_tree_layout_and_labels(tiny_weakshapes):
    root = tiny_weakshapes
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt')) as f:
        train = f.read().split()
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'val.txt')) as f:
        val = f.read().split()
    assert len(train) == 32 and len(val) == 8 and not set(train) & set(val)
    labels = np.load(osp.join(root, 'cls_labels_onehot.npy'), allow_pickle=True).item()
    assert set(labels) == set(train + val)
    for stem in train + val:
        mask_img = Image.open(osp.join(root, 'SegmentationClass', stem + '.png'))
        assert mask_img.mode == 'P'
        mask = np.array(mask_img)
        present = set(np.unique(mask).tolist()) - {0, 255}
        assert present <= set(range(1, len(WEAKSHAPES_CLASSES)))
        vec = labels[stem]
        assert vec.dtype == np.float32 and vec.shape == (len(WEAKSHAPES_CLASSES) - 1, )
        # the image-level label is exactly the set of classes visible in the mask
        assert set((np.flatnonzero(vec) + 1).tolist()) == present, stem
        assert 1 <= len(present) <= 3
        assert 255 in mask  # boundary band
        img = Image.open(osp.join(root, 'JPEGImages', stem + '.jpg'))
        assert img.size == mask_img.size == (128, 128)


def test_generation_is_skipped_when_parameters_match(tiny_weakshapes):
    before = os.path.getmtime(osp.join(tiny_weakshapes, 'JPEGImages', 'ws_000000.jpg'))
    info = generate_weakshapes(tiny_weakshapes, num_train=32, num_val=8, seed=0, progress=False)
    assert info['skipped'] is True
    assert os.path.getmtime(osp.join(tiny_weakshapes, 'JPEGImages', 'ws_000000.jpg')) == before


def test_changed_parameters_regenerate(tmp_path):
    root = str(tmp_path)
    generate_weakshapes(root, num_train=2, num_val=1, seed=0, progress=False)
    info = generate_weakshapes(root, num_train=3, num_val=1, seed=0, progress=False)
    assert info['skipped'] is False and info['counts'] == {'train': 3, 'val': 1}
    with open(osp.join(root, 'weakshapes.json')) as f:
        assert json.load(f)['params']['num_train'] == 3
