"""ToCo's Patch Token Contrast (PTC; MCC's "aff" loss) as an auxiliary loss module."""
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from ..losses.ptc_loss import PTCLoss
from ..utils.cam import cam_to_label, ptc_pair_labels


@MODELS.register_module()
class PatchTokenContrast(nn.Module):
    """Pull together final patch tokens the aux CAM gives the same label, push apart the others (spec 2.1).

    Token labels come from the aux CAM resized to the token grid: class where its max exceeds ``high_thr``,
    background where it is at most ``low_thr``, ignored in between and on tokens outside the crop's valid box
    (the box is mapped from crop pixels to token coordinates).

    Args:
        loss_weight (float): weight (0.2 in ToCo/MCC).
        high_thr, low_thr (float): token label thresholds (0.7 / 0.25).
        start_iter (int): first iteration (0-based) the loss is active.
    """

    def __init__(self, loss_weight: float = 0.2, high_thr: float = 0.7, low_thr: float = 0.25,
                 start_iter: int = 0) -> None:
        super().__init__()
        self.loss = PTCLoss(loss_weight=loss_weight)
        self.high_thr, self.low_thr = high_thr, low_thr
        self.start_iter = start_iter

    def forward(self, ctx) -> dict:
        grid = ctx.patch_tokens.shape[-2:]
        cam = F.interpolate(ctx.aux_cam, size=grid, mode='bilinear', align_corners=False)
        token_labels = cam_to_label(cam, ctx.img_labels, img_box=ctx.img_boxes, crop_hw=ctx.inputs.shape[-2:],
                                    high=self.high_thr, low=self.low_thr, ignore_mid=True)
        pairs = ptc_pair_labels(token_labels.flatten(1))
        return {'loss_ptc': self.loss(ctx.patch_tokens, pairs)}
