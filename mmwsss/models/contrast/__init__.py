from .class_token_contrast import ClassTokenContrast, LocalCropContrast, MaskedViewContrast
from .patch_token_contrast import PatchTokenContrast
from .spatial_multiview_contrast import SpatialMultiViewContrast

__all__ = ['ClassTokenContrast', 'LocalCropContrast', 'MaskedViewContrast', 'PatchTokenContrast',
           'SpatialMultiViewContrast']
