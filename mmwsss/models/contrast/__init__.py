from .class_token_contrast import ClassTokenContrast, LocalCropContrast, MaskedViewContrast
from .patch_token_contrast import PatchTokenContrast

__all__ = ['ClassTokenContrast', 'LocalCropContrast', 'MaskedViewContrast', 'PatchTokenContrast']
