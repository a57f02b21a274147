from .cam import (box_mask, box_to_grid, cam_to_label, cam_to_roi, multi_scale_cam, normalise_cam, ptc_pair_labels,
                  pseudo_labels_with_par)
from .ema import ema_update_
from .masking import generate_block_masks, masked_view_flags
from .memory_bank import PrototypeMemoryBank, adaptive_weight, bhattacharyya_weight, projection_profile
from .par import PAR
from .permutohedral import dense_gaussian_filter, permutohedral_filter

__all__ = [
    'PAR', 'box_mask', 'box_to_grid', 'cam_to_label', 'cam_to_roi', 'dense_gaussian_filter', 'ema_update_',
    'generate_block_masks', 'masked_view_flags', 'permutohedral_filter', 'PrototypeMemoryBank', 'adaptive_weight',
    'bhattacharyya_weight', 'projection_profile', 'multi_scale_cam', 'normalise_cam', 'ptc_pair_labels',
    'pseudo_labels_with_par'
]
