"""A segmentor of N complete students trained together (DuPL): each is a :class:`WeakSegmentor`, the cross-student
terms live here and in :mod:`mmwsss.models.dupl`."""
import copy
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import ModuleList

from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.utils import add_prefix

from ...datasets.keys import VIEW_STRONG
from ...runtime_info import accumulative_counts, current_iter
from ..dupl.consistency import strong_view_logits
from ..dupl.cross_supervision import cross_pseudo_supervision, partner
from .nan_guard import NaNGuardMixin
from .weak_segmentor import WeakSegmentor, denormalise


def _build_optional(cfg: Optional[dict]) -> Optional[nn.Module]:
    return MODELS.build(cfg) if cfg is not None else None


@MODELS.register_module()
class DualStudentSegmentor(NaNGuardMixin, BaseSegmentor):
    """``num_students`` complete :class:`WeakSegmentor` students, no parameter shared, trained with DuPL's terms.

    Every key a :class:`WeakSegmentor` takes (``backbone``, ``decode_head``, ``cam_head``, ``pseudo_label``, ``thr``,
    ``aux_losses``, ``seg_start_iter``, ...) describes ONE student; the students are built from it one after the
    other, so they load the same pretrained weights and differ in their randomly initialised heads (and, trained
    from scratch, everywhere). A DuPL config is therefore a single-student config with ``type`` changed and the
    cross-student terms added. One training step::

        per student: WeakSegmentor.train_core (backbone, CAM head losses, multi-scale CAMs, aux modules e.g. PTC)
                     with the per-image dynamic threshold in the step's context
        discrepancy loss between the students' final tokens                                 [from its start_iter]
        per student: pseudo labels (PAR, dynamic threshold) -> noise filter (GMM)            [from seg_start_iter]
        cross pseudo supervision: head k <- labels of student k+1 (each head's own loss_by_feat)
        consistency on the strong view where the partner's labels are ignored                [from its start_iter]

    Loss keys are prefixed ``student0.`` / ``student1.``; the discrepancy is ``loss_dis``.

    Prediction (``test_cfg.student``): one student's output (0, the default, or 1; ``output='cam'/'pseudo'`` too)
    or ``'mean'``, the mean of the students' segmentation logits. Choose it before looking at the split you report:
    the released DuPL evaluation picks, per split, the student with the better ground-truth mIoU, which selects on
    the test data.

    Args:
        num_students (int): Defaults to 2.
        dynamic_threshold (dict, optional): :class:`~mmwsss.models.dupl.DynamicThreshold`; its per-image threshold
            replaces the high threshold of the pseudo labels and of the aux modules that use the segmentor's
            thresholds (PTC). None: the fixed ``thr``.
        discrepancy (dict, optional): :class:`~mmwsss.models.dupl.DiscrepancyLoss` (with its ``start_iter``).
        noise_filter (dict, optional): :class:`~mmwsss.models.dupl.GMMNoiseFilter` (with its ``start_iter``).
        consistency (dict, optional): :class:`~mmwsss.models.dupl.StrongViewConsistencyLoss` (with its
            ``start_iter``); needs ``AddStrongView`` in the training pipeline.
        data_preprocessor (dict, optional): normalises the batch once for all students.
        train_cfg, test_cfg (dict, optional): given to every student (``test_cfg.student`` is read here).
        init_cfg (dict, optional): the students' own ``init_cfg`` (e.g. pretrained backbones) apply as well.
        nan_guard (bool): stop on a NaN/Inf logged value. Defaults to True.
        **student: :class:`WeakSegmentor` arguments of one student.
    """

    def __init__(self, num_students: int = 2, dynamic_threshold: Optional[dict] = None,
                 discrepancy: Optional[dict] = None, noise_filter: Optional[dict] = None,
                 consistency: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None, init_cfg: Optional[dict] = None,
                 nan_guard: bool = True, **student) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_students < 2:
            raise ValueError(f'DualStudentSegmentor needs at least 2 students, got num_students={num_students}')
        if student.get('energy_loss') is not None:
            raise ValueError('DualStudentSegmentor: the students\' energy_loss is not used by this segmentor; set '
                             'energy_loss=None in the model config')
        # each student gets the same preprocessor (its mean/std are non-persistent buffers: no state-dict keys), so
        # its own predict(output='pseudo') can undo the normalisation for PAR; mmengine's ModuleList: init_weights
        # reaches the students (torch's would skip them: pretrained weights lost)
        self.students = ModuleList([
            WeakSegmentor(**copy.deepcopy(student), train_cfg=train_cfg, test_cfg=test_cfg,
                          data_preprocessor=copy.deepcopy(data_preprocessor))
            for _ in range(num_students)])
        self.dynamic_threshold = _build_optional(dynamic_threshold)
        self.discrepancy = _build_optional(discrepancy)
        if self.discrepancy is not None and num_students != 2:
            raise ValueError('DualStudentSegmentor: the discrepancy loss compares exactly 2 students')
        self.noise_filter = _build_optional(noise_filter)
        self.consistency = _build_optional(consistency)
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.align_corners = self.students[0].align_corners
        self.num_classes = self.students[0].num_classes
        self.out_channels = self.students[0].out_channels
        self.nan_guard = nan_guard
        self._batch_paths = []

    # ------------------------------------------------------------------ which student predicts
    @property
    def test_student(self) -> Union[int, str]:
        which = (self.test_cfg or {}).get('student', 0)
        if which != 'mean' and not (isinstance(which, int) and 0 <= which < len(self.students)):
            raise ValueError(f"test_cfg.student must be a student index in [0, {len(self.students) - 1}] or 'mean', "
                             f'got {which!r}')
        return which

    @property
    def decode_head(self):
        """The decode head of the predicting student (student 0 for 'mean': all heads have the same classes)."""
        which = self.test_student
        return self.students[0 if which == 'mean' else which].decode_head

    # ------------------------------------------------------------------ training
    @property
    def seg_start_iter(self) -> int:
        """First optimizer step with the segmentation losses (the students' ``seg_start_iter``)."""
        return self.students[0].seg_start_iter

    def active_terms(self, step: int) -> dict:
        """Which terms the loss of optimizer step ``step`` includes, and the pseudo labels' CAM.

        The one place the schedule is decided (``loss`` reads it), so it can be checked without running a step.
        """
        first = self.students[0]
        seg = step >= first.seg_start_iter
        return dict(
            aux={name: step >= m.start_iter for name, m in first.aux_losses.items()},
            discrepancy=self.discrepancy is not None and step >= self.discrepancy.start_iter,
            seg=seg,
            noise_filter=seg and self.noise_filter is not None and step >= self.noise_filter.start_iter,
            consistency=seg and self.consistency is not None and step >= self.consistency.start_iter,
            label_cam='final' if first.pseudo_labeler.cam.use_final(step) else 'aux')

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        step = current_iter() // accumulative_counts()
        terms = self.active_terms(step)
        self._batch_paths = [str(s.metainfo.get('img_path', '?')) for s in data_samples]
        img_labels = self.students[0]._img_labels(data_samples)
        high = self.dynamic_threshold(img_labels, step) if self.dynamic_threshold is not None else None
        cores = [s.train_core(inputs, data_samples, high_thr=high, need_cams=terms['seg']) for s in self.students]
        losses = {}
        for k, (student_losses, _, _) in enumerate(cores):
            losses.update(add_prefix(student_losses, f'student{k}'))
        if terms['discrepancy']:
            losses[self.discrepancy.loss_name] = self.discrepancy(cores[0][2][1], cores[1][2][1])
        if terms['seg']:
            losses.update(self._seg_losses(inputs, data_samples, cores, high, step, terms))
        return losses

    def _seg_losses(self, inputs, data_samples, cores, high, step, terms) -> dict:
        losses = {}
        n = len(self.students)
        crop_hw = inputs.shape[-2:]
        image = denormalise(inputs, self.data_preprocessor)
        labels = [s.pseudo_labeler(ctx.cam, ctx.aux_cam, ctx.img_labels, image, ctx.img_boxes, step, high=high)
                  for s, (_, ctx, _) in zip(self.students, cores)]
        seg_logits = [s.decode_head(feats) for s, (_, _, feats) in zip(self.students, cores)]
        filtering, consistency = terms['noise_filter'], terms['consistency']
        upsampled = None
        if filtering or consistency:
            upsampled = [resize(logits, size=crop_hw, mode='bilinear', align_corners=self.align_corners)
                         for logits in seg_logits]
        if filtering:
            # each student's labels are cleaned with its own per-pixel loss (as the released code), before they
            # supervise the partner; all images of all students in one batched fit
            with torch.no_grad():
                pixel_loss = torch.cat([F.cross_entropy(up.detach().float(), lab, ignore_index=255, reduction='none')
                                        for up, lab in zip(upsampled, labels)])
            filtered, stats = self.noise_filter(pixel_loss, torch.cat(labels))
            labels = list(filtered.chunk(n))
            losses.update(stats)
        for k, head_losses in enumerate(cross_pseudo_supervision([s.decode_head for s in self.students], seg_logits,
                                                                 labels, data_samples)):
            losses.update(add_prefix(head_losses, f'student{k}'))
        if consistency:
            ctx = cores[0][1]
            view, flips = ctx.view(VIEW_STRONG), ctx.view_flips('strong')
            for k, student in enumerate(self.students):
                strong = strong_view_logits(lambda x, s=student: s.decode_head(s.backbone(x)), view, flips,
                                            self.consistency.scale, crop_hw)
                losses[f'student{k}.{self.consistency.loss_name}'] = self.consistency(
                    strong, upsampled[k], labels[partner(k, n)])
        return losses

    # ------------------------------------------------------------------ inference
    def predict(self, inputs: torch.Tensor, data_samples=None):
        which = self.test_student
        if which != 'mean':
            return self.students[which].predict(inputs, data_samples)
        if (self.test_cfg or {}).get('output', 'seg') != 'seg':
            raise ValueError("test_cfg.student='mean' averages segmentation logits; it needs test_cfg.output='seg'")
        if data_samples is not None:
            metas = [s.metainfo for s in data_samples]
        else:
            metas = [dict(ori_shape=inputs.shape[2:], img_shape=inputs.shape[2:], pad_shape=inputs.shape[2:],
                          padding_size=[0, 0, 0, 0])] * inputs.shape[0]
        logits = torch.stack([s.inference(inputs, metas) for s in self.students]).mean(0)
        return self.postprocess_result(logits, data_samples)

    def multi_scale_cams(self, inputs: torch.Tensor):
        """``(cam, aux_cam)`` of the predicting student ('mean': the mean of the students' normalised CAMs)."""
        which = self.test_student
        if which != 'mean':
            return self.students[which].multi_scale_cams(inputs)
        cams = [s.multi_scale_cams(inputs) for s in self.students]
        return tuple(torch.stack(parts).mean(0) for parts in zip(*cams))

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        which = self.test_student
        if which == 'mean':
            return torch.stack([s.encode_decode(inputs, batch_img_metas) for s in self.students]).mean(0)
        return self.students[which].encode_decode(inputs, batch_img_metas)

    def extract_feat(self, inputs: torch.Tensor):
        which = self.test_student
        return self.students[0 if which == 'mean' else which].extract_feat(inputs)

    def _forward(self, inputs: torch.Tensor, data_samples=None):
        which = self.test_student
        return self.students[0 if which == 'mean' else which]._forward(inputs, data_samples)
