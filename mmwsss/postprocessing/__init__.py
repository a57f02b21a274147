"""Post-processing after the (multi-scale) model output: dense CRF, and the worker pool that runs it."""
from .dense_crf import DenseCRF
from .crf_pseudo_labels import crf_pseudo_label, write_pseudo_label
from .streaming_pool import StreamingPool

__all__ = ['DenseCRF', 'StreamingPool', 'crf_pseudo_label', 'write_pseudo_label']
