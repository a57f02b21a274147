from .wsss_iou_metric import WSSSIoUMetric

__all__ = ['WSSSIoUMetric']
