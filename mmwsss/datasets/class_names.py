"""Class lists and palettes of the weak-label datasets (background first, then the foreground classes)."""
import numpy as np

VOC_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
               'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train',
               'tvmonitor')

# COCO 2014: background + the 80 categories in ascending category id (1..90 with gaps), remapped to 1..80.
COCO_CLASSES = (
    'background', 'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep',
    'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
    'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard',
    'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch',
    'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone',
    'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear',
    'hair drier', 'toothbrush')


def voc_colormap(num: int = 256) -> np.ndarray:
    """The PASCAL VOC colour map (``num`` x 3 uint8): the palette of VOC PNGs and of the VOC test server."""
    palette = np.zeros((num, 3), dtype=np.uint8)
    for idx in range(num):
        c, r, g, b = idx, 0, 0, 0
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette[idx] = (r, g, b)
    return palette


def voc_palette_bytes() -> bytes:
    """The 256-entry VOC colour map as the flat byte list that ``PIL.Image.putpalette`` takes."""
    return voc_colormap(256).tobytes()


VOC_PALETTE = voc_colormap(len(VOC_CLASSES)).tolist()
COCO_PALETTE = voc_colormap(len(COCO_CLASSES)).tolist()
