from .dual_student_segmentor import DualStudentSegmentor
from .weak_segmentor import WeakSegmentor
from .wsss_tta_model import WSSSTTAModel

__all__ = ['DualStudentSegmentor', 'WeakSegmentor', 'WSSSTTAModel']
