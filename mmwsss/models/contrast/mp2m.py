"""MSFC's MP2M (memory-prototype contrast): the prototype memory bank, the adaptive weight and the loss module.

* :class:`PrototypeMemoryBank`: one L2-normalised prototype per class in the final-token space, pooled from the
  model's own confident CAM regions and updated every ``update_interval`` optimizer steps by
  :class:`~mmwsss.engine.hooks.MemoryBankHook`;
* :func:`adaptive_weight`: how much to trust the memory CAM, from the agreement of its projection histograms with
  the two CAMs;
* :class:`MemoryPrototypeContrast`: the auxiliary module that owns the bank, fills it every step (``observe``) and
  returns the PTC-form loss with pair targets from the memory CAM (``forward``).

Differences from the released code (docs/methods/msfc.md lists them all), each deliberate:

* **Every image, every rank.** Prototypes are pooled from every image of the batch (the release uses image 0 only
  and breaks for more than one image per process) and summed over all processes before an update, so every rank
  holds the same bank.
* **Real momentum.** ``P_c <- normalise(m * P_c + (1 - m) * normalise(mean_c))`` with ``m = 0.9`` (the first
  commit's value; the release's later ``m = 0.1`` keeps only 10 % of the history). The fresh estimate is not
  squared element-wise (tokens are signed), and every class with enough samples is updated, not only the first one.
* **No files.** A class that has no prototype yet is set from its first fresh estimate, i.e. the bank warms up
  from the model's own early iterations (the release loads ``.npy`` files from a preliminary run).
* **Detached.** Pooled prototypes carry no autograd graph (the release keeps a graph per buffered prototype).
* **Bounded weight.** :func:`adaptive_weight` uses *normalised* histograms, so the Bhattacharyya coefficient is in
  [0, 1] and the weight ``exp(-BC)`` in ``[exp(-1), 1]`` (the release's raw counts give about ``exp(-56)``).
"""
import math
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, all_reduce, get_rank, get_world_size

from mmseg.registry import MODELS

from ..cam import cam_to_label, normalise_cam
from .base import AuxDefaults, AuxModule, build_loss
from .ptc import ptc_pair_labels

__all__ = ['MemoryPrototypeContrast', 'PrototypeMemoryBank', 'adaptive_weight', 'bhattacharyya_weight',
           'projection_profile']


class PrototypeMemoryBank(nn.Module):
    """K x C bank of L2-normalised class prototypes in the final-token space, one row per class.

    State (all in ``state_dict``, so checkpoints and ``--resume`` keep it):

    * ``bank`` (K, C) float buffer: detached, L2-normalised rows; zero rows for classes not initialised yet.
    * ``initialised`` (K,) bool buffer: whether the class has a prototype.

    The open update window (``acc_sums`` (K, C), ``acc_counts`` (K,): what this process pooled since the last
    update) is kept in plain tensor attributes, **not** buffers: DistributedDataParallel broadcasts rank 0's
    buffers at every forward, which would overwrite each rank's own partial sums. It is not in ``state_dict``
    either; :class:`~mmwsss.engine.hooks.MemoryBankHook` saves its sum over all processes (:meth:`window`) next to
    it in the checkpoint and gives it back after ``--resume`` (:meth:`load_window`), so a resumed run continues
    the open window instead of restarting it.

    Window protocol (what the hook calls; the one all-reduce is in :meth:`_summed_window`): :meth:`accumulate`
    (every training step, from :class:`MemoryPrototypeContrast`'s ``observe``), :meth:`window`,
    :meth:`load_window`, :meth:`update` and :meth:`same_on_all_ranks`.

    Args:
        num_classes (int): K, foreground classes (20 VOC, 80 COCO).
        channels (int): C, token dimension (768 for ViT-B).
        bkg_thr (float): a token belongs to class c when c has the largest present-class CAM value and that value
            is above ``bkg_thr`` (0.5 VOC, 0.45 COCO). Defaults to 0.5.
        momentum (float): EMA momentum ``m`` (weight of the old prototype). Defaults to 0.9.
        min_count (int): a class is updated only when at least this many (image, class) prototypes were pooled
            over all processes since the last update. Defaults to 4.
        eps (float): for the normalisations. Defaults to 1e-6.
        update_interval (int): optimizer steps between two updates (200); the hook reads it here. Defaults to 200.
    """

    def __init__(self, num_classes: int, channels: int, bkg_thr: float = 0.5, momentum: float = 0.9,
                 min_count: int = 4, eps: float = 1e-6, update_interval: int = 200) -> None:
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must be in [0, 1], got {momentum}')
        self.num_classes, self.channels = int(num_classes), int(channels)
        if update_interval < 1:
            raise ValueError(f'update_interval must be >= 1, got {update_interval}')
        self.bkg_thr, self.momentum, self.min_count, self.eps = float(bkg_thr), float(momentum), int(min_count), eps
        self.update_interval = int(update_interval)
        self.register_buffer('bank', torch.zeros(self.num_classes, self.channels))
        self.register_buffer('initialised', torch.zeros(self.num_classes, dtype=torch.bool))
        self.acc_sums = torch.zeros(self.num_classes, self.channels)
        self.acc_counts = torch.zeros(self.num_classes)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, channels={self.channels}, bkg_thr={self.bkg_thr}, '
                f'momentum={self.momentum}, min_count={self.min_count}, update_interval={self.update_interval}')

    def _apply(self, fn, *args, **kwargs):  # keep the plain-attribute accumulators on the module's device
        super()._apply(fn, *args, **kwargs)
        self.acc_sums = fn(self.acc_sums)
        self.acc_counts = fn(self.acc_counts)
        return self

    @property
    def ready(self) -> bool:
        """True once every class has a prototype (the segmentor may start the memory loss then)."""
        return bool(self.initialised.all())

    # ----------------------------------------------------------------------------------------------- extraction
    @torch.no_grad()
    def token_labels(self, cam: torch.Tensor, img_labels: torch.Tensor, grid_hw: Sequence[int],
                     img_boxes=None, crop_hw: Optional[Sequence[int]] = None, bkg_thr: Optional[float] = None
                     ) -> torch.Tensor:
        """(B, h, w) hard labels on the token grid: 1..K confident class, 0 background, 255 outside the box."""
        cam = cam.detach().float()
        if tuple(cam.shape[-2:]) != tuple(grid_hw):
            if crop_hw is None:
                crop_hw = cam.shape[-2:]  # boxes refer to the CAM's (input) resolution
            cam = F.interpolate(cam, size=tuple(grid_hw), mode='bilinear', align_corners=False)
        thr = self.bkg_thr if bkg_thr is None else bkg_thr
        return cam_to_label(cam, img_labels, img_box=img_boxes, bkg_thr=thr, ignore_mid=False, crop_hw=crop_hw)

    @torch.no_grad()
    def extract(self, tokens: torch.Tensor, cam: torch.Tensor, img_labels: torch.Tensor,
                thr: Optional[float] = None, img_boxes=None, crop_hw: Optional[Sequence[int]] = None
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Masked average pooling of the tokens over confident CAM regions, summed over the batch.

        For every image ``b`` and every present class ``c`` that owns at least one token (argmax over the present
        classes of the CAM resized to the token grid, value ``> thr``, inside ``img_boxes``), the prototype
        ``p_bc = mean of tokens[b, :, mask_bc]`` is added to ``sums[c]`` and ``counts[c]`` grows by one.

        Args:
            tokens (Tensor): (B, C, h, w) final tokens (detached here).
            cam (Tensor): (B, K, H, W) normalised CAM in [0, 1]; bilinearly resized to (h, w) when H, W differ.
            img_labels (Tensor): (B, K) multi-hot image labels.
            thr (float, optional): background threshold; defaults to ``self.bkg_thr``.
            img_boxes (optional): per-image ``(top, bottom, left, right)`` valid region in ``crop_hw`` pixels.
            crop_hw (sequence, optional): crop size the boxes refer to; defaults to the CAM size.

        Returns:
            tuple[Tensor, Tensor]: ``sums`` (K, C) float32 and ``counts`` (K,) float32, detached.
        """
        b, c, h, w = tokens.shape
        if cam.shape[:2] != (b, self.num_classes) or c != self.channels:
            raise ValueError(f'tokens {tuple(tokens.shape)} / cam {tuple(cam.shape)} do not match a bank of '
                             f'{self.num_classes} classes x {self.channels} channels')
        labels = self.token_labels(cam, img_labels, (h, w), img_boxes, crop_hw, thr)  # (B, h, w)
        classes = torch.arange(1, self.num_classes + 1, device=labels.device)
        masks = (labels[:, None] == classes[None, :, None, None]).float()  # (B, K, h, w); absent classes never win
        pixels = masks.sum(dim=(2, 3))  # (B, K)
        pooled = torch.einsum('bkhw,bchw->bkc', masks, tokens.detach().float()) / pixels.clamp(min=1)[..., None]
        valid = pixels > 0
        sums = (pooled * valid[..., None]).sum(dim=0)
        counts = valid.sum(dim=0).float()
        return sums, counts

    # ----------------------------------------------------------------------------------- window protocol (hook)
    @torch.no_grad()
    def accumulate(self, sums: torch.Tensor, counts: torch.Tensor) -> None:
        """Add one step's :meth:`extract` output to this process's open window."""
        self.acc_sums = self.acc_sums.to(sums.device) + sums.detach().float()
        self.acc_counts = self.acc_counts.to(counts.device) + counts.detach().float()

    def reset_accumulators(self) -> None:
        """Empty this process's open window."""
        self.acc_sums = torch.zeros_like(self.acc_sums)
        self.acc_counts = torch.zeros_like(self.acc_counts)

    @torch.no_grad()
    def _summed_window(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(sums, counts)`` of the open window summed over all processes (collective: every rank calls it)."""
        packed = torch.cat([self.acc_sums.float(), self.acc_counts.float()[:, None]], dim=1).detach().clone()
        packed = packed.to(self.bank.device)
        if get_world_size() > 1:
            all_reduce(packed, op='sum')
        return packed[:, :-1], packed[:, -1]

    def window(self) -> dict:
        """The open window summed over all processes, on the CPU, for a checkpoint (collective; the window stays
        open)."""
        sums, counts = self._summed_window()
        return dict(sums=sums.cpu(), counts=counts.cpu())

    def load_window(self, window: Optional[dict]) -> None:
        """Restart this process's window from a checkpoint's :meth:`window`: rank 0 holds the total, the others
        start empty, so the next update sums to the same values as in the uninterrupted run."""
        self.reset_accumulators()
        if window is not None and get_rank() == 0:
            self.accumulate(window['sums'], window['counts'])

    @torch.no_grad()
    def update(self, momentum: Optional[float] = None, min_count: Optional[int] = None) -> torch.Tensor:
        """Close the window: sum it over processes, then set or EMA-update every class with enough samples.

        A collective operation when ``torch.distributed`` is initialised: every rank must call it at the same
        iteration (the hook does). With ``proto_c = normalise(sums_c / counts_c)`` for each class with
        ``counts_c >= min_count``:

        * not initialised yet: ``bank_c = proto_c`` (warm-up from the model's own iterations);
        * else: ``bank_c = normalise(m * bank_c + (1 - m) * proto_c)``.

        Classes below ``min_count`` are left untouched. The window is emptied.

        Returns:
            Tensor: (K,) bool, the classes that were updated.
        """
        m = self.momentum if momentum is None else float(momentum)
        min_count = self.min_count if min_count is None else int(min_count)
        if not 0.0 <= m <= 1.0:
            raise ValueError(f'momentum must be in [0, 1], got {m}')
        sums, counts = self._summed_window()
        self.reset_accumulators()
        updated = counts >= max(min_count, 1)
        if not updated.any():
            return updated
        proto = F.normalize(sums / counts.clamp(min=1)[:, None], dim=1, eps=self.eps)
        bank = self.bank.float()
        ema = F.normalize(m * bank + (1.0 - m) * proto, dim=1, eps=self.eps)
        new = torch.where(self.initialised[:, None], ema, proto)
        self.bank.copy_(torch.where(updated[:, None], new, bank).to(self.bank.dtype))
        self.initialised |= updated
        return updated

    def same_on_all_ranks(self) -> int:
        """Compare every rank's bank with rank 0's (they must be equal bit for bit); returns the number of ranks.

        Raises:
            RuntimeError: naming the ranks whose bank differs.
        """
        world = get_world_size()
        if world == 1:
            return 1
        banks = all_gather(self.bank.contiguous())
        differ = [r for r, b in enumerate(banks) if not torch.equal(b, banks[0])]
        if differ:
            raise RuntimeError(f'the memory bank of rank(s) {differ} differs from rank 0 after the update; the ranks '
                               'no longer train the same model')
        return world

    # ----------------------------------------------------------------------------------------------- matching
    def memory_cam(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, K, h, w) cosine similarity between each token and each prototype; 0 for empty classes.

        Gradient flows into ``tokens`` (the bank is a buffer); detach the result to build pair targets.
        """
        tokens = F.normalize(tokens, dim=1, eps=self.eps)
        bank = self.bank.to(tokens.dtype) * self.initialised[:, None].to(tokens.dtype)
        return torch.einsum('bchw,kc->bkhw', tokens, bank)


# ------------------------------------------------------------------------------------------- adaptive weight
def projection_profile(x: torch.Tensor) -> torch.Tensor:
    """(B, K, h, w) -> (B, K, h + w): mean over columns for each row, then mean over rows for each column."""
    return torch.cat([x.mean(dim=3), x.mean(dim=2)], dim=2)


#: Range of :func:`bhattacharyya_weight` / :func:`adaptive_weight`: ``exp(-BC)`` with ``BC`` in [0, 1].
WEIGHT_RANGE = (math.exp(-1.0), 1.0)


def bhattacharyya_weight(h1: torch.Tensor, h2: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``w = exp(-BC(h1, h2))`` with ``BC = sum_k sqrt(p1_k * p2_k)`` of the normalised histograms ``p = h / sum h``.

    Works on the last axis, so (..., bins) -> (...). Negative entries are clamped to 0, an empty histogram has
    ``BC = 0``; ``BC`` is clamped to [0, 1] (rounding), so ``w`` always lies in :data:`WEIGHT_RANGE`
    ``= [exp(-1), 1]``: ``exp(-1)`` for identical distributions, 1 for disjoint ones.
    """
    p1, p2 = h1.float().clamp(min=0), h2.float().clamp(min=0)
    p1 = p1 / p1.sum(dim=-1, keepdim=True).clamp(min=eps)
    p2 = p2 / p2.sum(dim=-1, keepdim=True).clamp(min=eps)
    bc = (p1 * p2).sqrt().sum(dim=-1).clamp(0.0, 1.0)
    return torch.exp(-bc).clamp(*WEIGHT_RANGE)


def _histograms(values: torch.Tensor, bins: int) -> torch.Tensor:
    """(B, N) values -> (B, bins) counts over [0, 1]; values are clamped into the range so every one is counted."""
    idx = (values.clamp(0.0, 1.0) * bins).long().clamp(max=bins - 1)
    return F.one_hot(idx, bins).sum(dim=1).float()


@torch.no_grad()
def adaptive_weight(memory_cam: torch.Tensor, aux_cam: torch.Tensor, cam: torch.Tensor, bins: int = 10,
                    reduction: str = 'mean', eps: float = 1e-6) -> torch.Tensor:
    """Adaptive weight of the memory contrast loss (docs/methods/msfc.md), with normalised histograms (bounded).

    Per image, with ``pi`` = :func:`projection_profile` (K x (h + w)) and the CAMs resized to the memory CAM's grid:

    1. ``a1 = cos_K(pi(S), pi(M_aux))``, ``a2 = cos_K(pi(S), pi(M))`` over the class axis, each (h + w);
    2. ``a1``, ``a2`` L2-normalised over the h + w positions;
    3. ``H1``, ``H2``: ``bins``-bin histograms over [0, 1] (values clamped into it), normalised to sum 1;
    4. ``w = exp(-sum_k sqrt(H1_k * H2_k))`` (:func:`bhattacharyya_weight`), in ``[exp(-1), 1]``.

    No gradient. ``reduction='mean'`` averages the per-image weights (still in the range), ``'none'`` keeps (B,).
    """
    if reduction not in ('mean', 'none'):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    size = memory_cam.shape[-2:]
    resize = (lambda x: x if x.shape[-2:] == size else
              F.interpolate(x.float(), size=tuple(size), mode='bilinear', align_corners=False))
    s = projection_profile(memory_cam.detach().float())
    a1 = F.cosine_similarity(s, projection_profile(resize(aux_cam.detach().float())), dim=1, eps=eps)
    a2 = F.cosine_similarity(s, projection_profile(resize(cam.detach().float())), dim=1, eps=eps)
    a1, a2 = F.normalize(a1, dim=1, eps=eps), F.normalize(a2, dim=1, eps=eps)
    weight = bhattacharyya_weight(_histograms(a1, bins), _histograms(a2, bins))
    return weight.mean() if reduction == 'mean' else weight


@MODELS.register_module()
class MemoryPrototypeContrast(AuxModule):
    """PTC-form loss on the final tokens with token labels from the memory CAM ``cos(tokens, prototypes)``.

    The module owns its :class:`PrototypeMemoryBank`: :meth:`observe` adds the batch's confident-region token
    means to it in every step (also before the loss starts), :class:`~mmwsss.engine.hooks.MemoryBankHook` closes
    the window every ``update_interval`` optimizer steps. The loss is 0 until the bank holds a prototype, and
    images with a labelled class that has no prototype yet are ignored (their memory CAM could not show that
    class). With ``adaptive=True`` the loss is scaled by :func:`adaptive_weight` (VOC); without it (COCO) it is
    used as is. See docs/methods/msfc.md.

    Args:
        loss (dict, optional): the registered loss; defaults to ``PTCLoss`` with weight 0.5 and key ``loss_mem``.
        adaptive (bool): apply the adaptive weight. Defaults to True.
        update_interval (int): optimizer steps between two bank updates (200). Defaults to 200.
        bank (dict, optional): :class:`PrototypeMemoryBank` arguments (``bkg_thr``, ``momentum``, ``min_count``).
        start_iter (int, optional): first optimizer step of the loss; defaults to ``update_interval`` (the first
            step after the first update).
        thr (tuple[float, float], optional): token label thresholds on the memory CAM; the segmentor's pair by
            default.
        memory_cam_norm (str): what the thresholds are applied to. ``'raw'`` (the released code's choice, the
            default): the cosine ``cos(token, prototype)`` itself, which early in training rarely exceeds the CAM
            thresholds, so the loss sees almost only background targets; ``'cam'``: the cosine normalised like a
            CAM (ReLU, then min-max per image and class over the token grid) before thresholding.

    Besides the loss, :meth:`forward` returns two logged values (no ``loss`` in their names, so not summed):
    ``mem_fg_fraction``, the fraction of the batch's tokens the memory CAM labels foreground, and ``mem_weight``,
    the adaptive weight that scaled the loss (1.0 without ``adaptive``); both 0 while the bank is still empty.
    """
    observes_cam = True
    log_names = ('mem_fg_fraction', 'mem_weight')
    MEMORY_CAM_NORMS = ('raw', 'cam')

    def __init__(self, loss: Optional[dict] = None, adaptive: bool = True, update_interval: int = 200,
                 bank: Optional[dict] = None, start_iter: Optional[int] = None, thr=None,
                 memory_cam_norm: str = 'raw') -> None:
        super().__init__(start_iter=update_interval if start_iter is None else start_iter, thr=thr)
        if memory_cam_norm not in self.MEMORY_CAM_NORMS:
            raise ValueError(f'memory_cam_norm must be one of {self.MEMORY_CAM_NORMS}, got {memory_cam_norm!r}')
        self.memory_cam_norm = memory_cam_norm
        self.loss = build_loss(dict(type='PTCLoss', loss_weight=0.5, loss_name='loss_mem'), loss)
        self.adaptive = adaptive
        self.update_interval = int(update_interval)
        self._bank_cfg = dict(bank or {})
        self.bank = None

    def bind(self, defaults: AuxDefaults) -> None:
        super().bind(defaults)
        self.bank = PrototypeMemoryBank(defaults.num_classes, defaults.embed_dims, update_interval=self.update_interval,
                                        **self._bank_cfg)

    def _bank(self) -> PrototypeMemoryBank:
        if self.bank is None:
            raise RuntimeError('MemoryPrototypeContrast has no bank yet: the segmentor builds it in bind()')
        return self.bank

    def observe(self, ctx) -> None:
        bank = self._bank()
        bank.accumulate(*bank.extract(ctx.patch_tokens.detach(), ctx.cam, ctx.img_labels, img_boxes=ctx.img_boxes))

    def forward(self, ctx) -> dict:
        bank = self._bank()
        tokens = ctx.patch_tokens
        if not bool(bank.initialised.any()):  # warming up: the hook has not filled the bank yet (logged as 0)
            zero = tokens.new_zeros(())
            return {self.loss.loss_name: tokens.sum() * 0, 'mem_fg_fraction': zero, 'mem_weight': zero}
        mem = bank.memory_cam(tokens)
        scored = normalise_cam(mem.detach().relu()) if self.memory_cam_norm == 'cam' else mem.detach()
        labels = cam_to_label(scored, ctx.img_labels, img_box=ctx.img_boxes, crop_hw=ctx.crop_hw,
                              high=self.high_thr, low=self.low_thr, ignore_mid=True)
        missing = ((ctx.img_labels > 0) & ~bank.initialised[None]).any(1)
        labels[missing] = 255
        loss = self.loss(tokens, ptc_pair_labels(labels.flatten(1)))
        weight = adaptive_weight(mem.detach(), ctx.aux_cam, ctx.cam) if self.adaptive else tokens.new_ones(())
        fg_fraction = ((labels > 0) & (labels != 255)).float().mean()
        return {self.loss.loss_name: loss * weight, 'mem_fg_fraction': fg_fraction, 'mem_weight': weight.detach()}
