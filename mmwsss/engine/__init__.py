from .checkpoint_io import find_resumable_checkpoint, register_atomic_local_backend
from .optim_wrapper import (CPUAmpOptimWrapper, FiniteGradCheck, FiniteGradOptimWrapper,
                            FiniteGradOptimWrapperConstructor)
from .runner import WSSSRunner
from .loops import STREAM_POSITION_KEY, FastForwardIterBasedTrainLoop
from .hooks import *  # noqa: F401,F403  (registers the hooks)

__all__ = ['CPUAmpOptimWrapper', 'FastForwardIterBasedTrainLoop', 'FiniteGradCheck', 'FiniteGradOptimWrapper',
           'FiniteGradOptimWrapperConstructor', 'STREAM_POSITION_KEY', 'WSSSRunner',
           'find_resumable_checkpoint', 'register_atomic_local_backend']
