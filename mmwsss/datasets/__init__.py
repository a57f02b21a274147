from .class_names import COCO_CLASSES, VOC_CLASSES
from .transforms import *  # noqa: F401,F403  (registers the transforms)
from .seeded_sampler import SeededInfiniteSampler, sample_seed
from .weak_seg_dataset import WeakCOCODataset, WeakSegDataset, WeakVOCDataset
from .weakshapes import WEAKSHAPES_CLASSES, WeakShapesDataset, generate_weakshapes

__all__ = ['COCO_CLASSES', 'SeededInfiniteSampler', 'VOC_CLASSES', 'WEAKSHAPES_CLASSES', 'WeakCOCODataset', 'WeakSegDataset',
           'WeakShapesDataset', 'WeakVOCDataset', 'generate_weakshapes', 'sample_seed']
