"""The photometric augmentation of the DINO-style views used by ToCo/MCC (colour jitter, grey, blur, solarize)."""
from typing import Tuple

import numpy as np
import torchvision.transforms.functional as TF
from mmcv.transforms import BaseTransform
from PIL import Image, ImageFilter, ImageOps

from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class WSSSPhotoMetricAug(BaseTransform):
    """Colour jitter (random order), random greyscale, Gaussian blur and solarization on ``results[key]``.

    Works on the pipeline's BGR uint8 images; all randomness comes from numpy (seeded per worker by MMEngine).
    The defaults are ToCo's main view (jitter 0.4/0.4/0.2/0.1 with p 0.8, grey 0.2, blur always with radius
    U(0.1, 2)); the second global view uses ``blur_prob=0.1, solarize_prob=0.2`` and the local view
    ``blur_prob=0.5``.

    Args:
        brightness, contrast, saturation, hue (float): jitter strengths (factor ranges 1 +- s; hue +- s).
        jitter_prob (float): probability of applying the jitter. Defaults to 0.8.
        gray_prob (float): probability of greyscale. Defaults to 0.2.
        blur_prob (float): probability of Gaussian blur. Defaults to 1.0.
        blur_radius (tuple[float, float]): blur radius range (PIL radius = sigma). Defaults to (0.1, 2.0).
        solarize_prob (float): probability of solarization at threshold 128. Defaults to 0.
        key (str): the results key of the image to augment. Defaults to 'img'.

    Example:
        >>> aug = WSSSPhotoMetricAug(blur_prob=0.5, key='img')
        >>> out = aug(dict(img=np.random.randint(0, 255, (16, 16, 3), dtype=np.uint8)))
        >>> out['img'].shape, out['img'].dtype
        ((16, 16, 3), dtype('uint8'))
    """

    def __init__(self, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.2, hue: float = 0.1,
                 jitter_prob: float = 0.8, gray_prob: float = 0.2, blur_prob: float = 1.0,
                 blur_radius: Tuple[float, float] = (0.1, 2.0), solarize_prob: float = 0.0, key: str = 'img'):
        self.strengths = dict(brightness=brightness, contrast=contrast, saturation=saturation, hue=hue)
        self.jitter_prob = jitter_prob
        self.gray_prob = gray_prob
        self.blur_prob = blur_prob
        self.blur_radius = tuple(blur_radius)
        self.solarize_prob = solarize_prob
        self.key = key

    def _jitter(self, img: Image.Image) -> Image.Image:
        ops = {
            'brightness': TF.adjust_brightness,
            'contrast': TF.adjust_contrast,
            'saturation': TF.adjust_saturation,
            'hue': TF.adjust_hue,
        }
        for name in np.random.permutation(list(ops)):
            s = self.strengths[name]
            if s <= 0:
                continue
            factor = np.random.uniform(-s, s) if name == 'hue' else np.random.uniform(max(0.0, 1 - s), 1 + s)
            img = ops[name](img, float(factor))
        return img

    def augment(self, bgr: np.ndarray) -> np.ndarray:
        """Augment one BGR uint8 image and return a new BGR uint8 image."""
        img = Image.fromarray(np.ascontiguousarray(bgr[..., ::-1]))
        if np.random.rand() < self.jitter_prob:
            img = self._jitter(img)
        if np.random.rand() < self.gray_prob:
            img = img.convert('L').convert('RGB')
        if np.random.rand() < self.blur_prob:
            img = img.filter(ImageFilter.GaussianBlur(radius=float(np.random.uniform(*self.blur_radius))))
        if np.random.rand() < self.solarize_prob:
            img = ImageOps.solarize(img, threshold=128)
        return np.ascontiguousarray(np.asarray(img)[..., ::-1])

    def transform(self, results: dict) -> dict:
        results[self.key] = self.augment(results[self.key])
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}({self.strengths}, jitter_prob={self.jitter_prob}, gray_prob={self.gray_prob}'
                f', blur_prob={self.blur_prob}, solarize_prob={self.solarize_prob}, key={self.key!r})')
