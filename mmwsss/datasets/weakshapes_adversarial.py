"""WeakShapes-format images built to break the losses: no object, a cropped-away object, every class, tiny images.

Used by ``tools/misc/stress_numerics.py`` (and its test) to check that no loss term of the WSSS configs ever
becomes NaN/Inf. Every case is a corner a real dataset reaches sooner or later: a random crop without the
labelled object, an image with all classes (every CAM channel active), images smaller than the training crop
(mostly padding), flat images (zero variance everywhere, PAR's affinity denominators), no foreground label at all.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
from PIL import Image

from .atomic_io import save_image_atomic, save_palette_png_atomic, write_split_atomic
from .image_labels import save_label_file
from .weakshapes import WEAKSHAPES_CLASSES, _background, draw_object

#: case name -> what the image holds
ADVERSARIAL_CASES = {
    'all_background': 'textured background, no object, all-zero image label',
    'object_cropped_away': '256 px image, one small object in a corner: most random crops do not contain it',
    'single_class': 'one large object',
    'all_classes': 'all 5 classes, one object each',
    'tiny_24px': '24 x 24 image with one object (the crop is 96 x 96: mostly padding)',
    'tiny_8px': '8 x 8 image, labelled with one class',
    'flat_black': 'constant black image labelled with one class',
    'flat_white': 'constant white image labelled with all classes',
}


def _render(case: str, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray, List[int]]:
    num_fg = len(WEAKSHAPES_CLASSES) - 1
    size = {'object_cropped_away': 256, 'tiny_24px': 24, 'tiny_8px': 8}.get(case, 128)
    if case in ('flat_black', 'flat_white'):
        img = np.full((size, size, 3), 0 if case == 'flat_black' else 255, dtype=np.uint8)
        label = np.zeros((size, size), dtype=np.uint8)
        return img, label, [int(rng.integers(1, num_fg + 1))] if case == 'flat_black' else list(range(1, num_fg + 1))
    img = _background(rng, size)
    label = np.zeros((size, size), dtype=np.uint8)
    if case == 'object_cropped_away':
        cls = int(rng.integers(1, num_fg + 1))
        draw_object(img, label, cls, 0.95 * size, 0.95 * size, 0.05 * size, rng.uniform(0, 2 * np.pi), rng)
    elif case == 'single_class':
        draw_object(img, label, int(rng.integers(1, num_fg + 1)), size / 2, size / 2, 0.35 * size,
                    rng.uniform(0, 2 * np.pi), rng)
    elif case == 'all_classes':
        for cls, (cx, cy) in zip(range(1, num_fg + 1), [(.25, .25), (.75, .25), (.5, .5), (.25, .75), (.75, .75)]):
            draw_object(img, label, cls, cx * size, cy * size, 0.14 * size, rng.uniform(0, 2 * np.pi), rng)
    elif case in ('tiny_24px', 'tiny_8px'):
        draw_object(img, label, int(rng.integers(1, num_fg + 1)), size / 2, size / 2, 0.4 * size, 0.0, rng)
    img = np.clip(img, 0, 255).astype(np.uint8)
    labels = sorted(int(c) for c in np.unique(label) if c != 0)
    if case == 'tiny_8px' and not labels:  # an 8 px shape may cover no pixel centre: label it anyway
        labels = [1]
    return img, label, labels


def generate_adversarial_weakshapes(root: str, per_case: int = 4, seed: int = 0) -> Dict:
    """Write ``per_case`` images of every :data:`ADVERSARIAL_CASES` case under ``root`` (WeakShapes layout).

    ``train.txt`` lists all of them (case order interleaved, so every batch mixes cases), ``val.txt`` one per case.
    Returns the info dict also written to ``root/adversarial.json``.
    """
    for sub in ('JPEGImages', 'SegmentationClass', osp.join('ImageSets', 'Segmentation')):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    onehot, stems, val = {}, [], []
    for k in range(per_case):
        for c, case in enumerate(ADVERSARIAL_CASES):
            rng = np.random.default_rng([seed, c, k])
            img, mask, labels = _render(case, rng)
            stem = f'adv_{case}_{k:03d}'
            save_image_atomic(Image.fromarray(img), osp.join(root, 'JPEGImages', stem + '.jpg'), quality=95)
            save_palette_png_atomic(mask, osp.join(root, 'SegmentationClass', stem + '.png'))
            vec = np.zeros(len(WEAKSHAPES_CLASSES) - 1, dtype=np.float32)
            vec[[c - 1 for c in labels]] = 1
            onehot[stem] = vec
            stems.append(stem)
            if k == 0:
                val.append(stem)
    write_split_atomic(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt'), stems)
    write_split_atomic(osp.join(root, 'ImageSets', 'Segmentation', 'val.txt'), val)
    save_label_file(osp.join(root, 'cls_labels_onehot.npy'), onehot)
    info = dict(seed=seed, per_case=per_case, cases=ADVERSARIAL_CASES, num_train=len(stems))
    with open(osp.join(root, 'adversarial.json'), 'w', encoding='utf-8') as f:
        json.dump(info, f, indent=2)
    return info
