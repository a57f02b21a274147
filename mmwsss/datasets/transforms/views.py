"""Extra views for the contrastive losses, with their geometry recorded in ``results['view_meta']``.

Pipeline order used by the ToCo/MCC/MSFC configs (docs/methods/toco.md, backbone and input)::

    LoadImageFromFile -> AddGlobalView (from the original image) -> RandomRescale -> RandomFlip
    -> RandomCropWithBox -> AddLocalView (from the crop) -> WSSSPhotoMetricAug (main view) -> PackWeakSegInputs

``view_meta['global2'] = dict(box=(top, left, h, w) in original-image pixels, flip=bool)`` and
``view_meta['local'] = dict(flip=bool)``: the local view is the main crop itself (same pixels, same ``img_box``),
flipped only if ``flip`` is True, so a loss that maps the main view's CAM onto it flips the CAM exactly then.
(The reference flips the local view independently of the ROI map it pairs with it.)
"""
import math
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

from ..keys import VIEW_GLOBAL2, VIEW_LOCAL, VIEW_META
from .photometric import WSSSPhotoMetricAug


def _view_meta(results: dict) -> dict:
    return results.setdefault(VIEW_META, {})


@TRANSFORMS.register_module()
class AddGlobalView(BaseTransform):
    """A second global view: RandomResizedCrop of the current (original) image, flip and its own photometric aug.

    Stored as ``results['img_global2']`` (:data:`~mmwsss.datasets.keys.VIEW_GLOBAL2`; BGR uint8, ``size`` x
    ``size``).

    Args:
        size (int): output side. Defaults to 448.
        scale (tuple[float, float]): area fraction range of the crop. Defaults to (0.4, 1.0).
        ratio (tuple[float, float]): aspect-ratio range. Defaults to (3/4, 4/3).
        flip_prob (float): horizontal flip probability. Defaults to 0.5.
        aug (dict, optional): :class:`WSSSPhotoMetricAug` arguments. Defaults to the reference's second view
            (blur 0.1, solarize 0.2).
    """

    def __init__(self, size: int = 448, scale: Tuple[float, float] = (0.4, 1.0),
                 ratio: Tuple[float, float] = (3 / 4, 4 / 3), flip_prob: float = 0.5, aug: Optional[dict] = None) -> None:
        self.size = size
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.flip_prob = flip_prob
        self.aug = WSSSPhotoMetricAug(**(aug if aug is not None else dict(blur_prob=0.1, solarize_prob=0.2)))

    def _crop_box(self, h: int, w: int) -> Tuple[int, int, int, int]:
        """(top, left, height, width) as torchvision's RandomResizedCrop draws it, with numpy randomness."""
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            cw = int(round(math.sqrt(target * aspect)))
            chh = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < chh <= h:
                return np.random.randint(0, h - chh + 1), np.random.randint(0, w - cw + 1), chh, cw
        # fallback: central crop with the aspect clamped into range (as torchvision does)
        in_ratio = w / h
        if in_ratio < self.ratio[0]:
            cw, chh = w, int(round(w / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            chh, cw = h, int(round(h * self.ratio[1]))
        else:
            cw, chh = w, h
        return (h - chh) // 2, (w - cw) // 2, chh, cw

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, h, w = self._crop_box(*img.shape[:2])
        view = mmcv.imresize(img[top:top + h, left:left + w], (self.size, self.size), interpolation='bicubic')
        flip = bool(np.random.rand() < self.flip_prob)
        if flip:
            view = mmcv.imflip(view, 'horizontal')
        results[VIEW_GLOBAL2] = self.aug.augment(view)
        _view_meta(results)['global2'] = dict(box=(int(top), int(left), int(h), int(w)), flip=flip)
        return results


@TRANSFORMS.register_module()
class AddLocalView(BaseTransform):
    """The local view: a copy of the current crop with an independent photometric aug (and a recorded flip).

    Must come after the crop and before the main view's photometric aug. ToCo cuts its 96 px local crops from
    this view; MCC masks it.

    Args:
        flip_prob (float): probability of a horizontal flip, recorded in ``view_meta['local']['flip']``.
            Defaults to 0.5.
        aug (dict, optional): :class:`WSSSPhotoMetricAug` arguments. Defaults to the reference's local view
            (blur 0.5).
    """

    def __init__(self, flip_prob: float = 0.5, aug: Optional[dict] = None) -> None:
        self.flip_prob = flip_prob
        self.aug = WSSSPhotoMetricAug(**(aug if aug is not None else dict(blur_prob=0.5)))

    def transform(self, results: dict) -> dict:
        view = results['img']
        flip = bool(np.random.rand() < self.flip_prob)
        if flip:
            view = mmcv.imflip(view, 'horizontal')
        results[VIEW_LOCAL] = self.aug.augment(view)
        _view_meta(results)['local'] = dict(flip=flip)
        return results
