from .context import WSSSContext
from .weak_segmentor import WeakSegmentor
from .wsss_tta_model import WSSSTTAModel

__all__ = ['WSSSContext', 'WeakSegmentor', 'WSSSTTAModel']
