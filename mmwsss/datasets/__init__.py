from .weakshapes import WEAKSHAPES_CLASSES, WeakShapesDataset, generate_weakshapes

__all__ = ['WEAKSHAPES_CLASSES', 'WeakShapesDataset', 'generate_weakshapes']
