from .class_names import COCO_CLASSES, VOC_CLASSES
from .transforms import *  # noqa: F401,F403  (registers the transforms)
from .weak_seg_dataset import WeakCOCODataset, WeakSegDataset, WeakVOCDataset
from .weakshapes import WEAKSHAPES_CLASSES, WeakShapesDataset, generate_weakshapes

__all__ = ['COCO_CLASSES', 'VOC_CLASSES', 'WEAKSHAPES_CLASSES', 'WeakCOCODataset', 'WeakSegDataset',
           'WeakShapesDataset', 'WeakVOCDataset', 'generate_weakshapes']
