from .backbones import WSSSViT
from .contrast import LocalCropContrast, MaskedViewContrast, PatchTokenContrast
from .data_preprocessor import WeakSegDataPreProcessor
from .heads import DINOProjectionHead, LargeFOVHead
from .losses import BalancedSegCELoss, PTCLoss, ViewContrastLoss
from .segmentors import WeakSegmentor, WSSSTTAModel

__all__ = ['WSSSViT', 'LocalCropContrast', 'MaskedViewContrast', 'PatchTokenContrast', 'WeakSegDataPreProcessor',
           'DINOProjectionHead', 'LargeFOVHead', 'BalancedSegCELoss', 'PTCLoss', 'ViewContrastLoss',
           'WeakSegmentor', 'WSSSTTAModel']
