"""Pictures of what a WSSS model sees: CAM heatmap overlays (matplotlib is imported only when drawing)."""
from .cam_overlay import cam_rows, draw_cam_grid, save_cam_overlays

__all__ = ['cam_rows', 'draw_cam_grid', 'save_cam_overlays']
