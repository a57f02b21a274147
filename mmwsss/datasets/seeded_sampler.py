"""An infinite sampler that gives every drawn sample its own random seed (sample-keyed randomness).

Why: with mmengine's ``InfiniteSampler`` the random crops, flips and views of a sample come from the data
worker's generator, so they depend on how many workers and processes there are and on everything the worker did
before. Then 2 processes x 1 image do not see the images 1 process x 2 images sees, and a resumed run has to
replay the whole data stream to get its augmentations back. Here the seed of a sample is a function of the run's
seed and of its position in the global stream only; :class:`~mmwsss.datasets.WeakSegDataset` runs the pipeline
under that seed and hands it to the model (``sample_seed`` in the data sample's metainfo), whose random views
(MCC masks, ToCo crops) use per-sample generators seeded from it. The same sample is then augmented and masked
identically whatever the number of workers, processes or interruptions.
"""
import itertools
from typing import Iterator, Optional, Sized, Tuple

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mmseg.registry import DATA_SAMPLERS

__all__ = ['SeededInfiniteSampler', 'sample_seed']


def sample_seed(seed: int, position: int) -> int:
    """A well-mixed 31-bit seed for the ``position``-th sample of the stream of a run seeded with ``seed``."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(position)]).generate_state(1)[0] >> 1)


@DATA_SAMPLERS.register_module()
class SeededInfiniteSampler(Sampler):
    """``InfiniteSampler`` order (a new permutation per pass), yielding ``(index, sample_seed)`` pairs.

    The global stream is the same for any number of processes; rank ``r`` of ``w`` takes positions
    ``r, r + w, r + 2w, ...`` (from ``start + r`` after :meth:`fast_forward`), so at iteration ``t`` with ``b`` images per process, 1 process x ``w*b`` images and
    ``w`` processes x ``b`` images train on the same samples with the same seeds.

    The dataset must accept the pairs (``accepts_seeded_indices = True``, as
    :class:`~mmwsss.datasets.WeakSegDataset` does); use mmengine's ``InfiniteSampler`` for other datasets.

    Args:
        dataset (Sized): the dataset.
        shuffle (bool): a random permutation per pass (else 0..N-1). Defaults to True.
        seed (int, optional): the run's seed (the runner passes ``randomness.seed``); synchronised over ranks
            when None.

    Example:
        >>> import itertools
        >>> from mmwsss.datasets import SeededInfiniteSampler
        >>> class Data(list):
        ...     accepts_seeded_indices = True
        >>> pairs = list(itertools.islice(SeededInfiniteSampler(Data(range(4)), seed=0), 4))
        >>> sorted(idx for idx, _ in pairs)  # the first pass is a permutation
        [0, 1, 2, 3]
        >>> pairs == list(itertools.islice(SeededInfiniteSampler(Data(range(4)), seed=0), 4))  # fixed by the seed
        True
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None) -> None:
        if not getattr(dataset, 'accepts_seeded_indices', False):
            raise TypeError(f'SeededInfiniteSampler yields (index, seed) pairs, which {type(dataset).__name__} does '
                            'not accept; use it with an mmwsss WeakSegDataset, or use '
                            "sampler=dict(type='InfiniteSampler') for this dataset")
        self.rank, self.world_size = get_dist_info()
        self.dataset, self.size, self.shuffle = dataset, len(dataset), shuffle
        if self.size == 0:
            raise ValueError(f'SeededInfiniteSampler: {type(dataset).__name__} is empty')
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.start = 0

    def fast_forward(self, position: int) -> None:
        """Make the next ``iter(sampler)`` begin at global stream position ``position``.

        Used on ``--resume`` by :class:`~mmwsss.engine.FastForwardIterBasedTrainLoop`: the samples of the trained
        iterations are skipped without being loaded (the stream is a function of the seed and the position only,
        so nothing about them has to be replayed).
        """
        if position < 0:
            raise ValueError(f'SeededInfiniteSampler.fast_forward: position must be >= 0, got {position}')
        self.start = int(position)

    def _indices(self, start: int) -> Iterator[int]:
        """Dataset indices of the global stream from position ``start`` on."""
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        passes, offset = divmod(start, self.size)
        for _ in range(passes if self.shuffle else 0):  # keep the generator where the stream has it
            torch.randperm(self.size, generator=generator)
        while True:
            order = torch.randperm(self.size, generator=generator).tolist() if self.shuffle else range(self.size)
            yield from order[offset:]
            offset = 0

    def __iter__(self) -> Iterator[Tuple[int, int]]:
        stream = ((idx, sample_seed(self.seed, pos)) for pos, idx in enumerate(self._indices(self.start), self.start))
        yield from itertools.islice(stream, self.rank, None, self.world_size)

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Not used: the stream is infinite and fixed by the seed (kept for ``DistSamplerSeedHook``)."""
