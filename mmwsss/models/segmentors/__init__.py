from .weak_segmentor import WeakSegmentor
from .wsss_tta_model import WSSSTTAModel

__all__ = ['WeakSegmentor', 'WSSSTTAModel']
