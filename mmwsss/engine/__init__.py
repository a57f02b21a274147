from .checkpoint_io import find_resumable_checkpoint, register_atomic_local_backend
from .hooks import *  # noqa: F401,F403  (registers the hooks)

__all__ = ['find_resumable_checkpoint', 'register_atomic_local_backend']
