"""Writers that never leave a half-written file: write to ``<path>.tmp``, then rename (atomic on POSIX).

Converters and generators rely on it to resume: a file that exists is complete, so a rerun can skip it.
"""
import os
from typing import Sequence

import numpy as np
from PIL import Image

from .class_names import voc_palette_bytes


def save_image_atomic(image: Image.Image, path: str, **kwargs) -> None:
    """``image.save(path, **kwargs)`` through a temporary name (format from the extension: .jpg -> JPEG)."""
    tmp = path + '.tmp'
    image.save(tmp, format='JPEG' if path.lower().endswith(('.jpg', '.jpeg')) else 'PNG', **kwargs)
    os.replace(tmp, path)


def save_palette_png_atomic(mask: np.ndarray, path: str) -> None:
    """A class-index mask as a VOC-palette PNG (mode 'P'), the format of VOC/SBD/COCO-converted masks."""
    png = Image.fromarray(np.asarray(mask, dtype=np.uint8), mode='P')
    png.putpalette(voc_palette_bytes())
    save_image_atomic(png, path)


def write_split_atomic(path: str, stems: Sequence[str]) -> None:
    """A split list: one stem per line."""
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(''.join(stem + '\n' for stem in stems))
    os.replace(tmp, path)
