"""WSSSTTAModel: the papers' merge (image + flip summed per scale, max over scales) and MMSeg's mean."""
import pytest
import torch
from mmengine.structures import PixelData

import mmwsss  # noqa: F401
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample


def _views(seed=0):
    """One image's 6 views (3 scales x flip) with random logits, listed flips first to check the grouping."""
    gen = torch.Generator().manual_seed(seed)
    views = []
    for flip in (False, True):
        for scale in (1.0, 1.25, 1.5):
            s = SegDataSample(metainfo=dict(scale_factor=(scale, scale), flip=flip, img_path='x.jpg'))
            s.seg_logits = PixelData(data=torch.randn(3, 5, 7, generator=gen))
            s.gt_sem_seg = PixelData(data=torch.zeros(1, 5, 7, dtype=torch.long))
            views.append(s)
    return views


class _Placeholder(torch.nn.Module):
    def test_step(self, data):  # BaseTTAModel only checks that the wrapped model can test
        raise NotImplementedError


def _build(merge):
    # merge_preds does not touch the wrapped module, so a placeholder module keeps the test light
    return MODELS.build(dict(type='WSSSTTAModel', merge=merge, module=_Placeholder()))


def test_max_merge_sums_flips_per_scale_then_takes_max():
    views = _views()
    logit = [v.seg_logits.data for v in views]
    expected = torch.stack([logit[i] + logit[i + 3] for i in range(3)]).amax(0)
    out = _build('max').merge_preds([views])[0]
    assert torch.equal(out.seg_logits.data, expected)
    assert torch.equal(out.pred_sem_seg.data[0], expected.argmax(0))
    assert 'gt_sem_seg' in out and out.img_path == 'x.jpg'


def test_mean_merge_is_mmseg_softmax_average():
    views = _views(1)
    mean_prob = torch.stack([v.seg_logits.data.softmax(0) for v in views]).mean(0)
    out = _build('mean').merge_preds([views])[0]
    assert torch.allclose(out.seg_logits.data.softmax(0), mean_prob, atol=1e-6)
    assert torch.equal(out.pred_sem_seg.data[0], mean_prob.argmax(0))


def test_rules_differ_and_bad_merge_raises():
    views = _views(2)
    a = _build('max').merge_preds([views])[0].seg_logits.data.softmax(0)
    b = _build('mean').merge_preds([views])[0].seg_logits.data.softmax(0)
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match='merge must be one of'):
        _build('median')
