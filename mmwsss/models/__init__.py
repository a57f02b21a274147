from .data_preprocessor import WeakSegDataPreProcessor

__all__ = ['WeakSegDataPreProcessor']
