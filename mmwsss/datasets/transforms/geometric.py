"""Geometric transforms of the single-stage WSSS recipes (docs/methods/toco.md): rescale, crop with a valid box."""
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmseg.registry import TRANSFORMS

from ..keys import IMG_BOX


@TRANSFORMS.register_module()
class RandomRescale(BaseTransform):
    """Rescale the image (and any GT map) by a ratio drawn uniformly from ``ratio_range``, keeping its aspect.

    Unlike MMSeg's ``RandomResize`` the ratio is relative to the image's own size (ToCo: U(0.5, 2.0)).

    Args:
        ratio_range (tuple[float, float]): the ratio's range. Defaults to (0.5, 2.0).
        interpolation (str): image interpolation. Defaults to 'bilinear'. GT maps use nearest.

    Example:
        >>> t = RandomRescale((0.5, 2.0))
        >>> out = t(dict(img=np.zeros((100, 80, 3), np.uint8), seg_fields=[]))
        >>> 50 <= out['img'].shape[0] <= 200
        True
    """

    def __init__(self, ratio_range: Tuple[float, float] = (0.5, 2.0), interpolation: str = 'bilinear') -> None:
        if not 0 < ratio_range[0] <= ratio_range[1]:
            raise ValueError(f'ratio_range must be 0 < low <= high, got {ratio_range}')
        self.ratio_range = tuple(ratio_range)
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        ratio = float(np.random.uniform(*self.ratio_range))
        h, w = results['img'].shape[:2]
        size = (max(1, int(round(w * ratio))), max(1, int(round(h * ratio))))  # (w, h) for mmcv
        results['img'] = mmcv.imresize(results['img'], size, interpolation=self.interpolation)
        for key in results.get('seg_fields', []):
            results[key] = mmcv.imresize(results[key], size, interpolation='nearest')
        results['img_shape'] = results['img'].shape[:2]
        results['scale_factor'] = (size[0] / w, size[1] / h)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ratio_range={self.ratio_range}, interpolation={self.interpolation!r})'


@TRANSFORMS.register_module()
class RandomCropWithBox(BaseTransform):
    """Random crop of a fixed size that pads small images at a random offset and records the valid region.

    The image is placed at a random offset on a canvas of at least ``crop_size`` (filled with ``pad_val``), then a
    random ``crop_size`` window is cut. ``results['img_box'] = (top, bottom, left, right)`` is the part of the crop
    that holds image pixels (bottom/right exclusive, in crop pixels); losses and pseudo labels ignore the rest.
    GT maps (``seg_fields``) are padded with ``seg_pad_val``.

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop. Defaults to 448.
        pad_val (int | sequence): image padding value, per channel in the image's channel order. The default is
            the ImageNet mean in BGR, so padding normalises to about 0, as the reference pads normalised images
            with zeros.
        seg_pad_val (int): GT padding value. Defaults to 255 (ignored).

    Example:
        >>> out = RandomCropWithBox(8)(dict(img=np.ones((4, 20, 3), np.uint8), seg_fields=[]))
        >>> out['img'].shape, out['img_box'][1] - out['img_box'][0]
        ((8, 8, 3), 4)
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]] = 448,
                 pad_val: Union[int, Sequence[int]] = (104, 116, 124), seg_pad_val: int = 255) -> None:
        self.crop_size = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def _place(self, arr: np.ndarray, canvas_hw, offset, fill) -> np.ndarray:
        canvas = np.empty(canvas_hw + arr.shape[2:], dtype=arr.dtype)
        canvas[...] = np.asarray(fill, dtype=arr.dtype)
        canvas[offset[0]:offset[0] + arr.shape[0], offset[1]:offset[1] + arr.shape[1]] = arr
        return canvas

    def transform(self, results: dict) -> dict:
        ch, cw = self.crop_size
        h, w = results['img'].shape[:2]
        pad_h, pad_w = max(ch - h, 0), max(cw - w, 0)
        off = (np.random.randint(0, pad_h + 1), np.random.randint(0, pad_w + 1))
        canvas_hw = (h + pad_h, w + pad_w)
        y0 = np.random.randint(0, canvas_hw[0] - ch + 1)
        x0 = np.random.randint(0, canvas_hw[1] - cw + 1)

        def crop(arr, fill):
            if pad_h or pad_w:
                arr = self._place(arr, canvas_hw, off, fill)
            return arr[y0:y0 + ch, x0:x0 + cw]

        results['img'] = np.ascontiguousarray(crop(results['img'], self.pad_val))
        for key in results.get('seg_fields', []):
            results[key] = np.ascontiguousarray(crop(results[key], self.seg_pad_val))
        top, left = max(off[0] - y0, 0), max(off[1] - x0, 0)
        bottom, right = min(off[0] + h - y0, ch), min(off[1] + w - x0, cw)
        results[IMG_BOX] = (int(top), int(bottom), int(left), int(right))
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size}, pad_val={self.pad_val})'
