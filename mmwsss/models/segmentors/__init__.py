from .context import WSSSContext
from .weak_segmentor import WeakSegmentor

__all__ = ['WSSSContext', 'WeakSegmentor']
