"""The WSSS core shared by every method: CAMs, the crop box, CAM -> labels, PAR and the training pseudo labels."""
from .box import box_mask, box_to_grid
from .cam_head import CAMHead
from .choice import CAMChoice
from .labels import cam_to_label, cam_to_roi
from .multi_scale import multi_scale_cam, normalise_cam
from .par import PAR
from .pseudo_label import PseudoLabeler, pseudo_labels_with_par

__all__ = ['CAMChoice', 'CAMHead', 'PAR', 'PseudoLabeler', 'box_mask', 'box_to_grid', 'cam_to_label', 'cam_to_roi',
           'multi_scale_cam', 'normalise_cam', 'pseudo_labels_with_par']
