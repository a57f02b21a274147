"""WeakShapes: a synthetic, seeded VOC-layout dataset on which a WSSS method trains on a laptop CPU.

Every image holds 1-3 objects of five classes that differ in *shape*, *texture* and hue family, at varied size,
rotation and position, possibly overlapping, on a cluttered background of weakly coloured noise, line segments and
blobs of any colour. The class evidence is local, so a class activation map has to find it, which is what makes
the dataset useful for weak supervision. Format 1 drew object colours uniformly at random: a small CNN or ViT
trained from scratch then stayed at the label prior for thousands of samples (measured: 200 iterations x 16
images, accuracy 0.65 = prior), far beyond a CPU demo's budget; format 2 gives each class a hue family (+-20
degrees around its centre), and the same CNN reaches 0.98 per-label accuracy in 200 iterations.

Layout written by :func:`generate_weakshapes` (the same as PASCAL VOC 2012)::

    root/
      JPEGImages/ws_000000.jpg ...         RGB images
      SegmentationClass/ws_000000.png ...  palette PNGs: 0 background, 1..5 classes, 255 boundary band
      ImageSets/Segmentation/{train,val}.txt
      cls_labels_onehot.npy                 ToCo-style dict: stem -> float32 multi-hot (5,), no background
      weakshapes.json                       the generation parameters (generation is skipped when they match)

Example:
    >>> from mmwsss.datasets.weakshapes import generate_weakshapes
    >>> info = generate_weakshapes('data/weakshapes', num_train=800, num_val=200)  # doctest: +SKIP
    >>> info['counts']  # doctest: +SKIP
    {'train': 800, 'val': 200}
"""
import json
import os
import os.path as osp
from typing import Dict

import numpy as np
from PIL import Image
from scipy import ndimage

from mmseg.registry import DATASETS

from .atomic_io import save_image_atomic, save_palette_png_atomic, write_split_atomic
from .class_names import voc_colormap
from .image_labels import save_label_file
from .weak_seg_dataset import WeakSegDataset

WEAKSHAPES_CLASSES = ('background', 'disc', 'square', 'triangle', 'cross', 'ring')
# The first entries of the PASCAL VOC colour map, so masks look like VOC masks in any viewer.
WEAKSHAPES_PALETTE = voc_colormap(len(WEAKSHAPES_CLASSES)).tolist()
FORMAT_VERSION = 2
# Hue centre (degrees) of each foreground class: object colours vary around it (+-20 deg, random saturation and
# value), so colour is a cue a small model picks up quickly but not a perfect one (neighbouring hues, the greyscale
# augmentation and coloured clutter in the background all confuse it); shape and texture disambiguate.
CLASS_HUES = (0, 72, 144, 216, 288)


def _shape_mask(cls: int, u: np.ndarray, v: np.ndarray, r: float) -> np.ndarray:
    """Boolean mask of class ``cls`` in object coordinates (u, v) centred on the object, radius ``r``."""
    if cls == 1:  # disc
        return u**2 + v**2 <= r**2
    if cls == 2:  # square
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8 * r
    if cls == 3:  # equilateral triangle, apex up
        s3 = np.sqrt(3.0)
        return (v <= 0.5 * r) & (s3 * u - v <= r) & (-s3 * u - v <= r)
    if cls == 4:  # cross
        arm = 0.32 * r
        return ((np.abs(u) <= arm) & (np.abs(v) <= r)) | ((np.abs(v) <= arm) & (np.abs(u) <= r))
    if cls == 5:  # ring
        d2 = u**2 + v**2
        return (d2 <= r**2) & (d2 >= (0.55 * r)**2)
    raise ValueError(f'WeakShapes has no class {cls}')


def _texture(cls: int, u: np.ndarray, v: np.ndarray, period: float) -> np.ndarray:
    """Boolean two-tone texture of class ``cls`` (dots, stripes, checker, diagonal stripes, speckle)."""
    if cls == 1:  # dots
        return (np.mod(u, period) - period / 2)**2 + (np.mod(v, period) - period / 2)**2 < (period / 3.2)**2
    if cls == 2:  # stripes
        return np.mod(v, period) < period / 2
    if cls == 3:  # checker board
        return (np.floor(u / period) + np.floor(v / period)) % 2 == 0
    if cls == 4:  # diagonal stripes
        return np.mod(u + v, period) < period / 2
    if cls == 5:  # concentric bands
        return np.mod(np.sqrt(u**2 + v**2), period) < period / 2
    raise ValueError(f'WeakShapes has no class {cls}')


def _hsv_to_rgb(hue: float, sat: float, val: float) -> np.ndarray:
    """One colour from HSV (hue in degrees, saturation and value in [0, 1]) to float RGB in [0, 255]."""
    c = val * sat
    x = c * (1 - abs((hue / 60) % 2 - 1))
    r, g, b = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(hue // 60) % 6]
    return (np.array([r, g, b]) + (val - c)) * 255


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Cluttered background: smooth, weakly saturated colour noise, random line segments and blobs of any colour
    (float RGB in [0, 255])."""
    grey = rng.uniform(60, 200, size=(4, 4, 1))
    coarse = grey + rng.uniform(-35, 35, size=(4, 4, 3))
    img = ndimage.zoom(coarse, (size / 4, size / 4, 1), order=1)[:size, :size]
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    for _ in range(rng.integers(3, 8)):  # line segments of random colour and width
        x0, y0, x1, y1 = rng.uniform(0, size, 4)
        width = rng.uniform(0.8, 2.5)
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((xx - x0) * dx + (yy - y0) * dy) / max(dx * dx + dy * dy, 1e-6), 0, 1)
        dist = np.hypot(xx - (x0 + t * dx), yy - (y0 + t * dy))
        img[dist <= width] = rng.uniform(0, 255, 3)
    for _ in range(rng.integers(2, 6)):  # soft blobs
        cx, cy = rng.uniform(0, size, 2)
        rad = rng.uniform(0.03, 0.1) * size
        alpha = np.exp(-((xx - cx)**2 + (yy - cy)**2) / (2 * rad**2))[..., None]
        img = img * (1 - alpha) + alpha * rng.uniform(0, 255, 3)
    return img


def draw_object(img: np.ndarray, label: np.ndarray, cls: int, cx: float, cy: float, r: float, theta: float,
                rng: np.random.Generator) -> None:
    """Paint one textured shape of class ``cls`` (centre, radius in px, rotation) into ``img`` and ``label``."""
    h, w = label.shape
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    cos, sin = np.cos(theta), np.sin(theta)
    u = cos * (xx - cx) + sin * (yy - cy)
    v = -sin * (xx - cx) + cos * (yy - cy)
    shape = _shape_mask(cls, u, v, r)
    tex = _texture(cls, u, v, period=rng.uniform(0.08, 0.14) * max(h, w) * 0.6 + 3)
    hue = (CLASS_HUES[cls - 1] + rng.uniform(-20, 20)) % 360
    c1 = _hsv_to_rgb(hue, rng.uniform(0.55, 1.0), rng.uniform(0.65, 1.0))
    c2 = c1 * rng.uniform(0.25, 0.45)  # the darker second tone of the texture
    obj = np.where(tex[..., None], c1, c2)
    img[shape] = obj[shape]
    label[shape] = cls


def render_sample(index: int, seed: int = 0, size: int = 128, max_objects: int = 3,
                  min_visible: float = 0.004, band: int = 1):
    """Render sample ``index`` of the dataset with ``seed``: returns ``(rgb uint8 HxWx3, mask uint8 HxW, labels)``.

    The sample depends only on ``(seed, index)``, so any subset can be regenerated identically and in any order.
    ``labels`` lists the classes with at least ``min_visible`` of the image area visible after occlusion (image
    labels come from what is visible, as VOC's do). Pixels within ``band`` px of a class boundary are 255 in the
    mask, like VOC's void band.
    """
    rng = np.random.default_rng([seed, index])
    img = _background(rng, size)
    label = np.zeros((size, size), dtype=np.uint8)
    for _ in range(rng.integers(1, max_objects + 1)):
        cls = int(rng.integers(1, len(WEAKSHAPES_CLASSES)))
        r = rng.uniform(0.12, 0.3) * size
        cx, cy = rng.uniform(0.1 * size, 0.9 * size, 2)
        theta = rng.uniform(0, 2 * np.pi)
        draw_object(img, label, cls, cx, cy, r, theta, rng)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)

    counts = np.bincount(label.ravel(), minlength=len(WEAKSHAPES_CLASSES))
    labels = [c for c in range(1, len(WEAKSHAPES_CLASSES)) if counts[c] >= min_visible * size * size]
    for c in range(1, len(WEAKSHAPES_CLASSES)):  # a sliver too small to be labelled is not an object
        if c not in labels:
            label[label == c] = 0
    if band > 0:
        footprint = np.ones((2 * band + 1, 2 * band + 1), dtype=bool)
        edge = ndimage.maximum_filter(label, footprint=footprint) != ndimage.minimum_filter(label, footprint=footprint)
        label = label.copy()
        label[edge] = 255
    return img, label, labels


def generate_weakshapes(root: str, num_train: int = 800, num_val: int = 200, seed: int = 0, size: int = 128,
                        max_objects: int = 3, jpeg_quality: int = 92, force: bool = False,
                        progress: bool = True) -> Dict:
    """Write the WeakShapes dataset under ``root`` and return its info dict (parameters, counts, histograms).

    Nothing is written when ``root/weakshapes.json`` already records the same parameters (unless ``force``).
    Files are written to a temporary name and renamed, so an interrupted run never leaves a truncated image.
    """
    params = dict(format_version=FORMAT_VERSION, num_train=num_train, num_val=num_val, seed=seed, size=size,
                  max_objects=max_objects, jpeg_quality=jpeg_quality, classes=list(WEAKSHAPES_CLASSES))
    meta_file = osp.join(root, 'weakshapes.json')
    if not force and osp.isfile(meta_file):
        with open(meta_file, encoding='utf-8') as f:
            info = json.load(f)
        if info.get('params') == params:
            info['skipped'] = True
            return info

    for sub in ('JPEGImages', 'SegmentationClass', osp.join('ImageSets', 'Segmentation')):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    splits = {'train': range(num_train), 'val': range(num_train, num_train + num_val)}
    onehot, hist = {}, {}
    indices = list(range(num_train + num_val))
    if progress:
        from mmengine.utils import track_iter_progress
        indices = track_iter_progress(indices)
    for index in indices:
        stem = f'ws_{index:06d}'
        img, mask, labels = render_sample(index, seed=seed, size=size, max_objects=max_objects)
        save_image_atomic(Image.fromarray(img), osp.join(root, 'JPEGImages', stem + '.jpg'), quality=jpeg_quality)
        save_palette_png_atomic(mask, osp.join(root, 'SegmentationClass', stem + '.png'))
        vec = np.zeros(len(WEAKSHAPES_CLASSES) - 1, dtype=np.float32)
        vec[[c - 1 for c in labels]] = 1
        onehot[stem] = vec
    for split, idx in splits.items():
        stems = [f'ws_{i:06d}' for i in idx]
        write_split_atomic(osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt'), stems)
        vecs = np.stack([onehot[s] for s in stems]) if stems else np.zeros((0, len(WEAKSHAPES_CLASSES) - 1))
        hist[split] = dict(per_class={c: int(n) for c, n in zip(WEAKSHAPES_CLASSES[1:], vecs.sum(0))},
                           labels_per_image={int(k): int(n) for k, n in
                                             zip(*np.unique(vecs.sum(1).astype(int), return_counts=True))})
    save_label_file(osp.join(root, 'cls_labels_onehot.npy'), onehot)
    info = dict(params=params, counts={k: len(v) for k, v in splits.items()}, histograms=hist)
    with open(meta_file, 'w', encoding='utf-8') as f:  # written last: marks the tree complete
        json.dump(info, f, indent=2)
    info['skipped'] = False
    return info


@DATASETS.register_module()
class WeakShapesDataset(WeakSegDataset):
    """The WeakShapes tree (see :func:`generate_weakshapes`) with image-level labels.

    Example:
        >>> dataset = dict(type='WeakShapesDataset', data_root='data/weakshapes',
        ...                data_prefix=dict(img_path='JPEGImages'), ann_file='ImageSets/Segmentation/train.txt',
        ...                label_file='cls_labels_onehot.npy', pipeline=[])
    """
    METAINFO = dict(classes=WEAKSHAPES_CLASSES, palette=WEAKSHAPES_PALETTE)
    build_command = 'python tools/dataset_converters/make_weakshapes.py {data_root}'
