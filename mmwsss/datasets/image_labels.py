"""Image-level labels: the one place that reads, writes and derives them.

An image-level label is a float32 multi-hot vector over the *foreground* classes (no background entry), as in
the ToCo lineage's ``cls_labels_onehot.npy``: a pickled dict ``stem -> vector`` (20-d for VOC, 80-d for COCO).
Labels can also be derived from a segmentation mask (classes present, ignoring 0 and 255) or from a PASCAL VOC
``Annotations/<stem>.xml`` file (object names).

Example:
    >>> import numpy as np
    >>> labels_from_mask(np.array([[0, 3], [255, 3]], dtype=np.uint8), num_classes=5)
    array([0., 0., 1., 0.], dtype=float32)
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, Sequence

import numpy as np

__all__ = ['load_label_file', 'save_label_file', 'labels_from_mask', 'labels_from_voc_xml', 'label_histogram']


def load_label_file(path: str, num_foreground: int) -> Dict[str, np.ndarray]:
    """Load a label file: a pickled ``dict`` stem -> multi-hot vector of length ``num_foreground`` (ToCo format).

    Raises:
        FileNotFoundError: the file does not exist (its path is named).
        ValueError: the file is not such a dict, or a vector has the wrong length (the stem is named).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'image-level label file {path} does not exist; build it with '
                                'tools/dataset_converters/voc_weak.py (--no-sbd for VOC 2012 without SBD), '
                                'coco_weak.py or make_weakshapes.py, or set label_source='
                                "'mask' / 'xml' to derive labels from masks or VOC annotations")
    try:
        obj = np.load(path, allow_pickle=True)
        table = obj.item() if isinstance(obj, np.ndarray) and obj.dtype == object and obj.shape == () else obj
    except Exception as exc:
        raise ValueError(f'could not read image-level label file {path}: {exc!r}') from exc
    if not isinstance(table, dict):
        raise ValueError(f'image-level label file {path} must hold a dict stem -> multi-hot vector '
                         f'(cls_labels_onehot.npy format), got {type(table).__name__}')
    out = {}
    for stem, vec in table.items():
        vec = np.asarray(vec, dtype=np.float32).reshape(-1)
        if vec.shape[0] != num_foreground:
            raise ValueError(f'image-level label of {stem!r} in {path} has {vec.shape[0]} entries but the dataset '
                             f'has {num_foreground} foreground classes (num_classes - 1, no background entry)')
        out[str(stem)] = vec
    return out


def save_label_file(path: str, labels: Dict[str, np.ndarray]) -> None:
    """Write ``labels`` in the ToCo format (pickled dict of float32 vectors), atomically."""
    table = {stem: np.asarray(vec, dtype=np.float32) for stem, vec in labels.items()}
    tmp = path + '.tmp.npy'
    np.save(tmp, table, allow_pickle=True)
    os.replace(tmp, path)


def labels_from_mask(mask: np.ndarray, num_classes: int, ignore_index: int = 255, source: str = 'mask'
                     ) -> np.ndarray:
    """Multi-hot foreground label of a segmentation mask (class ids 1..num_classes-1; 0 and ignore skipped).

    Raises:
        ValueError: the mask holds a class id outside the class list (``source`` names the file in the message).
    """
    present = np.unique(mask)
    present = present[(present != 0) & (present != ignore_index)]
    bad = present[present >= num_classes]
    if bad.size:
        raise ValueError(f'{source} holds class ids {bad.tolist()} outside the {num_classes} classes of the dataset')
    vec = np.zeros(num_classes - 1, dtype=np.float32)
    vec[present.astype(np.int64) - 1] = 1
    return vec


def labels_from_voc_xml(path: str, class_names: Sequence[str]) -> np.ndarray:
    """Multi-hot foreground label from a PASCAL VOC annotation XML (every ``<object><name>``).

    ``class_names`` includes the background at index 0.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'VOC annotation {path} does not exist')
    index = {name: i for i, name in enumerate(class_names)}
    vec = np.zeros(len(class_names) - 1, dtype=np.float32)
    for obj in ET.parse(path).getroot().iter('object'):
        name = obj.findtext('name', default='').strip()
        if name not in index or index[name] == 0:
            raise ValueError(f'{path} names object class {name!r}, which is not in the dataset classes')
        vec[index[name] - 1] = 1
    return vec


def label_histogram(labels: Dict[str, np.ndarray]) -> Dict[int, int]:
    """How many images carry 1, 2, ... labels (``{num_labels: num_images}``)."""
    counts = np.array([int(v.sum()) for v in labels.values()], dtype=np.int64)
    values, freq = np.unique(counts, return_counts=True)
    return {int(v): int(f) for v, f in zip(values, freq)}
