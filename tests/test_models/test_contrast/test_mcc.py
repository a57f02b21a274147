"""MCC block masks (structure and statistics) and the positive / negative flags of the masked views."""
import pytest
import torch

from mmwsss.models.contrast.mcc import generate_block_masks, masked_view_flags

P_ALL_MASKED = 0.95 ** 49  # 7x7 blocks, each masked with p = 0.95: ~0.081


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_shape_dtype_and_block_structure():
    keep = generate_block_masks(2, 8, (28, 28), generator=_gen())
    assert keep.shape == (2, 8, 28, 28) and keep.dtype == torch.bool
    blocks = keep.reshape(2, 8, 7, 4, 7, 4)
    assert (blocks == blocks[:, :, :, :1, :, :1]).all(), 'masks must be constant inside 4x4 blocks'
    # Non-multiple grids: the 4x4 block map is cropped (ceil(30/4) x ceil(26/4) = 8x7 blocks).
    keep = generate_block_masks(3, 5, (30, 26), generator=_gen(1), mask_prob=0.5)
    assert keep.shape == (3, 5, 30, 26)
    coarse = keep[..., ::4, ::4]
    assert coarse.shape[-2:] == (8, 7)
    up = coarse.repeat_interleave(4, -2).repeat_interleave(4, -1)[..., :30, :26]
    assert torch.equal(up, keep)


def test_generator_reproducible_and_views_independent():
    a = generate_block_masks(2, 8, (28, 28), generator=_gen(5))
    b = generate_block_masks(2, 8, (28, 28), generator=_gen(5))
    assert torch.equal(a, b)
    flat = a.flatten(0, 1).flatten(1)
    assert len({tuple(v.tolist()) for v in flat}) == 16, 'every image and view draws its own mask'


def test_reference_distribution_with_min_visible_blocks_0():
    keep = generate_block_masks(500, 8, (28, 28), min_visible_blocks=0, generator=_gen(2))
    masked_fraction = 1 - keep.float().mean().item()  # 196k blocks: std of the estimate ~5e-4
    assert abs(masked_fraction - 0.95) < 0.004
    all_masked = (~keep.flatten(2).any(-1)).float().mean().item()  # 4000 views: std ~4e-3
    assert abs(all_masked - P_ALL_MASKED) < 0.02


def test_redraw_removes_all_masked_views():
    keep = generate_block_masks(500, 8, (28, 28), generator=_gen(3))
    assert keep.flatten(2).any(-1).all()
    # Conditioning on >= 1 visible block: E[visible fraction] = 0.05 / (1 - 0.95**49) ~ 0.0544.
    assert abs(keep.float().mean().item() - 0.05 / (1 - P_ALL_MASKED)) < 0.004
    keep = generate_block_masks(50, 8, (28, 28), min_visible_blocks=3, generator=_gen(4))
    assert (keep[..., ::4, ::4].flatten(2).sum(-1) >= 3).all()


def test_invalid_arguments():
    with pytest.raises(ValueError, match='min_visible_blocks'):
        generate_block_masks(1, 1, (28, 28), mask_prob=1.0)
    with pytest.raises(ValueError, match='exceeds'):
        generate_block_masks(1, 1, (8, 8), min_visible_blocks=5)
    with pytest.raises(ValueError, match='mask_prob'):
        generate_block_masks(1, 1, (8, 8), mask_prob=1.5)
    assert not generate_block_masks(1, 2, (8, 8), mask_prob=1.0, min_visible_blocks=0).any()


def test_flags_on_hand_made_roi():
    # 6x10 grid. Row 0: confident fg (2); row 1: uncertain (1); rows 2-5: confident bg (0).
    roi = torch.zeros(1, 6, 10, dtype=torch.long)
    roi[0, 0] = 2
    roi[0, 1] = 1
    keep = torch.zeros(1, 7, 6, 10, dtype=torch.bool)
    keep[0, 0, 0, :2] = True                 # fg only                              -> positive
    keep[0, 1, 2:, :] = True                 # bg only: sum 0 <= 0                  -> negative
    keep[0, 2, 1, :1] = True                 # 1 uncertain + 4 bg: 1 <= 0.2 * 5     -> negative (tie)
    keep[0, 2, 2, :4] = True
    keep[0, 3, 1, :2] = True                 # 2 uncertain + 3 bg: 2 > 0.2 * 5      -> positive
    keep[0, 3, 2, :3] = True
    keep[0, 4, 1, :7] = True                 # 7 uncertain + 28 bg: 7 <= 0.2 * 35   -> negative (tie)
    keep[0, 4, 2:4, :] = True
    keep[0, 4, 4, :8] = True
    # view 5: nothing visible                                                        -> negative
    keep[0, 6] = True                        # everything: 30 > 0.2 * 60            -> positive
    assert keep[0, 4].sum() == 35
    expected = [[True, False, False, True, False, False, True]]
    assert masked_view_flags(keep, roi).tolist() == expected
    assert masked_view_flags(keep.flatten(2), roi.flatten(1)).tolist() == expected
    assert masked_view_flags(keep, roi, neg_ratio=1.0).tolist() == [[True, False, False, False, False, False,
                                                                     False]]
    # A tie that float64 rounds the wrong way: 0.7 * 90 evaluates to 62.99999999999999 < 63.
    roi = (torch.arange(100) < 63).long()[None]
    keep = (torch.arange(100) < 90)[None, None]
    assert masked_view_flags(keep, roi, neg_ratio=0.7).tolist() == [[False]]
    assert masked_view_flags(keep, roi, neg_ratio=0.69).tolist() == [[True]]
    with pytest.raises(ValueError, match='roi'):
        masked_view_flags(torch.ones(1, 1, 6, 10, dtype=torch.bool), torch.zeros(1, 5, 10))
