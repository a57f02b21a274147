"""Each known warning once per run, printed by rank 0 only.

With N processes every rank (and every dataloader) repeats the same library warnings: a 4-process run printed each
of the ones below 4 times (8 for the two DataLoader lines). They are harmless and understood; what they mean:

* ``This DataLoader will create N worker processes in total``: torch compares ``num_workers`` with the CPUs it
  sees; on a small machine lower ``*_dataloader.num_workers`` (``--cfg-options``);
* ``build_loss would be deprecated soon``: MMSeg 1.2.2's own decode heads call its deprecated builder;
* ``The draw is False``: MMSeg's visualization hook is off unless ``tools/test.py --show-dir`` turns it on;
* ``Setting OMP_NUM_THREADS/MKL_NUM_THREADS ... to be 1``: mmengine's default for multi-process runs;
* ``broadcast_buffers is deprecated``: torch's DDP about the argument mmengine's runner passes.

:func:`configure_known_warnings` (run first by ``tools/train.py`` and ``tools/test.py``) shows each of them once on
rank 0 and hides them on the other ranks. Any other warning is left alone, on every rank. Dataloader workers are
forked after it ran and inherit the filters.
"""
import os
import warnings
from typing import Optional

__all__ = ['KNOWN_WARNINGS', 'configure_known_warnings']

#: (category, regular expression matching the start of the message)
KNOWN_WARNINGS = (
    (UserWarning, r'This DataLoader will create \d+ worker processes in total'),
    (UserWarning, r'``build_loss`` would be deprecated soon'),
    (UserWarning, r'The draw is False, it means that the hook for visualization will not take effect'),
    (UserWarning, r'Setting (OMP|MKL)_NUM_THREADS environment variable for each process'),
    (FutureWarning, r'`broadcast_buffers` is deprecated'),
)


def configure_known_warnings(rank: Optional[int] = None) -> None:
    """Known warnings: ``'once'`` on rank 0 (``RANK`` from the launcher's environment when not given), ``'ignore'``
    on the others.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     configure_known_warnings(rank=1)
        ...     warnings.warn('The draw is False, it means that the hook for visualization will not take effect.')
        >>> caught
        []
    """
    if rank is None:
        rank = int(os.environ.get('RANK', '0'))
    action = 'once' if rank == 0 else 'ignore'
    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings(action, message=message, category=category)
