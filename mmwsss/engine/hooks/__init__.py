from .global_batch_hook import GlobalBatchInfoHook

__all__ = ['GlobalBatchInfoHook']
