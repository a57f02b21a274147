"""Segmentation datasets whose first-class annotation is the image-level label.

:class:`WeakSegDataset` holds all the logic; :class:`WeakVOCDataset`, :class:`WeakCOCODataset` and
:class:`~mmwsss.datasets.weakshapes.WeakShapesDataset` only set the class list and layout defaults, so VOC and COCO
differ by config, not by code.

Each data item carries ``gt_img_labels`` (float32 multi-hot over the foreground classes, no background), which
:class:`~mmwsss.datasets.transforms.PackWeakSegInputs` puts into the ``SegDataSample``. A split used for training
needs only images and labels: leave ``seg_map_path`` out of ``data_prefix`` and no mask path is even listed, so
the training pipeline cannot read a GT mask. Validation/test splits add ``seg_map_path`` for mIoU; a split with no
GT and no labels (VOC test) sets ``label_source=None``.
"""
import contextlib
import os.path as osp
import random
from typing import Dict, List, Optional

import mmengine
import numpy as np
import torch

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .class_names import COCO_CLASSES, COCO_PALETTE, VOC_CLASSES, VOC_PALETTE
from .image_labels import labels_from_mask, labels_from_voc_xml, load_label_file

LABEL_SOURCES = ('file', 'mask', 'xml', None)


@contextlib.contextmanager
def seeded_generators(seed: int):
    """Seed python's, numpy's and torch's CPU generators with ``seed`` inside the block; restore them after."""
    py_state, np_state = random.getstate(), np.random.get_state()
    # one independent seed per library: numpy's legacy generator and torch's are both MT19937 seeded the same way,
    # so one shared seed would give them the same stream (e.g. a flip decision tied to a colour jitter)
    py_seed, np_seed, torch_seed = np.random.SeedSequence(int(seed)).generate_state(3)
    with torch.random.fork_rng(devices=[]):
        random.seed(int(py_seed))
        np.random.seed(int(np_seed))
        torch.default_generator.manual_seed(int(torch_seed))  # CPU only: CUDA streams are not the pipeline's
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


@DATASETS.register_module()
class WeakSegDataset(BaseSegDataset):
    """A list-file segmentation dataset with image-level labels (``gt_img_labels``) on every item.

    Args:
        ann_file (str): split list, one stem per line (relative to ``data_root``).
        label_source (str | None): where image-level labels come from:
            ``'file'``: ``label_file``, a ToCo-style ``cls_labels_onehot.npy`` dict stem -> multi-hot (as is);
            ``'mask'``: derived from the masks under ``data_prefix['seg_map_path']`` (or ``label_mask_dir``);
            ``'xml'``: derived from PASCAL VOC ``Annotations/<stem>.xml`` (``xml_dir``);
            ``None``: no labels (e.g. VOC test, for prediction export only).
        label_file (str, optional): the label file for ``label_source='file'`` (relative to ``data_root``).
        label_mask_dir (str, optional): masks to derive labels from when the split itself lists no masks
            (e.g. ``'SegmentationClassAug'`` for a training split).
        xml_dir (str): annotation folder for ``label_source='xml'``. Defaults to ``'Annotations'``.
        check_files (bool): check at start-up that every listed image (and mask) exists, so a missing file is
            reported with its path before training starts. Defaults to True.
        **kwargs: :class:`mmseg.datasets.BaseSegDataset` arguments (``data_root``, ``data_prefix``,
            ``pipeline``, ``img_suffix``, ``seg_map_suffix``, ...).

    Example:
        >>> train = dict(
        ...     type='WeakVOCDataset', data_root='data/VOCdevkit/VOC2012',
        ...     data_prefix=dict(img_path='JPEGImages'),          # no masks listed: training reads none
        ...     ann_file='ImageSets/Segmentation/train_aug.txt',
        ...     label_source='file', label_file='cls_labels_onehot.npy', pipeline=[])
    """

    def __init__(self, ann_file: str, label_source: Optional[str] = 'file', label_file: Optional[str] = None,
                 label_mask_dir: Optional[str] = None, xml_dir: str = 'Annotations', check_files: bool = True,
                 img_suffix: str = '.jpg', seg_map_suffix: str = '.png', data_root: Optional[str] = None,
                 **kwargs) -> None:
        if label_source not in LABEL_SOURCES:
            raise ValueError(f'label_source must be one of {LABEL_SOURCES}, got {label_source!r}')
        if label_source == 'file' and not label_file:
            raise ValueError("label_source='file' needs label_file (e.g. 'cls_labels_onehot.npy')")
        self.label_source = label_source
        self.label_file = self._under_root(data_root, label_file)
        self.label_mask_dir = self._under_root(data_root, label_mask_dir)
        self.xml_dir = self._under_root(data_root, xml_dir)
        self.check_files = check_files
        prefix = kwargs.get('data_prefix')
        if prefix is not None and 'seg_map_path' in prefix and not prefix['seg_map_path']:
            # '' or None: "no masks" (e.g. --cfg-options ...data_prefix.seg_map_path='' for VOC test), not the root
            kwargs['data_prefix'] = {k: v for k, v in prefix.items() if k != 'seg_map_path'}
        super().__init__(ann_file=ann_file, img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         data_root=data_root, **kwargs)

    #: The command that builds this dataset's split lists and label file, ``{data_root}`` filled in by
    #: :meth:`how_to_build`; None: no converter (lists and labels are written by hand).
    build_command: Optional[str] = None

    @classmethod
    def how_to_build(cls, data_root: Optional[str] = None) -> str:
        """The sentence that says how to build the split lists and label file of this dataset under ``data_root``.

        Used in the dataset's own missing-file errors and by :mod:`mmwsss.utils.preflight`, without building
        the dataset.

        Example:
            >>> WeakCOCODataset.how_to_build('data/coco2014')
            'python tools/dataset_converters/coco_weak.py data/coco2014'
        """
        if cls.build_command is None:
            return ("write the split list (one image stem per line) and a ToCo-style label file, or derive the "
                    "labels with label_source='mask' / 'xml'")
        return cls.build_command.format(data_root=data_root or '.')

    @staticmethod
    def _under_root(data_root: Optional[str], path: Optional[str]) -> Optional[str]:
        if path is None or data_root is None or osp.isabs(path):
            return path
        return osp.join(data_root, path)

    @property
    def num_foreground(self) -> int:
        return len(self._metainfo['classes']) - 1

    def load_data_list(self) -> List[dict]:
        if not self.ann_file or not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'{type(self).__name__}: split list {self.ann_file!r} does not exist. Build it '
                                    f'with: {self.how_to_build(self.data_root)}')
        stems = [line.strip() for line in mmengine.list_from_file(self.ann_file) if line.strip()]
        if not stems:
            raise ValueError(f'{type(self).__name__}: split list {self.ann_file} is empty')
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path') or None
        labels = self._load_labels(stems, seg_dir)
        data_list = []
        for stem in stems:
            info = dict(img_path=osp.join(img_dir, stem + self.img_suffix), stem=stem, label_map=self.label_map,
                        reduce_zero_label=self.reduce_zero_label, seg_fields=[])
            if seg_dir is not None:
                info['seg_map_path'] = osp.join(seg_dir, stem + self.seg_map_suffix)
            if labels is not None:
                info['gt_img_labels'] = labels[stem]
            data_list.append(info)
        if self.check_files:
            self._check_files(data_list)
        return data_list

    def _load_labels(self, stems: List[str], seg_dir: Optional[str]) -> Optional[Dict[str, np.ndarray]]:
        if self.label_source is None:
            return None
        if self.label_source == 'file':
            if self.label_file and not osp.isfile(self.label_file):
                raise FileNotFoundError(f'{type(self).__name__}: image-level label file {self.label_file} does not '
                                        f'exist. Build it with: {self.how_to_build(self.data_root)}')
            table = load_label_file(self.label_file, self.num_foreground)
            missing = [s for s in stems if s not in table]
            if missing:
                raise KeyError(f'{type(self).__name__}: {len(missing)} images of {self.ann_file} have no entry in '
                               f'the label file {self.label_file}, e.g. {missing[:5]}')
            return {s: table[s] for s in stems}
        if self.label_source == 'xml':
            classes = self._metainfo['classes']
            return {s: labels_from_voc_xml(osp.join(self.xml_dir, s + '.xml'), classes) for s in stems}
        mask_dir = self.label_mask_dir or seg_dir
        if mask_dir is None:
            raise ValueError("label_source='mask' needs masks: set data_prefix['seg_map_path'] or label_mask_dir")
        return {s: self._labels_from_mask_file(osp.join(mask_dir, s + self.seg_map_suffix)) for s in stems}

    def _labels_from_mask_file(self, path: str) -> np.ndarray:
        import mmcv  # imported here: mmcv's image IO is only needed for this label source
        if not osp.isfile(path):
            raise FileNotFoundError(f'{type(self).__name__}: mask {path} does not exist (label_source=\'mask\')')
        mask = mmcv.imread(path, flag='unchanged', backend='pillow')
        return labels_from_mask(mask, len(self._metainfo['classes']), self.ignore_index, source=path)

    def _check_files(self, data_list: List[dict]) -> None:
        missing = [p for info in data_list for p in (info['img_path'], info.get('seg_map_path')) if p is not None
                   and not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(f'{type(self).__name__}: {len(missing)} files listed by {self.ann_file} do not '
                                    f'exist, e.g. {missing[:5]}')

    #: :class:`~mmwsss.datasets.SeededInfiniteSampler` may pass ``(index, sample_seed)`` pairs.
    accepts_seeded_indices = True
    _sample_seed: Optional[int] = None

    def __getitem__(self, idx):
        """``dataset[i]``, or ``dataset[(i, seed)]``: the pipeline runs with its random generators seeded by ``seed``.

        The python, numpy and torch CPU generators are seeded for this one item and restored afterwards, so the
        item's augmentation depends on ``seed`` only (not on the worker or what it loaded before) and a loader
        without workers leaves the main process's random streams untouched. The seed is also put into the item's
        metainfo (``sample_seed``) for the model's own per-sample random draws.
        """
        if not isinstance(idx, tuple):
            return super().__getitem__(idx)
        idx, seed = idx
        with seeded_generators(seed):
            self._sample_seed = int(seed)
            try:
                return super().__getitem__(idx)
            finally:
                self._sample_seed = None

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        if self._sample_seed is not None:
            info['sample_seed'] = self._sample_seed
        return info

    def prepare_data(self, idx: int):
        """Run the pipeline; a file that fails to load is reported by path instead of being replaced."""
        try:
            return super().prepare_data(idx)
        except Exception as exc:
            info = self.get_data_info(idx)
            raise RuntimeError(f'{type(self).__name__}: failed to load item {idx} ({info["img_path"]}'
                               f'{", " + info["seg_map_path"] if info.get("seg_map_path") else ""}): {exc!r}'
                               ) from exc


@DATASETS.register_module()
class WeakVOCDataset(WeakSegDataset):
    """PASCAL VOC 2012 + SBD with image-level labels (21 classes, 255 void).

    Splits through list files: ``train_aug`` (10,582; training), ``train`` (1,464; CAM/pseudo-label quality),
    ``val`` (1,449), ``test`` (1,456; no GT). Build ``train_aug.txt`` and ``cls_labels_onehot.npy`` with
    ``tools/dataset_converters/voc_weak.py``; see ``configs/_base_/datasets/voc12aug_weak.py``. Without SBD,
    ``voc_weak.py --no-sbd`` writes the labels of train + val and ``voc12_weak.py`` trains on ``train``.
    """
    METAINFO = dict(classes=VOC_CLASSES, palette=VOC_PALETTE)
    build_command = ('python tools/dataset_converters/voc_weak.py {data_root}  (VOC 2012 without SBD: add --no-sbd '
                     'and use a *_voc12-448x448.py config)')


@DATASETS.register_module()
class WeakCOCODataset(WeakSegDataset):
    """COCO 2014 with image-level labels: 81 classes (background + the 80 categories by ascending id).

    Build masks, lists and ``cls_labels_onehot.npy`` with ``tools/dataset_converters/coco_weak.py``; see
    ``configs/_base_/datasets/coco2014_weak.py``.
    """
    METAINFO = dict(classes=COCO_CLASSES, palette=COCO_PALETTE)
    build_command = 'python tools/dataset_converters/coco_weak.py {data_root}'
