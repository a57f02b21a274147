"""Sample-keyed randomness: the sampler's (index, seed) stream and the dataset running its pipeline under the seed."""
import itertools
import random

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmwsss.datasets.seeded_sampler as seeded_sampler
from conftest import REPO_ROOT
from mmseg.registry import DATASETS
from mmwsss.datasets import SeededInfiniteSampler


class _Items(list):
    accepts_seeded_indices = True


def test_ranks_split_one_global_stream(monkeypatch):
    single = list(itertools.islice(SeededInfiniteSampler(_Items(range(10)), seed=3), 24))
    assert sorted(i for i, _ in single[:10]) == list(range(10)), 'each pass is a permutation'
    assert len({s for _, s in single}) == 24, 'every drawn sample gets its own seed'
    per_rank = []
    for rank in (0, 1):
        monkeypatch.setattr(seeded_sampler, 'get_dist_info', lambda rank=rank: (rank, 2))
        per_rank.append(list(itertools.islice(SeededInfiniteSampler(_Items(range(10)), seed=3), 12)))
    assert [x for pair in zip(*per_rank) for x in pair] == single, '2 ranks together must see the 1-rank stream'
    other = list(itertools.islice(SeededInfiniteSampler(_Items(range(10)), seed=4), 24))
    assert other != single


@pytest.mark.parametrize('shuffle', [True, False])
@pytest.mark.parametrize('position', [0, 6, 10, 24, 37])
def test_fast_forward_starts_the_same_stream_later(monkeypatch, shuffle, position):
    """fast_forward(p) == the stream from position p on (across pass boundaries), for 1 and for 2 ranks."""
    full = list(itertools.islice(SeededInfiniteSampler(_Items(range(10)), shuffle=shuffle, seed=3), 60))
    sampler = SeededInfiniteSampler(_Items(range(10)), shuffle=shuffle, seed=3)
    sampler.fast_forward(position)
    assert list(itertools.islice(sampler, 60 - position)) == full[position:]
    for rank in (0, 1):
        monkeypatch.setattr(seeded_sampler, 'get_dist_info', lambda rank=rank: (rank, 2))
        sampler = SeededInfiniteSampler(_Items(range(10)), shuffle=shuffle, seed=3)
        sampler.fast_forward(position)
        assert list(itertools.islice(sampler, 10)) == full[position + rank:position + 20:2]
    with pytest.raises(ValueError, match='position must be >= 0'):
        sampler.fast_forward(-1)


def test_sampler_refuses_datasets_that_take_only_indices():
    with pytest.raises(TypeError, match="use it with an mmwsss WeakSegDataset, or use sampler=dict"):
        SeededInfiniteSampler(list(range(4)), seed=0)


def test_seeded_item_is_reproducible_and_leaves_global_generators_alone(tiny_weakshapes):
    init_default_scope('mmseg')
    cfg = Config.fromfile(f'{REPO_ROOT}/configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')
    cfg.train_dataloader.dataset.data_root = tiny_weakshapes
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    a, b, c = dataset[(3, 11)], dataset[(3, 11)], dataset[(3, 12)]
    assert random.getstate() == states[0] and np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2]), 'the item changed the process generators'
    assert torch.equal(a['inputs'], b['inputs']) and a['data_samples'].sample_seed == 11
    assert torch.equal(a['data_samples'].img_local, b['data_samples'].img_local)
    assert not torch.equal(a['inputs'], c['inputs']), 'another seed must give another augmentation'
    assert 'sample_seed' not in dataset[3]['data_samples'].metainfo


def test_model_draws_depend_on_the_image_seed_only():
    """WSSSContext.generators: an image's random draws do not depend on the batch it is in."""
    from mmseg.structures import SegDataSample
    from fixtures.contexts import make_context

    def ctx(seeds):
        samples = [SegDataSample(metainfo=dict(sample_seed=s)) for s in seeds]
        return make_context(torch.zeros(len(seeds), 3, 4, 4), data_samples=samples)

    def draws(seeds, stream='MaskedViewContrast'):
        return [torch.rand(5, generator=g) for g in ctx(seeds).generators('cpu', stream)]

    alone, in_batch = draws([7]), draws([5, 7, 9])
    assert torch.equal(alone[0], in_batch[1])
    assert not torch.equal(in_batch[0], in_batch[1])
    assert not torch.equal(draws([7], 'LocalCropContrast')[0], alone[0]), 'streams of two modules must differ'
