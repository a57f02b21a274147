"""One file per paper term, each an auxiliary module on the protocol of :mod:`~mmwsss.models.contrast.base`.

=========  ====================================  =========
term       module                                file
=========  ====================================  =========
PTC        PatchTokenContrast                    ptc.py
CTC        LocalCropContrast                     ctc.py
MCC        MaskedViewContrast                    mcc.py
TFCM       PTC + CTC (a composition)             tfcm.py
SMCM       SpatialMultiViewContrast              smcm.py
MP2M       MemoryPrototypeContrast (+ its bank)  mp2m.py
=========  ====================================  =========
"""
from .base import AuxDefaults, AuxModule, ClassTokenContrast, ema_update_
from .context import WSSSContext, WSSSEncoder
from .ctc import LocalCropContrast
from .mcc import MaskedViewContrast, generate_block_masks, masked_view_flags
from .mp2m import MemoryPrototypeContrast, PrototypeMemoryBank, adaptive_weight
from .ptc import PatchTokenContrast, ptc_pair_labels
from .smcm import SpatialMultiViewContrast
from .tfcm import TFCM_TERMS, has_tfcm

__all__ = ['AuxDefaults', 'AuxModule', 'ClassTokenContrast', 'LocalCropContrast', 'MaskedViewContrast',
           'MemoryPrototypeContrast', 'PatchTokenContrast', 'PrototypeMemoryBank', 'SpatialMultiViewContrast',
           'TFCM_TERMS', 'WSSSContext', 'WSSSEncoder', 'adaptive_weight', 'ema_update_', 'generate_block_masks',
           'has_tfcm', 'masked_view_flags', 'ptc_pair_labels']
