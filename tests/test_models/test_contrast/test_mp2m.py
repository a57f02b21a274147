"""MP2M (mmwsss/models/contrast/mp2m.py): the prototype bank (extraction with batch > 1, set/EMA update, identical
banks across 2 gloo processes), the bounded adaptive weight, and the module that owns the bank."""
import math
import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from mmwsss.compat import load_checkpoint_file
from mmwsss.models.contrast.mp2m import WEIGHT_RANGE, PrototypeMemoryBank, adaptive_weight, bhattacharyya_weight

LOW, HIGH = WEIGHT_RANGE


def _update(bank, sums, counts, **kwargs):
    """Put ``(sums, counts)`` into the bank's open window and close it."""
    bank.accumulate(sums, counts)
    return bank.update(**kwargs)


def _tiny_batch():
    """3 images, K = 2, C = 2, a 1 x 3 token grid (see the hand computation in the test)."""
    tokens = torch.tensor([[[[1., 2., 3.]], [[4., 5., 6.]]],
                           [[[10., 20., 30.]], [[0., 2., 4.]]],
                           [[[7., 7., 7.]], [[7., 7., 7.]]]])
    cam = torch.tensor([[[[0.9, 0.2, 0.6]], [[0.1, 0.8, 0.7]]],        # img 0: class 0 | class 1 | class 1
                        [[[0.3, 0.9, 0.95]], [[0.99, 0.99, 0.99]]],    # img 1: bkg | class 0 | class 0 (1 absent)
                        [[[0.0, 0.0, 0.0]], [[0.4, 0.4, 0.4]]]])       # img 2: class 1 present, never confident
    labels = torch.tensor([[1., 1.], [1., 0.], [0., 1.]])
    return tokens, cam, labels


def test_extract_pools_every_image_of_the_batch():
    tokens, cam, labels = _tiny_batch()
    bank = PrototypeMemoryBank(2, 2, bkg_thr=0.5)
    sums, counts = bank.extract(tokens, cam, labels)
    # img 0: class 0 -> token 0 = (1, 4); class 1 -> mean of tokens 1, 2 = (2.5, 5.5)
    # img 1: class 0 -> mean of tokens 1, 2 = (25, 3); class 1 absent; img 2: nothing above 0.5
    assert torch.equal(counts, torch.tensor([2., 1.]))
    assert torch.allclose(sums, torch.tensor([[1. + 25., 4. + 3.], [2.5, 5.5]]))
    assert not sums.requires_grad

    # a box that drops token 2 of image 0 (token-grid units: the CAM is on the token grid)
    boxes = [(0, 1, 0, 2), (0, 1, 0, 3), (0, 1, 0, 3)]
    sums, counts = bank.extract(tokens, cam, labels, img_boxes=boxes)
    assert torch.equal(counts, torch.tensor([2., 1.]))
    assert torch.allclose(sums, torch.tensor([[26., 7.], [2., 5.]]))

    # a CAM at twice the token resolution (constant 2 x 2 blocks) is resized onto the grid: same result
    big = cam.repeat_interleave(2, dim=-1).repeat_interleave(2, dim=-2)
    sums_big, counts_big = bank.extract(tokens, big, labels)
    assert torch.equal(counts_big, torch.tensor([2., 1.]))
    assert torch.allclose(sums_big, torch.tensor([[26., 7.], [2.5, 5.5]]))

    # a higher threshold (0.85) keeps img 0 / class 0 and img 1 / class 0 only; tokens with grad are detached
    tokens.requires_grad_(True)
    sums, counts = bank.extract(tokens, cam, labels, thr=0.85)
    assert torch.equal(counts, torch.tensor([2., 0.]))
    assert torch.allclose(sums, torch.tensor([[26., 7.], [0., 0.]]))
    assert not sums.requires_grad


def test_update_initialises_then_ema_and_skips_rare_classes():
    bank = PrototypeMemoryBank(3, 2, momentum=0.9, min_count=2)
    updated = _update(bank, torch.tensor([[6., 8.], [1., 1.], [0., -4.]]), torch.tensor([2., 1., 2.]))
    assert updated.tolist() == [True, False, True]
    assert bank.initialised.tolist() == [True, False, True]
    assert torch.allclose(bank.bank, torch.tensor([[0.6, 0.8], [0., 0.], [0., -1.]]))

    updated = _update(bank, torch.tensor([[2., 0.], [0., 5.], [9., 9.]]), torch.tensor([2., 5., 1.]))
    assert updated.tolist() == [True, True, False]
    ema = torch.tensor([0.9 * 0.6 + 0.1 * 1., 0.9 * 0.8 + 0.1 * 0.])
    ema = ema / ema.norm()  # (0.6644, 0.7474)
    assert torch.allclose(bank.bank[0], ema, atol=1e-6)
    assert torch.allclose(bank.bank[1], torch.tensor([0., 1.]))   # first estimate of class 1 sets it
    assert torch.equal(bank.bank[2], torch.tensor([0., -1.]))     # below min_count: untouched
    assert torch.allclose(bank.bank.norm(dim=1), torch.ones(3))
    assert bank.ready

    # momentum override: m = 0 copies the fresh estimate
    _update(bank, torch.tensor([[0., 3.], [0., 0.], [0., 0.]]), torch.tensor([3., 0., 0.]), momentum=0.0)
    assert torch.allclose(bank.bank[0], torch.tensor([0., 1.]))


def test_memory_cam_is_cosine_and_zero_for_empty_classes():
    bank = PrototypeMemoryBank(3, 2, min_count=1)
    _update(bank, torch.tensor([[1., 0.], [0., 0.], [1., 1.]]), torch.tensor([1., 0., 1.]))
    tokens = torch.tensor([[[[3., 0.]], [[4., -2.]]]], requires_grad=True)  # tokens (3, 4) and (0, -2)
    mem = bank.memory_cam(tokens)
    assert mem.shape == (1, 3, 1, 2)
    assert torch.allclose(mem[0, 0, 0], torch.tensor([0.6, 0.]))
    assert torch.equal(mem[0, 1], torch.zeros(1, 2))
    assert torch.allclose(mem[0, 2, 0], torch.tensor([7. / 5. / math.sqrt(2.), -1. / math.sqrt(2.)]))
    mem.sum().backward()
    assert tokens.grad is not None and tokens.grad.abs().sum() > 0


def _rank_batch(rank: int, step: int, channels: int = 8, classes: int = 4):
    gen = torch.Generator().manual_seed(1000 * step + rank)
    tokens = torch.randn(3, channels, 4, 4, generator=gen)
    cam = torch.rand(3, classes, 8, 8, generator=gen)
    labels = (torch.rand(3, classes, generator=gen) > 0.4).float()
    return tokens, cam, labels


def _dist_worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=world)
    try:
        torch.manual_seed(0)
        bank = PrototypeMemoryBank(4, 8, bkg_thr=0.5, momentum=0.9, min_count=1)
        for step in range(2):  # first update sets the prototypes, the second is an EMA step
            bank.accumulate(*bank.extract(*_rank_batch(rank, step)))
            bank.update()
        torch.save({'bank': bank.bank, 'initialised': bank.initialised}, os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


@pytest.mark.integration
def test_bank_identical_on_two_gloo_processes_and_equal_to_single_process(tmp_path):
    mp.spawn(_dist_worker, args=(2, str(tmp_path / 'init'), str(tmp_path)), nprocs=2, join=True)
    r0 = load_checkpoint_file(str(tmp_path / 'rank0.pth'))
    r1 = load_checkpoint_file(str(tmp_path / 'rank1.pth'))
    assert torch.equal(r0['bank'], r1['bank']) and torch.equal(r0['initialised'], r1['initialised'])

    # the different data per rank really differ, so equality comes from the all-reduce
    local = [PrototypeMemoryBank(4, 8, min_count=1) for _ in range(2)]
    for rank, bank in enumerate(local):
        _update(bank, *bank.extract(*_rank_batch(rank, 0)))
    assert not torch.allclose(local[0].bank, local[1].bank)

    single = PrototypeMemoryBank(4, 8, bkg_thr=0.5, momentum=0.9, min_count=1)
    for step in range(2):
        batches = [_rank_batch(rank, step) for rank in range(2)]
        union = [torch.cat([b[i] for b in batches]) for i in range(3)]
        _update(single, *single.extract(*union))
    assert torch.equal(single.initialised, r0['initialised'])
    assert torch.allclose(single.bank, r0['bank'], atol=1e-6)


def test_adaptive_weight_stays_in_its_range():
    assert LOW == pytest.approx(math.exp(-1.0)) and HIGH == 1.0
    gen = torch.Generator().manual_seed(0)
    random = torch.rand(64, 10, generator=gen) * torch.randint(0, 60, (64, 1), generator=gen)
    w = bhattacharyya_weight(random, torch.rand(64, 10, generator=gen) * 56)
    assert ((w >= LOW) & (w <= HIGH)).all()

    one_hot = F.one_hot(torch.tensor([3]), 10).float() * 56  # the released raw-count case: all in one bin
    assert bhattacharyya_weight(one_hot, one_hot).item() == pytest.approx(math.exp(-1.0))  # not exp(-56)
    disjoint = F.one_hot(torch.tensor([0]), 10).float()
    assert bhattacharyya_weight(one_hot, disjoint).item() == pytest.approx(1.0)
    extreme = [torch.zeros(1, 10), torch.full((1, 10), 1e30), -torch.ones(1, 10), torch.full((1, 10), 1e-30)]
    for h1 in extreme + [one_hot]:
        for h2 in extreme + [one_hot]:
            w = bhattacharyya_weight(h1, h2)
            assert torch.isfinite(w).all() and LOW - 1e-7 <= w.item() <= HIGH + 1e-7

    mem = torch.rand(4, 5, 7, 7, generator=gen) * 2 - 1  # cosine values in [-1, 1]
    aux, main = torch.rand(4, 5, 14, 14, generator=gen), torch.rand(4, 5, 28, 28, generator=gen)
    w = adaptive_weight(mem, aux, main, reduction='none')
    assert w.shape == (4,) and ((w >= LOW) & (w <= HIGH)).all()
    assert LOW <= adaptive_weight(mem, aux, main).item() <= HIGH
    same = torch.rand(2, 5, 7, 7, generator=gen)
    assert torch.allclose(adaptive_weight(same, same, same, reduction='none'), torch.full((2,), math.exp(-1.0)))
    for extreme_cam in (torch.zeros(2, 5, 7, 7), torch.ones(2, 5, 7, 7), -torch.ones(2, 5, 7, 7)):
        w = adaptive_weight(extreme_cam, torch.rand(2, 5, 7, 7, generator=gen), extreme_cam.abs(),
                            reduction='none')
        assert torch.isfinite(w).all() and ((w >= LOW) & (w <= HIGH)).all()
