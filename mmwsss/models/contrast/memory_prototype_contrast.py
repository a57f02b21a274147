"""MSFC's MP2M loss: patch-token contrast whose pair targets come from the memory-prototype CAM."""
import torch.nn as nn

from mmseg.registry import MODELS

from ..losses.ptc_loss import PTCLoss
from ..utils.cam import cam_to_label, ptc_pair_labels
from ..utils.memory_bank import adaptive_weight


@MODELS.register_module()
class MemoryPrototypeContrast(nn.Module):
    """PTC-form loss on the final tokens with token labels from the memory CAM ``cos(tokens, prototypes)``.

    The prototypes live in the segmentor's :class:`~mmwsss.models.utils.PrototypeMemoryBank` (handed over as
    ``ctx.extras['memory_bank']``), filled by :class:`~mmwsss.engine.hooks.MemoryBankHook` from the model's own
    iterations. The loss is 0 until the bank holds a prototype, and images with a labelled class that has no
    prototype yet are ignored (their memory CAM could not show that class). With ``adaptive=True`` the loss is
    scaled by the histogram agreement weight of spec 4.5 (normalised histograms, in [1/e, 1]; VOC), without it
    (COCO) it is used as is.

    Args:
        loss_weight (float): weight (0.5 in MSFC).
        high_thr, low_thr (float): token label thresholds on the memory CAM (0.7 / 0.25).
        adaptive (bool): apply the adaptive weight. Defaults to True.
        start_iter (int): first iteration (0-based) the loss is active.
    """

    def __init__(self, loss_weight: float = 0.5, high_thr: float = 0.7, low_thr: float = 0.25,
                 adaptive: bool = True, start_iter: int = 0) -> None:
        super().__init__()
        self.loss = PTCLoss(loss_weight=loss_weight)
        self.high_thr, self.low_thr = high_thr, low_thr
        self.adaptive = adaptive
        self.start_iter = start_iter

    def forward(self, ctx) -> dict:
        bank = ctx.extras.get('memory_bank')
        if bank is None:
            raise KeyError('MemoryPrototypeContrast needs a memory bank: set memory_bank=dict(...) in the '
                           'WeakSegmentor config and add MemoryBankHook to custom_hooks')
        tokens = ctx.patch_tokens
        if not bool(bank.initialised.any()):  # warming up: the hook has not filled the bank yet
            return {'loss_mem': tokens.sum() * 0}
        mem = bank.memory_cam(tokens)
        labels = cam_to_label(mem.detach(), ctx.img_labels, img_box=ctx.img_boxes, crop_hw=ctx.inputs.shape[-2:],
                              high=self.high_thr, low=self.low_thr, ignore_mid=True)
        missing = ((ctx.img_labels > 0) & ~bank.initialised[None]).any(1)
        labels[missing] = 255
        loss = self.loss(tokens, ptc_pair_labels(labels.flatten(1)))
        if self.adaptive:
            loss = loss * adaptive_weight(mem.detach(), ctx.aux_cam, ctx.cam)
        return {'loss_mem': loss}
