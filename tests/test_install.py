"""The installed stack is the real one: full mmcv with compiled ops, the pinned OpenMMLab versions."""
import torch

from mmwsss.utils.check_env import collect_env


def test_collect_env_reports_every_dependency():
    env = collect_env()
    for name in ['torch', 'torchvision', 'mmengine', 'mmcv', 'mmsegmentation', 'mmpretrain', 'pydensecrf2',
                 'pycocotools', 'mmwsss']:
        assert name in env, name
    assert env['mmcv'].startswith('2.1.')
    assert env['mmsegmentation'] == '1.2.2'
    assert env['mmpretrain'].startswith('1.2.')
    assert env['mmengine'].startswith('0.10.')
    assert env['mmcv ops'] == 'compiled'


def test_mmcv_compiled_op_runs():
    """A compiled mmcv op computes the right answer (mmcv-lite or a stand-in module would fail here)."""
    from mmcv.ops import nms
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]


def test_torchvision_matches_torch():
    """mmpretrain imports torchvision; a mismatched pair fails on its compiled ops."""
    import torchvision
    from torchvision.ops import nms
    assert nms(torch.rand(4, 4).cumsum(1), torch.rand(4), 0.5).numel() >= 1
    assert torchvision.__version__
