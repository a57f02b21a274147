from .cam_threshold_sweep import CAMThresholdSweepMetric
from .wsss_iou_metric import WSSSIoUMetric

__all__ = ['CAMThresholdSweepMetric', 'WSSSIoUMetric']
