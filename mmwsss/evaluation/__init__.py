from .metrics import CAMThresholdSweepMetric, WSSSIoUMetric

__all__ = ['CAMThresholdSweepMetric', 'WSSSIoUMetric']
