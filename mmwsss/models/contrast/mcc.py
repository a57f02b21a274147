"""MCC (Masked Collaborative Contrast): key-masked copies of the local view, their block masks and flags.

MCC masks the *key axis* of self-attention in 8 copies of the local view. The masks are random, not computed
from the keys: a Bernoulli map on a coarse block grid (4x4 tokens per block, P(masked) = 0.95), upsampled to
the token grid (:func:`generate_block_masks`). A view is a negative when the tokens that stay visible are
essentially confident background (:func:`masked_view_flags`). The copies are encoded on their visible tokens
only (:meth:`~mmwsss.models.backbones.WSSSViT.forward_visible`, the same class token as key masking). The
contrast itself is ToCo's class-token contrast (:class:`~mmwsss.models.contrast.ClassTokenContrast`). See
docs/methods/mcc.md.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from mmseg.registry import MODELS

from .base import ClassTokenContrast


def generate_block_masks(batch: int,
                         num_views: int,
                         grid_hw: Sequence[int],
                         block: int = 4,
                         mask_prob: float = 0.95,
                         min_visible_blocks: int = 1,
                         generator: Optional[torch.Generator] = None,
                         device=None,
                         max_redraws: int = 10000) -> torch.Tensor:
    """Random block masks on the token grid, one per image and view; True = visible token.

    Each view draws a Bernoulli map on the (ceil(H/block), ceil(W/block)) block grid with P(masked) =
    ``mask_prob`` (independently for every image and view), upsamples it by nearest neighbour x``block`` and
    crops it to (H, W). A 28x28 grid (448 px, patch 16) gives 7x7 blocks of 4x4 tokens, about 2.45 of 49 blocks
    (39 of 784 tokens) visible on average at ``mask_prob=0.95``.

    Deviation from MCC (default): with ``min_visible_blocks=1`` a view whose blocks are all masked is redrawn
    until at least one block is visible. MCC keeps such views (probability 0.95**49 ~ 8% at 7x7 blocks); their
    class token attends only to itself in every block, so its output is a constant independent of the image and
    the view is always labelled negative, which teaches nothing about the image. The redraw conditions the mask
    distribution on ">= min_visible_blocks visible blocks" (rejection sampling, so it is exactly that conditional
    distribution): the expected visible fraction rises slightly (at 7x7 blocks, from 5% to 5%/0.92 ~ 5.4%).
    ``min_visible_blocks=0`` reproduces MCC's distribution exactly.

    Args:
        batch (int): number of images.
        num_views (int): masked views per image (8 in MCC).
        grid_hw (sequence[int]): token grid (H, W), e.g. (28, 28).
        block (int): block side in tokens. Defaults to 4.
        mask_prob (float): probability that a block is masked. Defaults to 0.95.
        min_visible_blocks (int): views with fewer visible blocks are redrawn; 0 disables the redraw (MCC's
            distribution). Defaults to 1.
        generator (torch.Generator, optional): random generator; the masks are drawn on its device.
        device (torch.device | str, optional): device of the masks when no generator is given. Defaults to CPU.
        max_redraws (int): safety bound on redraw rounds (RuntimeError when exceeded). Defaults to 10000.

    Returns:
        Tensor: bool (batch, num_views, H, W), True = visible token (the ``keep_mask`` of
        :meth:`~mmwsss.models.backbones.WSSSViT.forward_visible`; its negation, flattened, is the ``key_mask`` of
        :meth:`~mmwsss.models.backbones.WSSSViT.forward_key_masked`).

    Example:
        >>> import torch
        >>> g = torch.Generator().manual_seed(0)
        >>> keep = generate_block_masks(2, 8, (28, 28), generator=g)
        >>> keep.shape, keep.dtype
        (torch.Size([2, 8, 28, 28]), torch.bool)
        >>> bool(keep.flatten(2).any(-1).all())      # every view keeps at least one 4x4 block
        True
    """
    H, W = int(grid_hw[0]), int(grid_hw[1])
    if H <= 0 or W <= 0 or block <= 0:
        raise ValueError(f'grid_hw={tuple(grid_hw)} and block={block} must be positive')
    if not 0. <= mask_prob <= 1.:
        raise ValueError(f'mask_prob={mask_prob} must be in [0, 1]')
    bh, bw = math.ceil(H / block), math.ceil(W / block)
    if min_visible_blocks > bh * bw:
        raise ValueError(f'min_visible_blocks={min_visible_blocks} exceeds the {bh}x{bw} block grid')
    if min_visible_blocks > 0 and mask_prob >= 1.:
        raise ValueError('mask_prob=1 masks every block: min_visible_blocks must be 0')
    if generator is not None:
        device = generator.device
    device = torch.device(device if device is not None else 'cpu')

    def draw(n: int) -> torch.Tensor:
        return torch.rand(n, bh, bw, generator=generator, device=device) >= mask_prob  # True = visible

    visible = draw(batch * num_views)
    for _ in range(max_redraws):
        redo = (visible.flatten(1).sum(1) < min_visible_blocks).nonzero().flatten()
        if redo.numel() == 0:
            break
        visible[redo] = draw(redo.numel())
    else:
        raise RuntimeError(f'could not draw views with >= {min_visible_blocks} visible blocks in {max_redraws} '
                           f'rounds (mask_prob={mask_prob}, {bh}x{bw} blocks)')
    keep = visible.repeat_interleave(block, dim=1).repeat_interleave(block, dim=2)[:, :H, :W]
    return keep.reshape(batch, num_views, H, W)


def masked_view_flags(keep: torch.Tensor, roi: torch.Tensor, neg_ratio: float = 0.2) -> torch.Tensor:
    """Positive (True) / negative (False) flag of each masked view from the ROI map of its visible tokens.

    A view is negative iff ``sum(roi over visible tokens) <= neg_ratio * (number of visible tokens)``, i.e. the
    mean ROI value of the visible part is at most ``neg_ratio`` (it is essentially confident background). A
    view with no visible token is negative (0 <= 0), as in MCC. Ties count as negative: the comparison is made in
    float64 with a 1e-6 slack, so that e.g. 63 <= 0.7 * 90 holds although 0.7 * 90 evaluates to
    62.99999999999999 (for the default 0.2 the slack changes nothing up to thousands of visible tokens).

    Args:
        keep (Tensor): bool (B, V, H, W) or (B, V, H*W), True = visible token.
        roi (Tensor): (B, H, W) or (B, H*W) on the same token grid, values 0 (confident background),
            1 (uncertain), 2 (confident foreground).
        neg_ratio (float): threshold on the mean ROI value. Defaults to 0.2.

    Returns:
        Tensor: bool (B, V), True = positive view.

    Example:
        >>> import torch
        >>> roi = torch.zeros(1, 4, 4, dtype=torch.long)
        >>> roi[0, :2, :2] = 2                                  # confident foreground in the top-left corner
        >>> keep = torch.zeros(1, 2, 4, 4, dtype=torch.bool)
        >>> keep[0, 0, :2, :2] = True                           # view 0 sees the foreground
        >>> keep[0, 1, 2:, 2:] = True                           # view 1 sees background only
        >>> masked_view_flags(keep, roi).tolist()
        [[True, False]]
    """
    B, V = keep.shape[:2]
    keep = keep.reshape(B, V, -1).to(torch.float64)
    roi = roi.reshape(roi.size(0), 1, -1).to(device=keep.device, dtype=torch.float64)
    if roi.size(0) != B or roi.size(-1) != keep.size(-1):
        raise ValueError(f'roi {tuple(roi.shape)} does not match keep {tuple(keep.shape)} (same batch and grid)')
    roi_sum = (keep * roi).sum(-1)
    return roi_sum > neg_ratio * keep.sum(-1) + 1e-6


@MODELS.register_module()
class MaskedViewContrast(ClassTokenContrast):
    """MCC: ``num_views`` key-masked copies of the local view, encoded on their visible tokens only.

    Masks: Bernoulli(``mask_prob``) on blocks of ``block`` x ``block`` tokens; a view is negative iff the mean
    ROI value of its visible tokens is at most ``neg_ratio``. The ROI map (from the CAM on the main view) is
    flipped where the local view is flipped, so it lines up with the view's tokens. Views with no visible block
    are redrawn (``min_visible_blocks=1``), since their class token would be an image-independent constant.

    Args:
        num_views (int): masked copies per image (8).
        block (int): block side in tokens (4 at 28x28 tokens).
        mask_prob (float): probability that a block is masked (0.95).
        min_visible_blocks (int): redraw views with fewer visible blocks (1; 0 = MCC's distribution).
        **kwargs: :class:`~mmwsss.models.contrast.ClassTokenContrast` arguments (projector, loss, EMA, ROI).
    """
    default_loss_name = 'loss_mcc'
    stream = 'MaskedViewContrast'

    def __init__(self, num_views: int = 8, block: int = 4, mask_prob: float = 0.95, min_visible_blocks: int = 1,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_views, self.block, self.mask_prob = num_views, block, mask_prob
        self.min_visible_blocks = min_visible_blocks

    def local_outputs(self, ctx):
        local = ctx.view_local()
        b, grid = local.shape[0], ctx.patch_tokens.shape[-2:]
        cam = F.interpolate(self.cam.pick(ctx.cam, ctx.aux_cam, ctx.step), size=grid, mode='bicubic',
                            align_corners=False)
        roi = self.roi(ctx, cam)
        # per image, from its own generator: the masks do not depend on the batch or process the image is in
        keep = torch.cat([generate_block_masks(1, self.num_views, tuple(grid), block=self.block,
                                               mask_prob=self.mask_prob, min_visible_blocks=self.min_visible_blocks,
                                               generator=gen)
                          for gen in ctx.generators(local.device, self.stream)])
        flags = masked_view_flags(keep, roi, neg_ratio=self.neg_ratio)
        views = local[:, None].expand(-1, self.num_views, -1, -1, -1).flatten(0, 1)
        cls = ctx.encoder.encode_visible(views, keep.flatten(0, 1))
        return self.projector(cls).view(b, self.num_views, -1), flags
