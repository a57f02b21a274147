from .backbones import WSSSViT
from .cam import CAMHead, PseudoLabeler
from .contrast import (LocalCropContrast, MaskedViewContrast, MemoryPrototypeContrast, PatchTokenContrast,
                       SpatialMultiViewContrast)
from .data_preprocessor import WeakSegDataPreProcessor
from .dupl import DiscrepancyLoss, DynamicThreshold, StrongViewConsistencyLoss
from .heads import DINOProjectionHead, LargeFOVHead
from .losses import BalancedSegCELoss, DenseEnergyLoss, PTCLoss, ViewContrastLoss
from .segmentors import DualStudentSegmentor, WeakSegmentor, WSSSTTAModel

__all__ = ['WSSSViT', 'CAMHead', 'PseudoLabeler', 'LocalCropContrast', 'MaskedViewContrast',
           'MemoryPrototypeContrast', 'PatchTokenContrast', 'SpatialMultiViewContrast', 'WeakSegDataPreProcessor',
           'DINOProjectionHead', 'LargeFOVHead', 'BalancedSegCELoss', 'DenseEnergyLoss', 'PTCLoss', 'ViewContrastLoss',
           'WeakSegmentor', 'WSSSTTAModel', 'DualStudentSegmentor', 'DiscrepancyLoss', 'DynamicThreshold',
           'StrongViewConsistencyLoss']
