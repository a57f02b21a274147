from .checkpoint_match_hook import CheckpointMatchHook
from .dataset_model_check_hook import DatasetModelCheckHook
from .eval_progress_hook import EvalProgressHook
from .global_batch_hook import GlobalBatchInfoHook
from .memory_bank_hook import MemoryBankHook
from .optimizer_step_hook import OptimizerStepInfoHook
from .random_state_hook import RandomStateHook

__all__ = ['CheckpointMatchHook', 'DatasetModelCheckHook', 'EvalProgressHook', 'GlobalBatchInfoHook', 'MemoryBankHook',
           'OptimizerStepInfoHook', 'RandomStateHook']
