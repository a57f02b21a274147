"""ToCo's Patch Token Contrast (PTC; MCC's "aff" loss): the token labels from the aux CAM, their pair labels and the
auxiliary module. The formula itself is the registered :class:`~mmwsss.models.losses.PTCLoss`."""
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS

from ..cam import CAMChoice, cam_to_label
from .base import AuxModule, build_loss


def ptc_pair_labels(token_labels: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Pairwise token labels for PTC (docs/methods/toco.md, PTC): 1 same label, 0 different, ``ignore_index`` otherwise.

    A pair is ignored when either token is ignored or when it pairs a token with itself.

    Args:
        token_labels (Tensor): (B, N) labels, or (B, h, w), flattened row-major like
            :class:`~mmwsss.models.losses.PTCLoss` flattens (B, C, h, w) tokens.
        ignore_index (int): Defaults to 255.

    Returns:
        Tensor: (B, N, N) long.

    Example:
        >>> import torch
        >>> ptc_pair_labels(torch.tensor([[1, 1, 0, 255]]))
        tensor([[[255,   1,   0, 255],
                 [  1, 255,   0, 255],
                 [  0,   0, 255, 255],
                 [255, 255, 255, 255]]])
    """
    labels = token_labels.flatten(1)
    pairs = (labels[:, :, None] == labels[:, None, :]).long()
    ignored = labels == ignore_index
    drop = ignored[:, :, None] | ignored[:, None, :]
    drop |= torch.eye(labels.shape[1], dtype=torch.bool, device=labels.device)
    pairs[drop] = ignore_index
    return pairs


@MODELS.register_module()
class PatchTokenContrast(AuxModule):
    """Pull together final patch tokens the aux CAM gives the same label, push apart the others.

    Token labels come from the CAM (the aux CAM, as ToCo) resized to the token grid: class where its max exceeds
    the high threshold, background where it is at most the low one, ignored in between and on tokens outside the
    crop's valid box (the box is mapped from crop pixels to token coordinates). See docs/methods/toco.md.

    Args:
        loss (dict, optional): the registered loss; defaults to ``PTCLoss`` (weight 0.2, key ``loss_ptc``). A dict
            without ``type`` updates the default.
        cam (dict | str): :class:`~mmwsss.models.cam.CAMChoice` of the token labels. Defaults to 'aux'.
        **kwargs: :class:`~mmwsss.models.contrast.AuxModule` arguments (``start_iter``, ``thr``).

    Example:
        >>> m = PatchTokenContrast(loss=dict(loss_weight=0.5))
        >>> m.loss_names, m.loss.loss_weight
        (('loss_ptc',), 0.5)
    """

    def __init__(self, loss: dict = None, cam='aux', **kwargs) -> None:
        super().__init__(**kwargs)
        self.loss = build_loss(dict(type='PTCLoss', loss_weight=0.2, loss_name='loss_ptc'), loss)
        self.cam = CAMChoice.build(cam)

    def forward(self, ctx) -> dict:
        grid = ctx.patch_tokens.shape[-2:]
        cam = F.interpolate(self.cam.pick(ctx.cam, ctx.aux_cam, ctx.step), size=grid, mode='bilinear',
                            align_corners=False)
        token_labels = cam_to_label(cam, ctx.img_labels, img_box=ctx.img_boxes, crop_hw=ctx.crop_hw,
                                    high=self.high_threshold(ctx), low=self.low_thr, ignore_mid=True)
        pairs = ptc_pair_labels(token_labels.flatten(1))
        return {self.loss.loss_name: self.loss(ctx.patch_tokens, pairs)}
