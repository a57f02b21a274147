"""The single-stage WSSS segmentor (ToCo core): CAMs -> PAR pseudo labels -> any MMSeg decode head, + aux losses."""
import copy
import math
from collections import OrderedDict
from typing import List, Optional, Sequence

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmengine.structures import PixelData

from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ..utils.cam import box_mask, multi_scale_cam, pseudo_labels_with_par
from ..utils.ema import ema_update_
from ..utils.memory_bank import PrototypeMemoryBank
from ..utils.par import PAR
from .context import WSSSContext


def current_iter() -> int:
    """The runner's 0-based iteration (MMEngine's RuntimeInfoHook keeps it in the message hub); 0 outside it."""
    return int(MessageHub.get_current_instance().get_info('iter', 0))


@MODELS.register_module()
class WeakSegmentor(EncoderDecoder):
    """Single-stage weakly-supervised segmentor trained from image-level labels (ToCo core; MCC, MSFC on top).

    One training step (spec sections 1-2):

    1. backbone (``WSSSViT``) -> class token, final patch tokens, aux-layer patch tokens;
    2. classification on both token maps (global max pooling, 1x1 classifiers without bias, multilabel
       soft-margin loss); their weights give the CAM and the aux CAM;
    3. multi-scale + flip CAMs (no grad) -> PAR -> pseudo labels with a 255 ignore band and the crop padding
       ignored, written into ``gt_sem_seg`` so that **any MMSeg decode head** trains on them with its own
       ``loss()`` (from ``seg_start_iter`` on);
    4. auxiliary losses (``aux_losses``: PTC, ToCo's local-crop contrast, MCC's masked-view contrast, ...), each a
       registered module with its own weight and start iteration that reads a :class:`WSSSContext`.

    Inference goes through MMSeg's ``predict``/``postprocess_result`` (``tools/test.py``, ``--tta``, IoUMetric and
    the visualiser work unchanged). ``test_cfg.output`` chooses what is predicted: ``'seg'`` (decode head),
    ``'cam'`` (multi-scale CAM with a constant background score ``test_cfg.bkg_thr``) or ``'pseudo'`` (the PAR
    pseudo labels of training; 255 where uncertain). ``'cam'`` and ``'pseudo'`` need ``gt_img_labels``.

    Args:
        backbone (dict): a backbone returning ``(cls_token, patch_tokens, aux_tokens)`` (``WSSSViT``).
        decode_head (dict): any MMSeg decode head; ``in_index=1`` picks the final patch tokens.
        num_fg_classes (int, optional): image-level classes; defaults to ``decode_head.num_classes - 1``.
        cam_scales (sequence[float]): CAM scales (+ flip). Defaults to (1.0, 0.5, 1.5).
        high_thr, low_thr (float): background thresholds of the pseudo labels (0.7 / 0.25 VOC; 0.65 COCO).
        pseudo_cam (str): CAM feeding the pseudo labels: 'final' or 'aux'. ``aux_pseudo_until`` switches from
            'aux' to 'final' after that iteration (ToCo/MCC COCO: 12000).
        par (dict): :class:`~mmwsss.models.utils.par.PAR` arguments.
        par_scale (float): resolution at which PAR runs (0.5 = half, as the reference).
        cls_loss_weight, aux_cls_loss_weight (float): weights of the two classification losses (1.0).
        seg_start_iter (int): first iteration whose loss includes the decode head (ToCo/MCC VOC: 2001, i.e.
            iterations n > 2000 of the reference).
        aux_losses (list[dict]): auxiliary loss modules.
        projector (dict, optional): projection head for class-token contrast; an EMA teacher copy is kept
            (in the checkpoint, not in the optimizer) and updated once per step before the losses.
        ema_momentum (float): teacher momentum. Defaults to 0.9.
        ema_interval (int): update the teacher only in iterations ``it % ema_interval == 0``. Set it to
            ``optim_wrapper.accumulative_counts``: the student changes once per optimizer step, so one update with
            the recipe's momentum at the first forward of each accumulation window gives every forward the teacher
            the multi-GPU recipe uses (with ``m ** (1 / N)`` per forward the first N - 1 forwards of a window would
            see a partly updated teacher). Defaults to 1.
        memory_bank (dict, optional): :class:`~mmwsss.models.utils.PrototypeMemoryBank` arguments (MSFC's MP2M);
            every step adds the batch's confident-region token means to it, ``MemoryBankHook`` updates it.
        energy_loss (dict, optional): a dense-CRF energy loss on the decode head's softmax
            (:class:`~mmwsss.models.losses.DenseEnergyLoss`, the reference's rloss), active with the segmentation
            loss; it reads the image, the crop box and the pseudo labels' 255 band.
        nan_guard (bool): stop training with a ``FloatingPointError`` naming the loss term, the iteration and the
            batch's images as soon as a logged value is NaN/Inf, before the optimizer step (so the weights stay
            clean). Defaults to True.
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments (``neck``, ``auxiliary_head``, ``train_cfg``,
            ``test_cfg``, ``data_preprocessor``, ``pretrained``, ``init_cfg``).
    """

    def __init__(self, backbone: dict, decode_head: dict, num_fg_classes: Optional[int] = None,
                 cam_scales: Sequence[float] = (1.0, 0.5, 1.5), high_thr: float = 0.7, low_thr: float = 0.25,
                 pseudo_cam: str = 'final', aux_pseudo_until: Optional[int] = None, par: Optional[dict] = None,
                 par_scale: float = 0.5, cls_loss_weight: float = 1.0, aux_cls_loss_weight: float = 1.0,
                 seg_start_iter: int = 0, aux_losses: Optional[List[dict]] = None,
                 projector: Optional[dict] = None, ema_momentum: float = 0.9, ema_interval: int = 1,
                 memory_bank: Optional[dict] = None, energy_loss: Optional[dict] = None, nan_guard: bool = True,
                 **kwargs) -> None:
        super().__init__(backbone=backbone, decode_head=decode_head, **kwargs)
        if pseudo_cam not in ('final', 'aux'):
            raise ValueError(f"pseudo_cam must be 'final' or 'aux', got {pseudo_cam!r}")
        self.num_fg_classes = num_fg_classes or self.num_classes - 1
        embed_dims = self.backbone.embed_dims
        self.classifier = nn.Conv2d(embed_dims, self.num_fg_classes, 1, bias=False)
        self.aux_classifier = nn.Conv2d(embed_dims, self.num_fg_classes, 1, bias=False)
        self.cam_scales = tuple(cam_scales)
        self.high_thr, self.low_thr = high_thr, low_thr
        self.pseudo_cam = pseudo_cam
        self.aux_pseudo_until = aux_pseudo_until
        self.par = PAR(**(par or {}))
        self.par_scale = par_scale
        self.cls_loss_weight, self.aux_cls_loss_weight = cls_loss_weight, aux_cls_loss_weight
        self.seg_start_iter = seg_start_iter
        self.aux_losses = nn.ModuleList([MODELS.build(cfg) for cfg in (aux_losses or [])])
        self.ema_momentum = ema_momentum
        if ema_interval < 1:
            raise ValueError(f'ema_interval must be >= 1, got {ema_interval}')
        self.ema_interval = int(ema_interval)
        if projector is not None:
            self.projector = MODELS.build(projector)
            self.projector_teacher = copy.deepcopy(self.projector)
            self.projector_teacher.requires_grad_(False)
        else:
            self.projector = self.projector_teacher = None
        # MSFC's prototype memory: filled from this model's own steps, updated by MemoryBankHook
        self.memory_bank = (PrototypeMemoryBank(self.num_fg_classes, embed_dims, **memory_bank)
                            if memory_bank is not None else None)
        self.energy_loss = MODELS.build(energy_loss) if energy_loss is not None else None
        self.nan_guard = nan_guard
        self._batch_paths: List[str] = []

    # ------------------------------------------------------------------ CAMs
    def token_cams(self, x: torch.Tensor):
        """Raw CAMs (B, K, h, w) of the final and aux tokens of input ``x`` (classifier weights, no ReLU)."""
        _, patch, aux = self.backbone(x)
        return F.conv2d(patch, self.classifier.weight), F.conv2d(aux, self.aux_classifier.weight)

    @torch.no_grad()
    def multi_scale_cams(self, inputs: torch.Tensor):
        """Multi-scale + flip, min-max normalised CAM and aux CAM at input resolution (spec 1.2)."""
        return multi_scale_cam(self.token_cams, inputs, self.cam_scales)

    def _denormalised(self, inputs: torch.Tensor) -> torch.Tensor:
        """The main view back in [0, 1] RGB (channel order of ``inputs``), as PAR's guidance image."""
        pre = self.data_preprocessor
        return ((inputs * pre.std + pre.mean) / 255.0).clamp(0, 1)

    def pseudo_labels(self, cam: torch.Tensor, img_labels: torch.Tensor, inputs: torch.Tensor, img_boxes):
        return pseudo_labels_with_par(cam, img_labels, self._denormalised(inputs), self.par, high=self.high_thr,
                                      low=self.low_thr, img_box=img_boxes, down_scale=round(1 / self.par_scale))

    # ------------------------------------------------------------------ training
    @staticmethod
    def _img_labels(data_samples) -> torch.Tensor:
        try:
            return torch.stack([s.gt_img_labels for s in data_samples]).float()
        except AttributeError as exc:
            raise KeyError('WeakSegmentor needs image-level labels: the training pipeline must end with '
                           'PackWeakSegInputs and the dataset must provide gt_img_labels') from exc

    @staticmethod
    def _img_boxes(data_samples, hw):
        return [tuple(s.metainfo.get('img_box', (0, hw[0], 0, hw[1]))) for s in data_samples]

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        it = current_iter()
        self._batch_paths = [str(s.metainfo.get('img_path', '?')) for s in data_samples]
        img_labels = self._img_labels(data_samples)
        if img_labels.shape[1] != self.num_fg_classes:
            raise ValueError(f'image-level labels have {img_labels.shape[1]} classes but the model expects '
                             f'{self.num_fg_classes} (num_classes - 1); check the dataset and model configs')
        img_boxes = self._img_boxes(data_samples, inputs.shape[-2:])
        feats = self.backbone(inputs)
        cls_token, patch, aux = feats
        losses = {}
        logits = self.classifier(F.adaptive_max_pool2d(patch, 1)).flatten(1)
        aux_logits = self.aux_classifier(F.adaptive_max_pool2d(aux, 1)).flatten(1)
        losses['loss_cls'] = self.cls_loss_weight * F.multilabel_soft_margin_loss(logits, img_labels)
        losses['loss_cls_aux'] = self.aux_cls_loss_weight * F.multilabel_soft_margin_loss(aux_logits, img_labels)

        active = [m for m in self.aux_losses if it >= m.start_iter]
        # the 6 no-grad CAM passes only when something reads them (e.g. not in ToCo COCO's classification-only phase)
        if active or it >= self.seg_start_iter or self.memory_bank is not None:
            cam, aux_cam = self.multi_scale_cams(inputs)
        else:
            cam = aux_cam = None
        if self.projector is not None and it % self.ema_interval == 0:
            with torch.no_grad():  # once per step, before any teacher output (reference order)
                ema_update_(self.projector_teacher, self.projector, self.ema_momentum)
        ctx = WSSSContext(iter=it, inputs=inputs, data_samples=data_samples, img_labels=img_labels,
                          img_boxes=img_boxes, cls_token=cls_token, patch_tokens=patch, aux_tokens=aux, cam=cam,
                          aux_cam=aux_cam, backbone=self.backbone, projector=self.projector,
                          projector_teacher=self.projector_teacher,
                          extras=dict(cam_fn=self.token_cams,  # CAMs with gradient (view consistency)
                                      memory_bank=self.memory_bank))
        if self.memory_bank is not None:
            self.memory_bank.accumulate(*self.memory_bank.extract(patch.detach(), cam, img_labels,
                                                                  img_boxes=img_boxes))
        for module in active:
            losses.update(module(ctx))

        if it >= self.seg_start_iter:
            use_aux = self.pseudo_cam == 'aux' or (self.aux_pseudo_until is not None and it <= self.aux_pseudo_until)
            pseudo = self.pseudo_labels(aux_cam if use_aux else cam, img_labels, inputs, img_boxes)
            for sample, label in zip(data_samples, pseudo):
                sample.gt_sem_seg = PixelData(data=label[None])
            # = decode_head.loss(), split so that the energy loss can read the same logits
            seg_logits = self.decode_head(feats)
            losses.update(add_prefix(self.decode_head.loss_by_feat(seg_logits, data_samples), 'decode'))
            if self.energy_loss is not None:
                probs = F.softmax(resize(seg_logits, size=inputs.shape[-2:], mode='bilinear',
                                         align_corners=self.align_corners), dim=1)
                rois = box_mask(img_boxes, inputs.shape[-2:], device=inputs.device)  # boxes are in input pixels
                losses[self.energy_loss.loss_name] = self.energy_loss(self._denormalised(inputs) * 255.0, probs,
                                                                      rois.float(), pseudo)
        return losses

    def parse_losses(self, losses: dict):
        """mmengine's sum of the loss terms; the logged values are averaged over processes and checked for NaN/Inf.

        Averaging makes the log of a DDP run the loss of its global batch (mmengine logs rank 0's own values) and
        lets every rank see the same values, so with ``nan_guard`` all ranks stop together instead of the others
        waiting forever in the next all-reduce.
        """
        loss, log_vars = super().parse_losses(losses)
        names = list(log_vars)
        values = torch.stack([v.detach().float().reshape(()) for v in log_vars.values()])
        local_bad = [n for n, v in zip(names, values.tolist()) if not math.isfinite(v)]
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # every rank has the same loss keys: the active terms depend on the iteration and on the memory bank,
            # which are the same on all ranks
            dist.all_reduce(values, op=dist.ReduceOp.SUM)
            values = values / dist.get_world_size()
        if self.nan_guard and not bool(torch.isfinite(values).all()):
            raise FloatingPointError(self._non_finite_message(names, values, local_bad))
        return loss, OrderedDict(zip(names, values))

    def _non_finite_message(self, names, values, local_bad) -> str:
        bad = [f'{n}={v}' for n, v in zip(names, values.tolist()) if n != 'loss' and not math.isfinite(v)]
        where = (f'This process computed non-finite {", ".join(local_bad)} for the images' if local_bad
                 else 'Another process produced it; this process\'s losses were finite for the images')
        return (f'non-finite loss at iteration {current_iter() + 1}: {", ".join(bad) or "loss"}. {where} '
                f'{", ".join(self._batch_paths) or "an unknown batch"}. Training stopped before the optimizer '
                'step, so the last checkpoint is clean: find the cause (learning rate, bad image, loss '
                'weights), then continue with tools/train.py --resume. model.nan_guard=False disables this check.')

    # ------------------------------------------------------------------ inference
    def predict(self, inputs: torch.Tensor, data_samples=None):
        output = self.test_cfg.get('output', 'seg') if self.test_cfg else 'seg'
        if output == 'seg':
            return super().predict(inputs, data_samples)
        if output not in ('cam', 'pseudo'):
            raise ValueError(f"test_cfg.output must be 'seg', 'cam' or 'pseudo', got {output!r}")
        if data_samples is None:
            raise ValueError(f"test_cfg.output={output!r} needs data samples with gt_img_labels")
        img_labels = self._img_labels(data_samples).to(inputs.device)
        cam, aux_cam = self.multi_scale_cams(inputs)
        if self.test_cfg.get('cam', 'final') == 'aux':
            cam = aux_cam
        if output == 'cam':
            bkg = torch.full_like(cam[:, :1], float(self.test_cfg.get('bkg_thr', 0.5)))
            seg_logits = torch.cat([bkg, cam * img_labels[..., None, None]], dim=1)
            return self.postprocess_result(seg_logits, data_samples)
        pseudo = self.pseudo_labels(cam, img_labels, inputs, self._img_boxes(data_samples, inputs.shape[-2:]))
        one_hot = F.one_hot(pseudo.clamp(max=self.num_classes - 1), self.num_classes).permute(0, 3, 1, 2).float()
        results = self.postprocess_result(one_hot, data_samples)
        for sample, label in zip(results, pseudo):  # keep the ignore band as 255 at the original size
            ignore = resize(label[None, None].float(), size=sample.pred_sem_seg.shape, mode='nearest')[0, 0]
            sample.pred_sem_seg.data[:, ignore == 255] = 255
        return results
