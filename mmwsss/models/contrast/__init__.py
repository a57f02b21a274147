from .class_token_contrast import ClassTokenContrast, LocalCropContrast, MaskedViewContrast
from .memory_prototype_contrast import MemoryPrototypeContrast
from .patch_token_contrast import PatchTokenContrast
from .spatial_multiview_contrast import SpatialMultiViewContrast

__all__ = ['ClassTokenContrast', 'LocalCropContrast', 'MaskedViewContrast', 'MemoryPrototypeContrast', 'PatchTokenContrast',
           'SpatialMultiViewContrast']
