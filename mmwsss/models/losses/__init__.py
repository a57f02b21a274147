"""Losses of the ToCo/MCC core, registered in ``mmseg.registry.MODELS`` (usable as ``dict(type=...)`` in configs)."""
from .balanced_seg_loss import BalancedSegCELoss
from .dense_energy_loss import DenseEnergyLoss
from .ptc_loss import PTCLoss
from .view_contrast_loss import ViewContrastLoss

__all__ = ['BalancedSegCELoss', 'DenseEnergyLoss', 'PTCLoss', 'ViewContrastLoss']
