"""One contract for every transform mmwsss registers: it builds from its defaults, is a pure function of the input
and the global numpy seed (what SeededInfiniteSampler sets per sample), keeps the input intact, and writes only
the documented keys of mmwsss/datasets/keys.py."""
import copy
import inspect

import numpy as np
import pytest
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from mmseg.registry import TRANSFORMS

import mmwsss  # noqa: F401
from mmwsss.datasets import keys

MMWSSS_TRANSFORMS = sorted(name for name, cls in TRANSFORMS.module_dict.items()
                           if inspect.isclass(cls) and cls.__module__.startswith('mmwsss.')
                           and issubclass(cls, BaseTransform))
# what a transform may add to the results dict, besides what MMSeg/mmcv transforms write
ALLOWED_NEW_KEYS = {keys.IMG_BOX, keys.VIEW_GLOBAL2, keys.VIEW_LOCAL, keys.VIEW_STRONG, keys.VIEW_META, 'img_shape',
                    'scale', 'scale_factor', 'keep_ratio', 'inputs', 'data_samples'}


def _results(seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
    return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2], img_path='x.jpg',
                gt_img_labels=np.array([1., 0., 1.], np.float32), seg_fields=[], sample_seed=5)


def _equal(a, b):
    if isinstance(a, BaseDataElement):  # SegDataSample, PixelData: metainfo and fields, not the object's identity
        return (type(a) is type(b) and _equal(dict(a.metainfo_items()), dict(b.metainfo_items()))
                and list(a.keys()) == list(b.keys()) and all(_equal(a.get(k), b.get(k)) for k in a.keys()))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if hasattr(a, 'numpy') and hasattr(a, 'shape'):  # tensors
        return a.shape == b.shape and bool((a == b).all())
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def test_every_pipeline_transform_is_covered():
    assert {'AddGlobalView', 'AddLocalView', 'AddStrongView', 'RandomRescale', 'RandomCropWithBox',
            'WSSSPhotoMetricAug', 'PackWeakSegInputs'} <= set(MMWSSS_TRANSFORMS)


@pytest.mark.parametrize('name', MMWSSS_TRANSFORMS)
def test_transform_contract(name):
    kwargs = dict(crop_size=(48, 48)) if name == 'RandomCropWithBox' else {}
    transform = TRANSFORMS.build(dict(type=name, **kwargs))
    assert repr(transform)
    inp = _results()
    before = copy.deepcopy(inp)
    outs = []
    for _ in range(2):
        np.random.seed(123)
        outs.append(transform(copy.deepcopy(inp)))
    assert _equal(inp, before), 'the input dict must not be modified'
    assert outs[0] is not None and _equal(outs[0], outs[1]), f'{name} is not a function of the input and the seed'
    new = set(outs[0]) - set(inp)
    assert new <= ALLOWED_NEW_KEYS, f'{name} writes undocumented keys {new - ALLOWED_NEW_KEYS}'
