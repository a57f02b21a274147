from .metrics import WSSSIoUMetric

__all__ = ['WSSSIoUMetric']
