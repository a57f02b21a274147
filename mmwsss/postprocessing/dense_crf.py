"""Dense-CRF post-processing of segmentation probabilities (Kraehenbuehl & Koltun 2011, via pydensecrf2).

The single-stage WSSS papers (ToCo, MCC, MSFC, DuPL, SeCo) report their best VOC/COCO numbers after a dense CRF on
the multi-scale + flip merged probabilities: unary ``-log p``, one Gaussian (position) and one bilateral (position +
colour) Potts kernel, 10 mean-field iterations. :class:`DenseCRF` is that step with every parameter in the config;
the defaults are the segmentation set of those papers (docs/evaluation.md):

====================  ============  ==============  ==============  ===============  ================
parameter set         gaussian sxy  gaussian compat  bilateral sxy  bilateral srgb   bilateral compat
====================  ============  ==============  ==============  ===============  ================
``segmentation``      1             1               121             5                4
``cam_to_label``      3             3               36              3                4
====================  ============  ==============  ==============  ===============  ================
"""
from typing import Optional

import numpy as np

from mmseg.registry import TASK_UTILS

PRESETS = {
    'segmentation': dict(gaussian_sxy=1, gaussian_compat=1, bilateral_sxy=121, bilateral_srgb=5,
                         bilateral_compat=4),
    'cam_to_label': dict(gaussian_sxy=3, gaussian_compat=3, bilateral_sxy=36, bilateral_srgb=3,
                         bilateral_compat=4),
}


@TASK_UTILS.register_module()
class DenseCRF:
    """Refine per-pixel class probabilities with a fully connected CRF.

    Args:
        gaussian_sxy (float): position std of the smoothness kernel (pixels). Defaults to 1.
        gaussian_compat (float): weight of the smoothness kernel (Potts). Defaults to 1.
        bilateral_sxy (float): position std of the appearance kernel (pixels). Defaults to 121.
        bilateral_srgb (float): colour std of the appearance kernel (0-255 units). Defaults to 5.
        bilateral_compat (float): weight of the appearance kernel (Potts). Defaults to 4.
        iterations (int): mean-field iterations. Defaults to 10.
        clip (float): probabilities are clipped to ``[clip, 1]`` before ``-log`` (pydensecrf's
            ``unary_from_softmax`` default, so that a zero probability has a finite unary). Defaults to 1e-5.

    The image is RGB uint8 (the colour distance is the same for BGR, the order only has to match nothing else).

    Example:
        >>> import numpy as np
        >>> crf = DenseCRF()                      # ToCo/MCC segmentation parameters, 10 iterations
        >>> image = np.zeros((32, 48, 3), np.uint8)
        >>> probs = np.full((3, 32, 48), 1 / 3, np.float32)
        >>> crf(image, probs).shape
        (3, 32, 48)
        >>> DenseCRF.from_preset('cam_to_label').bilateral_sxy
        36
    """

    def __init__(self, gaussian_sxy: float = 1, gaussian_compat: float = 1, bilateral_sxy: float = 121,
                 bilateral_srgb: float = 5, bilateral_compat: float = 4, iterations: int = 10,
                 clip: float = 1e-5) -> None:
        if iterations < 1:
            raise ValueError(f'DenseCRF: iterations must be >= 1, got {iterations}')
        self.gaussian_sxy = gaussian_sxy
        self.gaussian_compat = gaussian_compat
        self.bilateral_sxy = bilateral_sxy
        self.bilateral_srgb = bilateral_srgb
        self.bilateral_compat = bilateral_compat
        self.iterations = iterations
        self.clip = clip

    @classmethod
    def from_preset(cls, name: str, **overrides) -> 'DenseCRF':
        """``'segmentation'`` (1/1/121/5/4) or ``'cam_to_label'`` (ToCo's CAM tool, 3/3/36/3/4)."""
        if name not in PRESETS:
            raise KeyError(f'DenseCRF: unknown preset {name!r}; choose one of {sorted(PRESETS)}')
        return cls(**{**PRESETS[name], **overrides})

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(gaussian_sxy={self.gaussian_sxy}, gaussian_compat={self.gaussian_compat}, '
                f'bilateral_sxy={self.bilateral_sxy}, bilateral_srgb={self.bilateral_srgb}, '
                f'bilateral_compat={self.bilateral_compat}, iterations={self.iterations})')

    def __call__(self, image: np.ndarray, probs: np.ndarray, iterations: Optional[int] = None) -> np.ndarray:
        """Return the CRF marginals (C, H, W) float32 for ``image`` (H, W, 3) uint8 and ``probs`` (C, H, W)."""
        import pydensecrf.densecrf as dcrf  # imported here: only CRF users need the extension
        from pydensecrf.utils import unary_from_softmax

        probs = np.asarray(probs, dtype=np.float32)
        if probs.ndim != 3:
            raise ValueError(f'DenseCRF: probs must be (C, H, W), got shape {probs.shape}')
        num_classes, height, width = probs.shape
        image = np.asarray(image)
        if image.shape != (height, width, 3):
            raise ValueError(f'DenseCRF: image shape {image.shape} does not match probs {probs.shape} '
                             '(expected (H, W, 3) with the H, W of the probabilities)')
        crf = dcrf.DenseCRF2D(width, height, num_classes)
        crf.setUnaryEnergy(np.ascontiguousarray(unary_from_softmax(probs, clip=self.clip)))
        crf.addPairwiseGaussian(sxy=self.gaussian_sxy, compat=self.gaussian_compat)
        crf.addPairwiseBilateral(sxy=self.bilateral_sxy, srgb=self.bilateral_srgb,
                                 rgbim=np.ascontiguousarray(image, dtype=np.uint8), compat=self.bilateral_compat)
        q = crf.inference(self.iterations if iterations is None else iterations)
        return np.asarray(q, dtype=np.float32).reshape(num_classes, height, width)
