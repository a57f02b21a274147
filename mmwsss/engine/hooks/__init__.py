from .global_batch_hook import GlobalBatchInfoHook
from .memory_bank_hook import MemoryBankHook

__all__ = ['GlobalBatchInfoHook', 'MemoryBankHook']
