"""A bounded, ordered process pool for work that is produced one item at a time (e.g. per test batch).

Evaluation with a dense CRF must not keep the full-resolution probabilities of a whole split in memory (COCO val
would need terabytes), and must not make the model wait for the CRF. :class:`StreamingPool` sends each item to a
worker process as soon as it is produced and hands back finished results, never holding more than
``max_pending`` items in flight; the producer blocks when the workers fall behind.
"""
import collections
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, List, Optional, Sequence


def _init_worker() -> None:
    # One thread per worker: the pool is the parallelism, and oversubscribed BLAS/OpenCV threads only slow it down.
    try:
        import cv2
        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - OpenCV ships with mmcv
        pass
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


class StreamingPool:
    """Apply ``fn`` to items in ``num_workers`` processes, results in submission order.

    Args:
        fn (callable): a module-level function (it is pickled by reference) of one argument.
        num_workers (int): worker processes; 0 runs ``fn`` inline in the caller (handy for debugging and tests).
        max_pending (int, optional): most items in flight before :meth:`submit` waits for the oldest one.
            Defaults to ``2 * num_workers``.
        start_method (str): multiprocessing start method. Defaults to ``'forkserver'``: workers are forked from a
            clean server process, not from the caller, whose OpenCV/OpenMP thread pools (used by the model and the
            data pipeline) can deadlock a forked child (seen: ``cv2`` hanging in a ``'fork'`` worker). The server
            is started once per process and preloads ``preload``, so later pools start instantly.
        preload (sequence of str): modules the fork server imports once (the worker function's module).

    Example:
        >>> pool = StreamingPool(abs, num_workers=0)
        >>> pool.submit(-1), pool.submit(-2), pool.close()
        ([1], [2], [])
    """

    def __init__(self, fn: Callable[[Any], Any], num_workers: int = 2, max_pending: Optional[int] = None,
                 start_method: str = 'forkserver', preload: Sequence[str] = ()) -> None:
        if num_workers < 0:
            raise ValueError(f'StreamingPool: num_workers must be >= 0, got {num_workers}')
        self.fn = fn
        self.num_workers = num_workers
        self.max_pending = max(1, max_pending if max_pending is not None else 2 * num_workers)
        self._pending = collections.deque()
        self._executor = None
        if num_workers > 0:
            context = multiprocessing.get_context(start_method)
            if start_method == 'forkserver':
                context.set_forkserver_preload([fn.__module__, *preload])
            self._executor = ProcessPoolExecutor(num_workers, mp_context=context, initializer=_init_worker)

    def submit(self, item: Any) -> List[Any]:
        """Queue ``item``; return the results that had to be collected to keep at most ``max_pending`` queued."""
        if self._executor is None:
            return [self.fn(item)]
        self._pending.append(self._executor.submit(self.fn, item))
        done = []
        while len(self._pending) > self.max_pending:
            done.append(self._pending.popleft().result())  # re-raises a worker's exception here
        return done

    def close(self) -> List[Any]:
        """Wait for every queued item, shut the workers down and return the remaining results in order."""
        try:
            return [future.result() for future in self._pending]
        finally:
            self._pending.clear()
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None

    def __enter__(self) -> 'StreamingPool':
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
