from .large_fov_head import LargeFOVHead
from .projection_head import DINOProjectionHead

__all__ = ['LargeFOVHead', 'DINOProjectionHead']
