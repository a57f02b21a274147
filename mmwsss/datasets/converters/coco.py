"""COCO 2014 instances -> weak-label layout: class masks, split lists and image-level labels.

The official download (``train2014/``, ``val2014/``, ``annotations/instances_{train,val}2014.json``) becomes::

    out_root/                                  (default: the COCO root itself)
      SegmentationClass/train2014/COCO_train2014_000000000009.png ...   palette PNGs, value = class index
      SegmentationClass/val2014/COCO_val2014_000000000042.png ...
      ImageSets/train.txt                      stems in ascending image id (82,081 on the full dataset)
      ImageSets/val.txt                        stems in ascending image id (40,137)
      ImageSets/val_part.txt                   the first 5,000 stems of val.txt
      cls_labels_onehot.npy                    ToCo-style dict stem -> float32 multi-hot (80,), train + val

Conventions (those of the reference methods):

* class index 0 is the background, then the 80 categories in ascending COCO category id (id 1 ``person`` -> 1,
  ..., id 90 ``toothbrush`` -> 80), i.e. the positions in :data:`~mmwsss.datasets.class_names.COCO_CLASSES`;
* masks are painted instance by instance in the order of the json's ``annotations`` list; the first instance
  wins where instances overlap; crowd (RLE) annotations are painted like any other; there is no 255 (void);
* the image-level label is the set of classes of the image's annotations, crowd included;
* images without any annotation are left out of the lists, the masks and the label file.

Mask writing runs in a process pool and is resumable: each PNG is written under a temporary name and then
renamed, so an existing PNG is complete and is skipped on a rerun (unless ``force``). Lists and labels are
derived from the json (cheap) and always rewritten in full at the end.

Example:
    >>> from mmwsss.datasets.converters.coco import convert_coco
    >>> summary = convert_coco('data/coco2014', nproc=8)  # doctest: +SKIP
    >>> summary['splits']['val']['num_images'], summary['splits']['val']['num_excluded']  # doctest: +SKIP
    (40137, 367)
"""
import json
import multiprocessing
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_utils

from ..atomic_io import save_palette_png_atomic, write_split_atomic
from ..class_names import COCO_CLASSES
from ..image_labels import label_histogram, save_label_file

__all__ = [
    'COCO_CATEGORY_IDS', 'OFFICIAL_COUNTS', 'SPLITS', 'VAL_PART_SIZE', 'category_to_class', 'check_official_counts',
    'convert_coco', 'instances_json', 'is_full_split', 'load_instances', 'paint_mask',
    'segmentation_to_mask'
]

# split name -> image folder (also the mask sub-folder and the json suffix)
SPLITS = {'train': 'train2014', 'val': 'val2014'}
# the ids the 80 COCO categories really have: 1..90 without ten ids that were dropped before release
_UNUSED_IDS = frozenset((12, 26, 29, 30, 45, 66, 68, 69, 71, 83))
COCO_CATEGORY_IDS = tuple(i for i in range(1, 91) if i not in _UNUSED_IDS)
# split -> (images with at least one annotation, images in the json) on the full COCO 2014 download
OFFICIAL_COUNTS = {'train': (82081, 82783), 'val': (40137, 40504)}
# the val subset that the reference methods evaluate on during training
VAL_PART_SIZE = 5000
# a json is taken for the full download (and checked against OFFICIAL_COUNTS) from this share of its images on
FULL_DATASET_SHARE = 0.95

# one mask to write: (png path, height, width, [(class index, segmentation), ...] in annotation order)
MaskTask = Tuple[str, int, int, List[Tuple[int, object]]]


def instances_json(coco_root: str, split: str) -> str:
    """Path of the official instances json of ``split`` ('train' or 'val') under ``coco_root``."""
    return osp.join(coco_root, 'annotations', f'instances_{SPLITS[split]}.json')


def _require_file(json_path: str) -> None:
    if not osp.isfile(json_path):
        raise FileNotFoundError(f'COCO annotation file {json_path} does not exist; expected the official '
                                'annotations/instances_{train,val}2014.json under the COCO root')


def load_instances(json_path: str) -> dict:
    """Read an ``instances_*.json``; a missing or unreadable file is reported by path."""
    _require_file(json_path)
    try:
        with open(json_path) as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise ValueError(f'could not read COCO annotation file {json_path}: {exc!r}') from exc
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(data.get(key), list):
            raise ValueError(f'COCO annotation file {json_path} has no {key!r} list; is it an instances_*.json?')
    return data


def category_to_class(categories: Sequence[dict], json_path: str) -> Dict[int, int]:
    """Map the json's category ids to class indices (positions in ``COCO_CLASSES``, background 0).

    The lookup is by *name*, so a json that lists only some of the categories (a subset, a test fixture) still
    gets the indices of the full 80-category order. Each listed category must also carry its real COCO id
    (:data:`COCO_CATEGORY_IDS`), so a renamed category or a shifted id is caught instead of silently moving a
    class.

    Example:
        >>> category_to_class([{'id': 90, 'name': 'toothbrush'}, {'id': 1, 'name': 'person'}], 'x.json')
        {90: 80, 1: 1}

    Raises:
        ValueError: an unknown name, an id that is not that name's COCO id, or a duplicate; the message names
            ``json_path`` and the category.
    """
    index = {name: i for i, name in enumerate(COCO_CLASSES) if i > 0}
    mapping: Dict[int, int] = {}
    for cat in categories:
        cat_id, name = cat.get('id'), cat.get('name')
        if name not in index:
            raise ValueError(f'{json_path}: category id {cat_id} is named {name!r}, which is not one of the 80 '
                             'COCO 2014 categories (mmwsss.datasets.class_names.COCO_CLASSES)')
        expected_id = COCO_CATEGORY_IDS[index[name] - 1]
        if cat_id != expected_id:
            raise ValueError(f'{json_path}: category {name!r} has id {cat_id}, but its COCO id is {expected_id}; '
                             'the class order (ascending category id) would not match COCO_CLASSES')
        if cat_id in mapping:
            raise ValueError(f'{json_path}: category id {cat_id} ({name!r}) is listed twice')
        mapping[cat_id] = index[name]
    return mapping


def segmentation_to_mask(segmentation, height: int, width: int) -> np.ndarray:
    """Binary (uint8) mask of one COCO ``segmentation``: polygons, uncompressed or compressed RLE.

    Follows ``pycocotools.coco.COCO.annToRLE`` so the result is the one of ``COCO.annToMask``.
    """
    if isinstance(segmentation, list):
        if not segmentation:  # an empty polygon list covers nothing (pycocotools would fail on it)
            return np.zeros((height, width), dtype=np.uint8)
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get('counts'), list):  # uncompressed RLE (crowd annotations)
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:  # compressed RLE, usable as is
        rle = segmentation
    return mask_utils.decode(rle)


def paint_mask(instances: Sequence[Tuple[int, object]], height: int, width: int) -> np.ndarray:
    """Class mask (uint8, ``height`` x ``width``) of ``(class index, segmentation)`` pairs, first one wins.

    A pixel keeps the class of the first instance (in the given order) that covers it, which is the rule of the
    reference converters: later instances only fill pixels that are still background.

    Example:
        >>> square = [[0, 0, 4, 0, 4, 4, 0, 4]]
        >>> paint_mask([(3, square), (7, [[2, 0, 8, 0, 8, 4, 2, 4]])], height=4, width=8)[0]
        array([3, 3, 3, 3, 7, 7, 7, 7], dtype=uint8)
    """
    mask = np.zeros((height, width), dtype=np.uint8)
    for cls, segmentation in instances:
        covered = segmentation_to_mask(segmentation, height, width).astype(bool)
        mask[covered & (mask == 0)] = cls
    return mask


def _write_mask(task: MaskTask) -> str:
    """Pool worker: paint and save one mask. Gets only this image's annotations, never the whole json."""
    path, height, width, instances = task
    try:
        save_palette_png_atomic(paint_mask(instances, height, width), path)
    except Exception as exc:  # name the image: a bare pycocotools error says nothing about which one failed
        raise RuntimeError(f'failed to write the COCO mask {path}: {exc!r}') from exc
    return path


def _run_tasks(tasks: List[MaskTask], nproc: int, progress: bool) -> None:
    """Write the masks of ``tasks``, in a pool of ``nproc`` processes when there is more than one."""
    if not tasks:
        return
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(tasks))
    nproc = max(1, min(nproc, len(tasks)))
    if nproc == 1:  # in process: no start-up cost, and errors come with a plain traceback
        for task in tasks:
            _write_mask(task)
            if bar is not None:
                bar.update()
    else:
        # chunks amortise the inter-process traffic over ~100k small tasks; small enough to keep workers busy
        chunksize = max(1, min(64, len(tasks) // (nproc * 16)))
        with multiprocessing.Pool(nproc) as pool:
            for _ in pool.imap_unordered(_write_mask, tasks, chunksize):
                if bar is not None:
                    bar.update()
    if bar is not None:
        bar.file.write('\n')


def _group_by_image(data: dict, json_path: str) -> Dict[int, list]:
    """Annotations per image id, each list in the order of the json's ``annotations`` list."""
    image_ids = {img['id'] for img in data['images']}
    per_image: Dict[int, list] = {}
    for ann in data['annotations']:
        if ann['image_id'] not in image_ids:
            raise ValueError(f'{json_path}: annotation {ann.get("id")} refers to image id {ann["image_id"]}, '
                             'which the file does not list')
        per_image.setdefault(ann['image_id'], []).append(ann)
    return per_image


def _convert_split(split: str, coco_root: str, out_root: str, nproc: int, force: bool, progress: bool
                   ) -> Tuple[dict, List[str], Dict[str, np.ndarray]]:
    """Masks of one split; returns its summary, its stems (ascending image id) and its labels."""
    folder = SPLITS[split]
    json_path = instances_json(coco_root, split)
    data = load_instances(json_path)
    cat_to_cls = category_to_class(data['categories'], json_path)
    per_image = _group_by_image(data, json_path)
    mask_dir = osp.join(out_root, 'SegmentationClass', folder)
    os.makedirs(mask_dir, exist_ok=True)

    stems, labels, tasks, skipped = [], {}, [], 0
    for img in sorted(data['images'], key=lambda im: im['id']):
        anns = per_image.get(img['id'])
        if not anns:  # nothing to learn from and no GT: the reference methods leave these images out
            continue
        stem = osp.splitext(img['file_name'])[0]
        instances = []
        for ann in anns:
            if ann['category_id'] not in cat_to_cls:
                raise ValueError(f'{json_path}: annotation {ann.get("id")} has category id {ann["category_id"]}, '
                                 'which the file does not list under "categories"')
            instances.append((cat_to_cls[ann['category_id']], ann['segmentation']))
        vec = np.zeros(len(COCO_CLASSES) - 1, dtype=np.float32)
        vec[[cls - 1 for cls, _ in instances]] = 1
        stems.append(stem)
        labels[stem] = vec
        png = osp.join(mask_dir, stem + '.png')
        if not force and osp.isfile(png):
            skipped += 1
        else:
            tasks.append((png, int(img['height']), int(img['width']), instances))
    _run_tasks(tasks, nproc, progress)
    summary = dict(
        json=json_path, img_dir=osp.join(coco_root, folder), mask_dir=mask_dir,
        num_json_images=len(data['images']), num_images=len(stems), num_excluded=len(data['images']) - len(stems),
        num_written=len(tasks), num_skipped=skipped)
    return summary, stems, labels


def convert_coco(coco_root: str, out_root: Optional[str] = None, nproc: Optional[int] = None, force: bool = False,
                 progress: bool = True) -> dict:
    """Convert a COCO 2014 download to the weak-label layout (see the module docstring).

    Args:
        coco_root (str): holds ``annotations/instances_{train,val}2014.json`` (images are not read: sizes come
            from the json).
        out_root (str, optional): where to write; defaults to ``coco_root``.
        nproc (int, optional): worker processes for the masks; defaults to ``os.cpu_count()``.
        force (bool): rewrite masks that already exist. Defaults to False (resume).
        progress (bool): show a progress bar while writing masks. Defaults to True.

    Returns:
        dict: ``splits`` (per split: ``json``, ``img_dir``, ``mask_dir``, ``list_file``, ``num_json_images``,
        ``num_images``, ``num_excluded``, ``num_written``, ``num_skipped``, ``histogram``), ``val_part_file``,
        ``num_val_part`` and ``label_file``.
    """
    out_root = coco_root if out_root is None else out_root
    nproc = nproc or os.cpu_count() or 1
    for split in SPLITS:  # fail on a missing val json before spending an hour on the train masks
        _require_file(instances_json(coco_root, split))
    list_dir = osp.join(out_root, 'ImageSets')
    os.makedirs(list_dir, exist_ok=True)

    splits, all_labels, all_stems = {}, {}, {}
    for split in SPLITS:
        summary, stems, labels = _convert_split(split, coco_root, out_root, nproc, force, progress)
        summary['histogram'] = label_histogram(labels)
        splits[split] = summary
        all_stems[split] = stems
        all_labels.update(labels)

    # Lists and labels last: a rerun after an interruption rewrites them complete.
    for split, stems in all_stems.items():
        splits[split]['list_file'] = osp.join(list_dir, f'{split}.txt')
        write_split_atomic(splits[split]['list_file'], stems)
    val_part = all_stems['val'][:VAL_PART_SIZE]
    val_part_file = osp.join(list_dir, 'val_part.txt')
    write_split_atomic(val_part_file, val_part)
    label_file = osp.join(out_root, 'cls_labels_onehot.npy')
    save_label_file(label_file, all_labels)
    return dict(splits=splits, val_part_file=val_part_file, num_val_part=len(val_part), label_file=label_file)


def is_full_split(split: str, num_json_images: int) -> bool:
    """Whether a json of ``num_json_images`` images looks like the full download of ``split`` (not a subset)."""
    return num_json_images >= FULL_DATASET_SHARE * OFFICIAL_COUNTS[split][1]


def check_official_counts(summary: dict) -> List[str]:
    """Warnings for splits whose counts differ from the full COCO 2014 numbers (:data:`OFFICIAL_COUNTS`).

    Only splits whose json looks like the full download (at least ``FULL_DATASET_SHARE`` of its images) are
    checked, so a subset converted on purpose gives no warning.

    Example:
        >>> check_official_counts(dict(splits=dict(val=dict(num_json_images=40504, num_images=40000))))
        ['val: 40000 of 40504 images have annotations, the full COCO 2014 val has 40137 of 40504']
    """
    warnings = []
    for split, info in summary['splits'].items():
        if not is_full_split(split, info['num_json_images']):
            continue
        kept, total = OFFICIAL_COUNTS[split]
        if (info['num_images'], info['num_json_images']) != (kept, total):
            warnings.append(f'{split}: {info["num_images"]} of {info["num_json_images"]} images have annotations, '
                            f'the full COCO 2014 {split} has {kept} of {total}')
    return warnings
