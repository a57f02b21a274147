"""The strong view of DuPL's consistency loss: the main crop after a colour-only RandAugment, always flipped.

Pipeline order (the view is made from the very pixels of the main input, so it comes last before packing)::

    ... -> RandomCropWithBox -> WSSSPhotoMetricAug (main view) -> AddStrongView -> PackWeakSegInputs

``view_meta['strong'] = dict(flip=bool, scale=1.0)``: the view has the crop's size and is mirrored exactly when
``flip`` is True, so the model flips the student's prediction on it back before comparing it with the pseudo-label
of the main view. Any resizing of the view (DuPL feeds it at 0.75 of the crop) is the model's, not recorded here.
"""
from typing import List

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.datasets.transforms import RandAugment

from mmseg.registry import TRANSFORMS

from ..keys import VIEW_META, VIEW_STRONG

# The seven colour operations and their level -> magnitude ranges for mmpretrain's ops, which compute
# ``magnitude = level / total_level * (high - low) + low``. The enhance ops apply ``factor = 1 + magnitude``, so
# (-0.9, 0.9) is the usual factor range 0.1-1.9 and level 10 of 30 gives -0.3, factor 0.7 (exactly, in floating
# point). Posterize rounds its magnitude *up* to whole bits, so its range is chosen to land exactly on 2 bits at
# level 10 of 30 (3 - 1 = 2.0) rather than on a value that rounds to 2 the other way. AutoContrast and Equalize
# take no magnitude. The ``mmpretrain.`` prefix finds the ops whatever the default scope (mmseg in our configs).
STRONG_OPS = (
    dict(type='mmpretrain.AutoContrast'),
    dict(type='mmpretrain.Equalize'),
    dict(type='mmpretrain.Posterize', magnitude_range=(3, 0)),
    dict(type='mmpretrain.ColorTransform', magnitude_range=(-0.9, 0.9)),
    dict(type='mmpretrain.Contrast', magnitude_range=(-0.9, 0.9)),
    dict(type='mmpretrain.Brightness', magnitude_range=(-0.9, 0.9)),
    dict(type='mmpretrain.Sharpness', magnitude_range=(-0.9, 0.9)),
)


def strong_policies() -> List[dict]:
    """The policy list of :data:`STRONG_OPS` for mmpretrain's ``RandAugment``: every chosen op always runs.

    ``prob=1.0``: an op drawn is applied (mmpretrain's default 0.5 would skip half of them);
    ``random_negative_prob=0``: the enhance factor stays below 1 (mmpretrain flips the sign of the magnitude half of
    the time by default, which would give 1.3 as often as 0.7). Posterize fixes the latter to 0 itself.
    """
    policies = []
    for op in STRONG_OPS:
        policy = dict(op, prob=1.0)
        if 'magnitude_range' in op and not op['type'].endswith('Posterize'):
            policy['random_negative_prob'] = 0.0
        policies.append(policy)
    return policies


@TRANSFORMS.register_module()
class AddStrongView(BaseTransform):
    """DuPL's strong view: RandAugment of the current image with colour operations only, then a horizontal flip.

    A copy of ``results['img']`` (BGR uint8, the main input's pixels when placed after the main view's
    photometric augmentation) goes through mmpretrain's :class:`~mmpretrain.datasets.transforms.RandAugment`:
    ``num_ops`` operations drawn uniformly *with* replacement from AutoContrast, Equalize, Posterize, Color,
    Contrast, Brightness and Sharpness, each applied at the fixed level ``magnitude`` of ``total_level`` (no
    magnitude noise, no random sign, no skipping). At the defaults this is Posterize to 2 bits and an enhancement
    factor of 0.7 for Color, Contrast, Brightness and Sharpness. The result is flipped horizontally (always, by
    default) and stored as ``results['img_strong']`` (:data:`~mmwsss.datasets.keys.VIEW_STRONG`), which
    :class:`~mmwsss.datasets.transforms.PackWeakSegInputs` packs and
    :class:`~mmwsss.models.WeakSegDataPreProcessor` normalises like the main input; the flip goes into
    ``results['view_meta']['strong']``.

    The operations are mmcv's (numpy/OpenCV) rather than PIL's, so a pixel can differ from a PIL implementation of
    the same operation by a rounding step; Sharpness also filters the border pixels, which PIL leaves untouched.
    Color and Contrast take the grey level of the image as BGR (mmcv's ``bgr2gray``), which is right for the
    pipeline's BGR images. All randomness (which operations) comes from numpy's global generator, which
    :class:`~mmwsss.datasets.WeakSegDataset` seeds from the sample's ``sample_seed``: the view is a function of the
    sample seed, as the other views are, whatever the number of workers or processes and after a resume.

    Args:
        num_ops (int): operations per view, drawn with replacement. Defaults to 5.
        magnitude (int | float): the level of every operation. Defaults to 10.
        total_level (int | float): the level scale; ``magnitude / total_level`` is the fraction of each
            operation's range. Defaults to 30.
        flip (bool): flip the view horizontally (recorded in ``view_meta['strong']['flip']``). Defaults to True.

    Example:
        >>> import numpy as np
        >>> from mmwsss.datasets.transforms import AddStrongView
        >>> np.random.seed(0)
        >>> img = np.random.randint(0, 255, (16, 16, 3), dtype=np.uint8)
        >>> out = AddStrongView()(dict(img=img))
        >>> out['img_strong'].shape, out['img_strong'].dtype, out['view_meta']['strong']
        ((16, 16, 3), dtype('uint8'), {'flip': True, 'scale': 1.0})
        >>> out['img'] is img  # the main view is untouched
        True
    """

    def __init__(self, num_ops: int = 5, magnitude: float = 10, total_level: float = 30, flip: bool = True) -> None:
        self.num_ops = num_ops
        self.magnitude = magnitude
        self.total_level = total_level
        self.flip = bool(flip)
        # magnitude_std=0: the level is fixed; hparams={}: none of these ops takes mmpretrain's default pad_val
        self.rand_augment = RandAugment(policies=strong_policies(), num_policies=num_ops, magnitude_level=magnitude,
                                        magnitude_std=0, total_level=total_level, hparams={})

    def augment(self, bgr: np.ndarray) -> np.ndarray:
        """The strong view of one BGR uint8 image, as a new contiguous BGR uint8 image."""
        view = self.rand_augment(dict(img=bgr.copy()))['img']
        if self.flip:
            view = mmcv.imflip(view, 'horizontal')
        return np.ascontiguousarray(view)

    def transform(self, results: dict) -> dict:
        results[VIEW_STRONG] = self.augment(results['img'])
        results.setdefault(VIEW_META, {})['strong'] = dict(flip=self.flip, scale=1.0)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_ops={self.num_ops}, magnitude={self.magnitude}, '
                f'total_level={self.total_level}, flip={self.flip})')
