from .checkpoint_io import find_resumable_checkpoint, register_atomic_local_backend
from .loops import STREAM_POSITION_KEY, FastForwardIterBasedTrainLoop
from .hooks import *  # noqa: F401,F403  (registers the hooks)

__all__ = ['FastForwardIterBasedTrainLoop', 'STREAM_POSITION_KEY', 'find_resumable_checkpoint',
           'register_atomic_local_backend']
