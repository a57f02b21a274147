"""PASCAL VOC 2012 (+ SBD): the ``train_aug`` split list and the image-level label file of weak supervision.

The weakly-supervised VOC setting trains on ``train_aug`` (10,582 images: the VOC 2012 segmentation train split
plus the SBD images) with image-level labels only and evaluates on VOC ``val`` (1,449 images). Neither the
split list nor the labels ship with the official downloads; :func:`build_voc_weak` derives both from the
``SegmentationClassAug`` folder (SBD masks converted to VOC PNGs, 12,031 = train_aug + val masks)::

    data/VOCdevkit/VOC2012/
      JPEGImages/<stem>.jpg
      SegmentationClass/<stem>.png             VOC palette PNGs (train + val)
      SegmentationClassAug/<stem>.png          single-channel PNGs 0..20, 255 void (train_aug + val)
      Annotations/<stem>.xml                   object names (used by ``label_source='xml'``)
      ImageSets/Segmentation/{train,val}.txt   official lists; test.txt only in the test download
      ImageSets/Segmentation/train_aug.txt     written here: SegmentationClassAug stems minus val
      cls_labels_onehot.npy                    written here: stem -> float32 (20,) multi-hot, no background

Example:
    >>> from mmwsss.datasets.converters.voc import build_voc_weak
    >>> info = build_voc_weak('data/VOCdevkit/VOC2012', nproc=8)  # doctest: +SKIP
    >>> info['counts']  # doctest: +SKIP
    {'train_aug': 10582, 'train': 1464, 'val': 1449, 'labels': 12031}

Without SBD (``sbd=False``, CLI ``--no-sbd``) the plain VOC 2012 trainval download is enough: no train_aug list is
written, and the label file covers the segmentation train (1,464) + val (1,449) = 2,913 images, derived from the
``SegmentationClass`` palette PNGs (``label_source='mask'``; the palette indices are the class ids) or from
``Annotations/<stem>.xml``. Train on ``train.txt`` with the ``configs/*/*_voc12-448x448.py`` configs
(``configs/_base_/datasets/voc12_weak.py``)::

    >>> info = build_voc_weak('data/VOCdevkit/VOC2012', sbd=False)  # doctest: +SKIP
    >>> info['counts'], info['mode']  # doctest: +SKIP
    ({'train': 1464, 'val': 1449, 'labels': 2913}, 'voc12')
"""
import os
import os.path as osp
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from ..atomic_io import write_split_atomic
from ..class_names import VOC_CLASSES
from ..image_labels import label_histogram, labels_from_mask, labels_from_voc_xml, save_label_file

__all__ = [
    'VOC_OFFICIAL_COUNTS', 'VOC12_OFFICIAL_COUNTS', 'VOC_REFERENCE_HISTOGRAM', 'MODES', 'read_split', 'write_split',
    'list_stems', 'compute_train_aug', 'check_voc_splits', 'check_jpegs', 'check_official_counts',
    'derive_voc_labels', 'build_voc_weak'
]

# The sizes every published WSSS result on VOC is computed on; any other number means a broken download.
VOC_OFFICIAL_COUNTS = {'train_aug': 10582, 'train': 1464, 'val': 1449, 'test': 1456, 'labels': 12031}
# The same for VOC 2012 alone (``sbd=False``): no train_aug, labels for train + val.
VOC12_OFFICIAL_COUNTS = {'train': 1464, 'val': 1449, 'test': 1456, 'labels': 2913}
# mode name -> (description for reports, official counts, dataset name and likely cause in a count error)
MODES = {'voc12aug': ('VOC 2012 + SBD (train_aug + val labels, SegmentationClassAug)', VOC_OFFICIAL_COUNTS,
                      'PASCAL VOC 2012 + SBD', 'missing or extra masks in SegmentationClassAug or a wrong split list'),
         'voc12': ('VOC 2012 without SBD (--no-sbd: train + val labels, no train_aug)', VOC12_OFFICIAL_COUNTS,
                   'PASCAL VOC 2012 (without SBD)', 'an incomplete download or a wrong split list')}
# Labels per image in the ToCo lineage's cls_labels_onehot.npy (train_aug + val), for comparison in reports.
VOC_REFERENCE_HISTOGRAM = {1: 7176, 2: 3479, 3: 1090, 4: 233, 5: 49, 6: 4}
LABEL_SOURCES = ('mask', 'xml')


def read_split(path: str) -> List[str]:
    """Stems of an ``ImageSets/Segmentation/<split>.txt`` list, in file order.

    Raises:
        FileNotFoundError: the list does not exist (its path is named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split list {path} does not exist')
    with open(path, encoding='utf-8') as f:
        # VOC lists hold one stem per line; SBD's lists sometimes carry a second column, which is dropped.
        return [line.split()[0] for line in f if line.strip()]


write_split = write_split_atomic  # public name kept for callers of this module


def list_stems(directory: str, suffix: str = '.png') -> List[str]:
    """Sorted stems of the files ending in ``suffix`` in ``directory`` (temporary files are skipped)."""
    return sorted(name[:-len(suffix)] for name in os.listdir(directory)
                  if name.endswith(suffix) and not name.startswith('.') and '.tmp' not in name)


def compute_train_aug(aug_stems: Sequence[str], val_stems: Sequence[str]) -> List[str]:
    """``train_aug``: every stem with an augmented mask except the VOC val stems, sorted.

    Example:
        >>> compute_train_aug(['2007_000032', '2007_000033', '2008_000002'], ['2007_000033'])
        ['2007_000032', '2008_000002']
    """
    val = set(val_stems)
    return sorted(stem for stem in aug_stems if stem not in val)


def _examples(stems, limit: int = 5) -> str:
    stems = sorted(stems)
    more = f' and {len(stems) - limit} more' if len(stems) > limit else ''
    return ', '.join(stems[:limit]) + more


def check_voc_splits(splits: Dict[str, Sequence[str]]) -> None:
    """Check the relations between the VOC splits that every WSSS paper relies on.

    ``splits`` holds ``train`` and ``val``, and ``train_aug`` and ``test`` when they are used (VOC 2012 without
    SBD has no train_aug). Checked: no list repeats a stem, train and val are disjoint, train is a subset of
    train_aug, val is disjoint from train_aug, and test (when given) shares no stem with the labelled splits.

    Raises:
        ValueError: naming the broken relation and a few offending stems.

    Example:
        >>> check_voc_splits(dict(train=['a'], val=['b'], train_aug=['a', 'c']))
        >>> check_voc_splits(dict(train=['a', 'b'], val=['b'], train_aug=['a', 'c']))
        Traceback (most recent call last):
        ...
        ValueError: train.txt and val.txt share 1 stems (b); VOC train and val are disjoint
    """
    for name, stems in splits.items():
        dup = [stem for stem, num in Counter(stems).items() if num > 1]
        if dup:
            raise ValueError(f'{name}.txt lists {len(dup)} stems more than once ({_examples(dup)})')
    train, val = set(splits['train']), set(splits['val'])
    train_aug = set(splits['train_aug']) if 'train_aug' in splits else None
    # The train/val overlap is tested first: it also breaks "train within train_aug" (train_aug excludes val),
    # and naming the real cause spares the user a search.
    if train & val:
        raise ValueError(f'train.txt and val.txt share {len(train & val)} stems ({_examples(train & val)}); '
                         'VOC train and val are disjoint')
    if train_aug is not None:
        if train - train_aug:
            raise ValueError(f'{len(train - train_aug)} VOC train stems are not in train_aug '
                             f'({_examples(train - train_aug)}): SegmentationClassAug lacks their masks')
        if val & train_aug:
            raise ValueError(f'train_aug shares {len(val & train_aug)} stems with val '
                             f'({_examples(val & train_aug)}); training on val images would inflate every val score')
    labelled, names = (train_aug | train, 'train_aug') if train_aug is not None else (train, 'train')
    labelled = labelled | val
    test = set(splits.get('test') or ())
    if test & labelled:
        raise ValueError(f'test.txt shares {len(test & labelled)} stems with {names}/val '
                         f'({_examples(test & labelled)})')


def check_jpegs(jpeg_dir: str, stems: Sequence[str]) -> None:
    """Every listed stem must have ``<jpeg_dir>/<stem>.jpg``.

    Raises:
        FileNotFoundError: naming the first missing image and how many are missing.
    """
    missing = [stem for stem in stems if not osp.isfile(osp.join(jpeg_dir, stem + '.jpg'))]
    if missing:
        raise FileNotFoundError(f'image {osp.join(jpeg_dir, missing[0] + ".jpg")} does not exist '
                                f'({len(missing)} listed images are missing: {_examples(missing)})')


def check_official_counts(counts: Dict[str, int], strict: bool = True, mode: str = 'voc12aug') -> List[str]:
    """Compare split sizes with the official ones of ``mode``; return one line per mismatch.

    ``mode``: ``'voc12aug'`` (VOC 2012 + SBD, :data:`VOC_OFFICIAL_COUNTS`) or ``'voc12'`` (VOC 2012 alone,
    :data:`VOC12_OFFICIAL_COUNTS`). Only the keys present in ``counts`` are compared (the test list is optional).

    Raises:
        ValueError: when ``strict`` and some count differs; the message names the expected numbers and the
            flag that relaxes the check for a partial tree.

    Example:
        >>> check_official_counts({'train_aug': 10582, 'val': 1449})
        []
        >>> check_official_counts({'train_aug': 5, 'val': 1449}, strict=False)
        ['train_aug: 5 (official 10,582)']
        >>> check_official_counts({'train': 1464, 'val': 1449, 'labels': 2913}, mode='voc12')
        []
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {tuple(MODES)}, got {mode!r}')
    _, official, what, cause = MODES[mode]
    mismatches = [f'{key}: {counts[key]:,} (official {official[key]:,})'
                  for key in official if key in counts and counts[key] != official[key]]
    if mismatches and strict:
        raise ValueError(f'the split sizes differ from the official {what} numbers: ' + '; '.join(mismatches)
                         + f'. On the full dataset this means {cause}; for a deliberately partial tree pass '
                         '--no-check-counts (check_counts=False)')
    return mismatches


def _read_mask(path: str) -> np.ndarray:
    """The class-index array of a mask PNG (palette 'P' or grayscale 'L')."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'mask {path} does not exist')
    with Image.open(path) as img:
        # An RGB mask (e.g. a "visualisation" copy of SBD) would give colours, not class ids.
        if img.mode not in ('P', 'L'):
            raise ValueError(f'mask {path} has PIL mode {img.mode!r}; expected a single-channel class-index PNG '
                             "('P' or 'L') as in SegmentationClass and SegmentationClassAug")
        return np.array(img)


def _mask_label(path: str) -> np.ndarray:
    """Worker: multi-hot label of one mask (module level, so a process pool can pickle it)."""
    return labels_from_mask(_read_mask(path), len(VOC_CLASSES), source=f'mask {path}')


def _xml_label(path: str) -> np.ndarray:
    """Worker: multi-hot label of one VOC annotation XML."""
    return labels_from_voc_xml(path, VOC_CLASSES)


def _map(func, tasks: List[str], nproc: int, progress: bool) -> List[np.ndarray]:
    """``[func(t) for t in tasks]``, in order, optionally in a process pool and with a progress bar."""
    if nproc > 1 and len(tasks) > 1:
        # Chunks amortise the inter-process traffic: one PNG decode is far cheaper than one round trip.
        chunksize = max(1, min(64, len(tasks) // (nproc * 8)))
        if progress:
            from mmengine.utils import track_parallel_progress
            return track_parallel_progress(func, tasks, nproc, chunksize=chunksize)
        from multiprocessing import Pool
        with Pool(nproc) as pool:
            return pool.map(func, tasks, chunksize=chunksize)
    if progress:
        from mmengine.utils import track_progress
        return track_progress(func, tasks)
    return [func(task) for task in tasks]


def derive_voc_labels(stems: Sequence[str], label_source: str, voc_root: str, aug_dir: str, nproc: int = 1,
                      progress: bool = True) -> Dict[str, np.ndarray]:
    """Image-level labels of ``stems`` (stem -> float32 (20,)) from the masks in ``aug_dir`` or the annotation XMLs.

    ``aug_dir`` is the mask folder for ``label_source='mask'``: SegmentationClassAug with SBD, SegmentationClass
    (palette PNGs, read as class indices) without. Every input file is checked for existence before any is read,
    so a missing file fails in a second rather than after minutes of decoding.
    """
    if label_source == 'mask':
        folder, suffix, func = aug_dir, '.png', _mask_label
    elif label_source == 'xml':
        folder, suffix, func = osp.join(voc_root, 'Annotations'), '.xml', _xml_label
    else:
        raise ValueError(f'label_source must be one of {LABEL_SOURCES}, got {label_source!r}')
    paths = [osp.join(folder, stem + suffix) for stem in stems]
    missing = [p for p in paths if not osp.isfile(p)]
    if missing:
        kind = 'mask' if label_source == 'mask' else 'annotation'
        raise FileNotFoundError(f'{kind} {missing[0]} does not exist ({len(missing)} of the {len(paths)} '
                                f'{kind}s of the labelled images are missing)')
    return dict(zip(stems, _map(func, paths, nproc, progress)))


def _locate(voc_root: str, aug_dir: Optional[str], sbd: bool = True,
            label_source: str = 'mask') -> Tuple[Optional[str], str, str]:
    """Check the directories and return (mask_dir, split_dir, jpeg_dir).

    ``mask_dir``: SegmentationClassAug with SBD; without, SegmentationClass for ``label_source='mask'`` and None
    for ``'xml'`` (no mask is read).
    """
    if not osp.isdir(voc_root):
        raise FileNotFoundError(f'VOC root {voc_root} does not exist; expected the VOC2012 folder of the '
                                'VOCdevkit (e.g. data/VOCdevkit/VOC2012)')
    if not sbd:
        if aug_dir:
            raise ValueError('--aug-dir (aug_dir) names the SBD masks, which --no-sbd (sbd=False) does not use; '
                             'drop one of the two')
        mask_dir = None
        if label_source == 'mask':
            mask_dir = osp.join(voc_root, 'SegmentationClass')
            if not osp.isdir(mask_dir):
                raise FileNotFoundError(f'SegmentationClass directory {mask_dir} does not exist; it ships with the '
                                        'VOC 2012 trainval download (2,913 palette PNGs), or derive the labels from '
                                        'Annotations/*.xml with --label-source xml')
    else:
        mask_dir = aug_dir or osp.join(voc_root, 'SegmentationClassAug')
        if aug_dir and not osp.isabs(aug_dir) and not osp.isdir(aug_dir):
            # A relative aug dir is first taken from the working directory, then inside the VOC root, so that both
            # ``--aug-dir data/SBD/SegmentationClassAug`` and ``--aug-dir SegmentationClassAug`` do what they say.
            mask_dir = osp.join(voc_root, aug_dir)
        if not osp.isdir(mask_dir):
            raise FileNotFoundError(
                f'SegmentationClassAug directory {mask_dir} does not exist; unpack SBD\'s augmented masks '
                '(SegmentationClassAug, 12,031 PNGs) there or pass --aug-dir, or rerun with --no-sbd (sbd=False) '
                'to use VOC 2012 alone (train 1,464 + val 1,449 labels, no train_aug; then train with a '
                '*_voc12-448x448.py config)')
    split_dir = osp.join(voc_root, 'ImageSets', 'Segmentation')
    jpeg_dir = osp.join(voc_root, 'JPEGImages')
    if not osp.isdir(jpeg_dir):
        raise FileNotFoundError(f'image directory {jpeg_dir} does not exist')
    return mask_dir, split_dir, jpeg_dir


def build_voc_weak(voc_root: str, aug_dir: Optional[str] = None, label_source: str = 'mask',
                   out_label_file: Optional[str] = None, nproc: int = 1, check_counts: bool = True,
                   progress: bool = True, sbd: bool = True) -> Dict:
    """Write ``ImageSets/Segmentation/train_aug.txt`` and the label file of train_aug + val; return a report.

    With ``sbd=False`` (VOC 2012 alone): write only the label file, of train + val; no train_aug list.

    Args:
        voc_root: the ``VOCdevkit/VOC2012`` folder.
        aug_dir: the SBD-augmented masks; default ``<voc_root>/SegmentationClassAug``. A relative path that
            is not a directory of the working directory is taken relative to ``voc_root``. Not with ``sbd=False``.
        label_source: ``'mask'`` (classes present in the SegmentationClassAug mask, or in the SegmentationClass
            palette PNG without SBD) or ``'xml'`` (object names in ``Annotations/<stem>.xml``).
        out_label_file: default ``<voc_root>/cls_labels_onehot.npy`` (ToCo format).
        nproc: worker processes for reading the labels (1: no pool).
        check_counts: fail unless the sizes equal the official ones of the mode (:data:`VOC_OFFICIAL_COUNTS`,
            or :data:`VOC12_OFFICIAL_COUNTS` without SBD); when False (partial trees) the mismatches are only
            reported in ``info['count_mismatches']``.
        progress: show a progress bar.
        sbd: True: VOC 2012 + SBD (SegmentationClassAug, train_aug); False: the plain VOC 2012 trainval tree
            (JPEGImages, Annotations, SegmentationClass, ImageSets/Segmentation/{train,val}.txt).

    Every check runs before anything is written, so a failed run leaves the tree as it was.

    Returns:
        dict: ``mode`` (``'voc12aug'`` or ``'voc12'``, keys of :data:`MODES`), ``counts`` ([train_aug,] train,
        val, [test,] labels), ``official_counts`` (of the mode), ``histogram`` (labels per image),
        ``count_mismatches``, ``label_file``, ``split_file`` (None without SBD), ``label_source``,
        ``mask_dir`` (the masks read for ``label_source='mask'``, else None).

    Raises:
        FileNotFoundError: a missing directory, split list, image, mask or annotation (named).
        ValueError: inconsistent splits, a mask class id outside 0..20/255 (the mask is named), or counts that
            differ from the official ones while ``check_counts``.

    Example:
        >>> info = build_voc_weak('data/VOCdevkit/VOC2012', check_counts=False)  # doctest: +SKIP
        >>> info['histogram']  # doctest: +SKIP
        {1: 7176, 2: 3479, 3: 1090, 4: 233, 5: 49, 6: 4}
    """
    if label_source not in LABEL_SOURCES:
        raise ValueError(f'label_source must be one of {LABEL_SOURCES}, got {label_source!r}')
    mode = 'voc12aug' if sbd else 'voc12'
    mask_dir, split_dir, jpeg_dir = _locate(voc_root, aug_dir, sbd=sbd, label_source=label_source)
    splits = {name: read_split(osp.join(split_dir, f'{name}.txt')) for name in ('train', 'val')}
    test_file = osp.join(split_dir, 'test.txt')
    if osp.isfile(test_file):  # only present when the separate test download was unpacked into the tree
        splits['test'] = read_split(test_file)
    if sbd:
        splits['train_aug'] = compute_train_aug(list_stems(mask_dir), splits['val'])

    check_voc_splits(splits)
    check_jpegs(jpeg_dir, sorted(set().union(*splits.values())))
    labelled = sorted(splits['train_aug' if sbd else 'train'] + splits['val'])
    counts = {name: len(splits[name]) for name in ('train_aug', 'train', 'val', 'test') if name in splits}
    counts['labels'] = len(labelled)
    mismatches = check_official_counts(counts, strict=check_counts, mode=mode)

    labels = derive_voc_labels(labelled, label_source, voc_root, mask_dir, nproc=nproc, progress=progress)

    split_file = osp.join(split_dir, 'train_aug.txt') if sbd else None
    out_label_file = out_label_file or osp.join(voc_root, 'cls_labels_onehot.npy')
    os.makedirs(osp.dirname(osp.abspath(out_label_file)), exist_ok=True)
    if split_file:
        write_split(split_file, splits['train_aug'])
    save_label_file(out_label_file, labels)
    return dict(mode=mode, counts=counts, official_counts=MODES[mode][1], histogram=label_histogram(labels),
                count_mismatches=mismatches, label_file=out_label_file, split_file=split_file,
                label_source=label_source, mask_dir=mask_dir if label_source == 'mask' else None)
