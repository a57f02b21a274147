"""PTC pair labels (mmwsss/models/contrast/ptc.py)."""
import torch

from mmwsss.models.contrast.ptc import ptc_pair_labels


def test_ptc_pair_labels_by_hand():
    tokens = torch.tensor([[1, 1, 0, 255], [2, 0, 2, 2]])
    pairs = ptc_pair_labels(tokens)
    assert pairs[0].tolist() == [[255, 1, 0, 255], [1, 255, 0, 255], [0, 0, 255, 255], [255] * 4]
    assert pairs[1].tolist() == [[255, 0, 1, 1], [0, 255, 0, 0], [1, 0, 255, 1], [1, 0, 1, 255]]
    # (B, h, w) labels are flattened row-major
    assert torch.equal(ptc_pair_labels(tokens.view(2, 2, 2)), pairs)
