"""The single-stage WSSS segmentor: it orchestrates; every paper term lives in its own module."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData

from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ...datasets.keys import IMG_BOX
from ...runtime_info import accumulative_counts, current_iter
from ..cam import box_mask
from ..contrast import AuxDefaults, WSSSContext, WSSSEncoder
from .legacy_keys import LEGACY_SEGMENTOR_KEYS, reject_unknown_keys, upgrade_state_dict
from .nan_guard import NaNGuardMixin


def denormalise(inputs: torch.Tensor, preprocessor: nn.Module) -> torch.Tensor:
    """The normalised main view back in [0, 1] RGB (channel order of ``inputs``), as PAR's guidance image."""
    return ((inputs * preprocessor.std + preprocessor.mean) / 255.0).clamp(0, 1)


@MODELS.register_module()
class WeakSegmentor(NaNGuardMixin, EncoderDecoder):
    """Single-stage weakly-supervised segmentor trained from image-level labels (ToCo core; MCC, MSFC on top).

    One training step::

        loss(): backbone -> CAM head (classification losses) -> multi-scale CAMs (no grad)
                -> WSSSContext -> aux modules: observe() all, forward() the active ones (PTC, CTC, MCC, SMCM, MP2M)
                -> pseudo labels (PAR) -> decode head loss (+ dense energy loss)    [from seg_start_iter]

    1. backbone (``WSSSViT``) -> class token, final patch tokens, aux-layer patch tokens;
    2. :class:`~mmwsss.models.cam.CAMHead`: classification on both token maps; its weights give the CAM and the
       aux CAM, multi-scale + flip;
    3. auxiliary modules (``aux_losses``, a dict keyed by term), each with its own weight and start step, reading a
       :class:`~mmwsss.models.contrast.WSSSContext`;
    4. :class:`~mmwsss.models.cam.PseudoLabeler`: CAM -> PAR -> pseudo labels with a 255 ignore band and the crop
       padding ignored, written into ``gt_sem_seg`` so that **any MMSeg decode head** trains on them with its own
       ``loss()``.

    Iteration thresholds (``seg_start_iter``, the modules' ``start_iter``, CAM switches) count optimizer steps
    (:mod:`mmwsss.runtime_info`), so ``-accN`` configs only change MMEngine's keys.

    Inference goes through MMSeg's ``predict``/``postprocess_result`` (``tools/test.py``, ``--tta``, IoUMetric and
    the visualiser work unchanged). ``test_cfg.output`` chooses what is predicted: ``'seg'`` (decode head),
    ``'cam'`` (multi-scale CAM with a constant background score ``test_cfg.bkg_thr``; ``test_cfg.cam='aux'`` for the
    aux CAM) or ``'pseudo'`` (the pseudo labels of training; 255 where uncertain). ``'cam'`` and ``'pseudo'`` need
    ``gt_img_labels``.

    Args:
        backbone (dict): a backbone returning ``(cls_token, patch_tokens, aux_tokens)`` (``WSSSViT``).
        decode_head (dict): any MMSeg decode head; ``in_index=1`` picks the final patch tokens. Its
            ``num_classes - 1`` is the number of image-level classes.
        cam_head (dict, optional): :class:`~mmwsss.models.cam.CAMHead` arguments (``scales``, loss weights).
        pseudo_label (dict, optional): :class:`~mmwsss.models.cam.PseudoLabeler` arguments (``cam``, ``par``,
            ``par_scale``).
        thr (tuple[float, float]): ``(low, high)`` CAM thresholds of the pseudo labels and, unless a module sets
            its own, of every aux module (0.25, 0.7; COCO 0.25, 0.65).
        aux_losses (dict, optional): ``{term: module config}``; ``None`` entries are dropped, so a config removes a
            term with ``aux_losses=dict(smcm=None)``.
        seg_start_iter (int): first optimizer step whose loss includes the decode head (ToCo/MCC VOC: 2001).
        energy_loss (dict, optional): a dense-CRF energy loss on the decode head's softmax
            (:class:`~mmwsss.models.losses.DenseEnergyLoss`), active with the segmentation loss.
        nan_guard (bool): stop on a NaN/Inf logged value before the optimizer step
            (:class:`~mmwsss.models.segmentors.nan_guard.NaNGuardMixin`). Defaults to True.
        **kwargs: :class:`mmseg.models.EncoderDecoder` arguments (``neck``, ``auxiliary_head``, ``train_cfg``,
            ``test_cfg``, ``data_preprocessor``, ``pretrained``, ``init_cfg``).
    """

    def __init__(self, backbone: dict, decode_head: dict, cam_head: Optional[dict] = None,
                 pseudo_label: Optional[dict] = None, thr: Sequence[float] = (0.25, 0.7),
                 aux_losses: Optional[dict] = None, seg_start_iter: int = 0, energy_loss: Optional[dict] = None,
                 nan_guard: bool = True, **kwargs) -> None:
        reject_unknown_keys('WeakSegmentor', {k: v for k, v in kwargs.items() if k in LEGACY_SEGMENTOR_KEYS},
                            LEGACY_SEGMENTOR_KEYS)
        super().__init__(backbone=backbone, decode_head=decode_head, **kwargs)
        num_fg = self.num_classes - 1
        embed_dims = self.backbone.embed_dims
        self.cam_head = MODELS.build({'type': 'CAMHead', **(cam_head or {})},
                                     default_args=dict(in_channels=embed_dims, num_classes=num_fg))
        self.thr = tuple(float(v) for v in thr)
        self.pseudo_labeler = MODELS.build({'type': 'PseudoLabeler', 'thr': self.thr, **(pseudo_label or {})})
        if aux_losses is not None and not isinstance(aux_losses, dict):
            raise TypeError('aux_losses is a dict keyed by term, e.g. dict(ptc=dict(type="PatchTokenContrast"), '
                            f'mcc=dict(type="MaskedViewContrast")), got {type(aux_losses).__name__}')
        self.aux_losses = nn.ModuleDict({k: MODELS.build(v) for k, v in (aux_losses or {}).items() if v is not None})
        for module in self.aux_losses.values():
            module.bind(AuxDefaults(num_classes=num_fg, embed_dims=embed_dims, thr=self.thr))
        self.seg_start_iter = seg_start_iter
        self.energy_loss = MODELS.build(energy_loss) if energy_loss is not None else None
        self.nan_guard = nan_guard
        self._batch_paths = []

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        upgrade_state_dict(state_dict, self, prefix)  # checkpoints of the layout before the structural step
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def multi_scale_cams(self, inputs: torch.Tensor):
        """Multi-scale + flip, min-max normalised ``(cam, aux_cam)`` (B, K, H, W) of ``inputs``, no gradient."""
        return self.cam_head.multi_scale_cams(self.backbone, inputs)

    def _denormalised(self, inputs: torch.Tensor) -> torch.Tensor:
        return denormalise(inputs, self.data_preprocessor)

    def _img_labels(self, data_samples) -> torch.Tensor:
        try:
            labels = torch.stack([s.gt_img_labels for s in data_samples]).float()
        except AttributeError as exc:
            raise KeyError('WeakSegmentor needs image-level labels: the training pipeline must end with '
                           'PackWeakSegInputs and the dataset must provide gt_img_labels') from exc
        if labels.shape[1] != self.num_classes - 1:
            raise ValueError(f'image-level labels have {labels.shape[1]} classes but the model expects '
                             f'{self.num_classes - 1} (num_classes - 1); check the dataset and model configs')
        return labels

    @staticmethod
    def _img_boxes(data_samples, hw):
        return [tuple(s.metainfo.get(IMG_BOX, (0, hw[0], 0, hw[1]))) for s in data_samples]

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        losses, ctx, feats = self.train_core(inputs, data_samples)
        if ctx.step >= self.seg_start_iter:
            losses.update(self._seg_losses(ctx, feats))
        return losses

    def train_core(self, inputs: torch.Tensor, data_samples, high_thr: Optional[torch.Tensor] = None,
                   need_cams: bool = False):
        """The part of a training step before the segmentation loss: backbone, classification, CAMs, aux modules.

        A segmentor built of several of these (:class:`~mmwsss.models.segmentors.DualStudentSegmentor`) calls it
        per student and adds its own terms.

        Args:
            inputs (Tensor): normalised main view (B, 3, H, W).
            data_samples (list): the batch's ``SegDataSample``.
            high_thr (Tensor, optional): (B,) per-image high CAM threshold of this step (``WSSSContext.high_thr``).
            need_cams (bool): compute the multi-scale CAMs even if nothing of this segmentor reads them.

        Returns:
            tuple: ``(losses, ctx, feats)``: the classification and aux-module losses, the step's
            :class:`~mmwsss.models.contrast.WSSSContext` and the backbone outputs.
        """
        it, acc = current_iter(), accumulative_counts()
        step = it // acc
        self._batch_paths = [str(s.metainfo.get('img_path', '?')) for s in data_samples]
        img_labels = self._img_labels(data_samples)
        img_boxes = self._img_boxes(data_samples, inputs.shape[-2:])
        feats = self.backbone(inputs)
        cls_token, patch, aux = feats
        losses = self.cam_head.loss(patch, aux, img_labels)

        active = [m for m in self.aux_losses.values() if step >= m.start_iter]
        seg = step >= self.seg_start_iter
        # the no-grad CAM passes only when something reads them (e.g. not in ToCo COCO's classification-only phase)
        cam = aux_cam = None
        if active or seg or need_cams or any(m.observes_cam for m in self.aux_losses.values()):
            cam, aux_cam = self.multi_scale_cams(inputs)
        ctx = WSSSContext(iter=it, step=step, first_in_step=it % acc == 0, inputs=inputs, data_samples=data_samples,
                          img_labels=img_labels, img_boxes=img_boxes, cls_token=cls_token, patch_tokens=patch,
                          aux_tokens=aux, cam=cam, aux_cam=aux_cam, encoder=WSSSEncoder(self.backbone, self.cam_head),
                          high_thr=high_thr)
        for module in self.aux_losses.values():
            module.observe(ctx)
        for module in active:
            losses.update(module(ctx))
        return losses, ctx, feats

    def _seg_losses(self, ctx: WSSSContext, feats) -> dict:
        """Pseudo labels -> the decode head's own loss (+ the energy loss on its softmax)."""
        image = self._denormalised(ctx.inputs)
        pseudo = self.pseudo_labeler(ctx.cam, ctx.aux_cam, ctx.img_labels, image, ctx.img_boxes, ctx.step)
        for sample, label in zip(ctx.data_samples, pseudo):
            sample.gt_sem_seg = PixelData(data=label[None])
        # = decode_head.loss(), split so that the energy loss can read the same logits
        seg_logits = self.decode_head(feats)
        losses = add_prefix(self.decode_head.loss_by_feat(seg_logits, ctx.data_samples), 'decode')
        if self.energy_loss is not None:
            probs = F.softmax(resize(seg_logits, size=ctx.crop_hw, mode='bilinear', align_corners=self.align_corners),
                              dim=1)
            rois = box_mask(ctx.img_boxes, ctx.crop_hw, device=ctx.inputs.device)  # boxes are in input pixels
            losses[self.energy_loss.loss_name] = self.energy_loss(image * 255.0, probs, rois.float(), pseudo)
        return losses

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
        cam = aux_cam if self.test_cfg.get('cam', 'final') == 'aux' else cam
        if output == 'cam':
            bkg = torch.full_like(cam[:, :1], float(self.test_cfg.get('bkg_thr', 0.5)))
            return self.postprocess_result(torch.cat([bkg, cam * img_labels[..., None, None]], dim=1), data_samples)
        pseudo = self.pseudo_labeler.label(cam, img_labels, self._denormalised(inputs),
                                           self._img_boxes(data_samples, inputs.shape[-2:]))
        one_hot = F.one_hot(pseudo.clamp(max=self.num_classes - 1), self.num_classes).permute(0, 3, 1, 2).float()
        results = self.postprocess_result(one_hot, data_samples)
        for sample, label in zip(results, pseudo):  # keep the ignore band as 255 at the original size
            ignore = resize(label[None, None].float(), size=sample.pred_sem_seg.shape, mode='nearest')[0, 0]
            sample.pred_sem_seg.data[:, ignore == 255] = 255
        return results
