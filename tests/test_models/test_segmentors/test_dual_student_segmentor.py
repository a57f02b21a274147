"""DualStudentSegmentor (DuPL) end to end on WeakShapes batches: losses per phase, which student each gradient
reaches, initialisation parity, the loss schedule of the VOC and COCO configs, prediction, NaN guard."""
import os.path as osp

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mmseg.registry import MODELS

import mmwsss  # noqa: F401
from conftest import REPO_ROOT
from mmwsss.utils.launch import load_config

WEAKSHAPES = osp.join(REPO_ROOT, 'configs/dupl/dupl_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')
# DeiT-tiny keeps the DeiT-B configs' schedules but builds in a moment
TINY_BACKBONE = {'model.backbone.arch': 'deit-tiny', 'model.backbone.init_cfg': None,
                 'model.decode_head.in_channels': 192, 'model.decode_head.channels': 16}


def _setup(root, **model_overrides):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = load_config(WEAKSHAPES, cfg_options={
        'train_dataloader.dataset.data_root': root, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'train_dataloader.batch_size': 2})
    cfg.model.update(model_overrides)
    model = MODELS.build(cfg.model)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = model.data_preprocessor(next(iter(loader)), training=True)
    return model, batch['inputs'], batch['data_samples']


def _at_iter(n):
    MessageHub.get_current_instance().update_info('iter', n)


def _params(module):
    return {n: p for n, p in module.named_parameters()}


def test_losses_per_phase_and_gradients(tiny_weakshapes):
    model, x, ds = _setup(tiny_weakshapes, noise_filter=dict(type='GMMNoiseFilter', start_iter=450, min_pixels=10))
    per_student = {'loss_cls', 'loss_cls_aux', 'loss_ptc'}
    _at_iter(0)
    losses = model.loss(x, ds)
    assert set(losses) == {f'student{k}.{n}' for k in (0, 1) for n in per_student} | {'loss_dis'}
    _at_iter(300)  # segmentation: cross supervision
    assert {'student0.decode.loss_seg', 'student1.decode.loss_seg'} <= set(losses := model.loss(x, ds))
    assert 'gmm_removed' not in losses and 'student0.loss_reg' not in losses
    _at_iter(450)  # + GMM filter
    losses = model.loss(x, ds)
    assert {'gmm_fitted', 'gmm_applied', 'gmm_removed', 'gmm_mean_gap'} <= set(losses)
    assert 'student0.loss_reg' not in losses
    _at_iter(451)  # + consistency on the strong view
    losses = model.loss(x, ds)
    assert {'student0.loss_reg', 'student1.loss_reg'} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    for k in (0, 1):
        params = _params(model.students[k])
        for name in ('backbone.layers.0.attn.qkv.weight', 'cam_head.classifier.weight', 'decode_head.conv_seg.weight'):
            assert params[name].grad is not None and params[name].grad.abs().sum() > 0, (k, name)


def test_each_students_own_terms_reach_only_that_student(tiny_weakshapes):
    """PTC and classification of student 0 train student 0 only; the discrepancy trains both."""
    model, x, ds = _setup(tiny_weakshapes)
    _at_iter(0)
    losses = model.loss(x, ds)
    (losses['student0.loss_ptc'] + losses['student0.loss_cls']).backward(retain_graph=True)
    assert _params(model.students[0])['backbone.layers.0.attn.qkv.weight'].grad.abs().sum() > 0
    assert all(p.grad is None for p in model.students[1].parameters())
    model.zero_grad(set_to_none=True)
    losses['loss_dis'].backward()
    for k in (0, 1):
        assert _params(model.students[k])['backbone.layers.0.attn.qkv.weight'].grad.abs().sum() > 0


def test_students_share_pretrained_weights_but_not_heads(tmp_path):
    """Both students load the same checkpoint (bit-identical encoders at step 0); their heads are drawn one after
    the other and differ; no parameter is shared."""
    init_default_scope('mmseg')
    cfg = load_config(WEAKSHAPES)
    backbone = MODELS.build(cfg.model.backbone)
    path = str(tmp_path / 'backbone.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in backbone.state_dict().items()}}, path)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    model = MODELS.build(cfg.model)
    model.init_weights()
    s0, s1 = model.students
    for (name, a), b in zip(s0.backbone.state_dict().items(), s1.backbone.state_dict().values()):
        assert torch.equal(a, b), name
    assert torch.equal(s0.backbone.state_dict()['layers.0.attn.qkv.weight'],
                       backbone.state_dict()['layers.0.attn.qkv.weight'])
    assert not torch.equal(s0.decode_head.conv_seg.weight, s1.decode_head.conv_seg.weight)
    assert not torch.equal(s0.cam_head.classifier.weight, s1.cam_head.classifier.weight)
    assert s0.backbone.layers[0].attn.qkv.weight.data_ptr() != s1.backbone.layers[0].attn.qkv.weight.data_ptr()


@pytest.mark.parametrize('config,expected', [
    # VOC: (step, seg, ptc, dis, gmm, consistency, label CAM)
    ('configs/dupl/dupl_deit-b16_2xb2-20k_voc12aug-448x448.py', [
        (1999, False, True, True, False, False, 'final'), (2000, False, True, True, False, False, 'final'),
        (2001, True, True, True, False, False, 'final'), (7999, True, True, True, False, False, 'final'),
        (8000, True, True, True, True, False, 'final'), (8001, True, True, True, True, True, 'final')]),
    ('configs/dupl/dupl_deit-b16_8xb1-80k_coco2014-448x448.py', [
        (7999, False, False, False, False, False, 'aux'), (8000, False, False, False, False, False, 'aux'),
        (8001, True, False, True, False, False, 'aux'), (12000, True, False, True, False, False, 'aux'),
        (12001, True, True, True, False, False, 'final'), (31999, True, True, True, False, False, 'final'),
        (32000, True, True, True, True, True, 'final')]),
])
def test_loss_schedule_of_the_released_recipes(config, expected):
    init_default_scope('mmseg')
    cfg = load_config(osp.join(REPO_ROOT, config), cfg_options=TINY_BACKBONE)
    model = MODELS.build(cfg.model)
    for step, seg, ptc, dis, gmm, reg, cam in expected:
        terms = model.active_terms(step)
        got = (terms['seg'], terms['aux']['ptc'], terms['discrepancy'], terms['noise_filter'], terms['consistency'],
               terms['label_cam'])
        assert got == (seg, ptc, dis, gmm, reg, cam), (step, got)
    assert set(model.students[0].aux_losses) == {'ptc'}  # no CTC, no projector
    assert model.students[0].energy_loss is None
    assert model.students[0].decode_head.loss_decode.loss_weight == 0.2


def test_predict_with_one_student_or_their_mean(tiny_weakshapes):
    import copy
    model, x, ds = _setup(tiny_weakshapes)
    model.eval()
    metas = [s.metainfo for s in ds]
    with torch.no_grad():
        logits = [s.inference(x, metas) for s in model.students]
        assert not torch.allclose(logits[0], logits[1])
        model.test_cfg['student'] = 1
        out1 = model.predict(x, copy.deepcopy(ds))
        want1 = model.students[1].predict(x, copy.deepcopy(ds))
        assert torch.equal(out1[0].seg_logits.data, want1[0].seg_logits.data)
        model.test_cfg['student'] = 'mean'
        mean = model.predict(x, copy.deepcopy(ds))
        want = model.postprocess_result((logits[0] + logits[1]) / 2, copy.deepcopy(ds))
        assert torch.allclose(mean[0].seg_logits.data, want[0].seg_logits.data, atol=1e-6)
        assert torch.allclose(model.encode_decode(x, metas), (model.students[0].encode_decode(x, metas)
                                                              + model.students[1].encode_decode(x, metas)) / 2)
        model.test_cfg['output'] = 'cam'
        with pytest.raises(ValueError, match="needs test_cfg.output='seg'"):
            model.predict(x, ds)
        model.test_cfg.update(student=0)  # the students read the same test_cfg: CAM output of student 0
        cams = model.predict(x, copy.deepcopy(ds))
        assert cams[0].pred_sem_seg.data.shape == want1[0].pred_sem_seg.data.shape
        model.test_cfg.update(student=2, output='seg')
        with pytest.raises(ValueError, match='student index in \\[0, 1\\]'):
            model.predict(x, ds)


def test_nan_loss_stops_naming_the_batch(tiny_weakshapes):
    model, x, ds = _setup(tiny_weakshapes)
    _at_iter(0)
    losses = model.loss(x, ds)
    losses['loss_dis'] = losses['loss_dis'] * float('nan')
    with pytest.raises(FloatingPointError, match='loss_dis'):
        model.parse_losses(losses)


def test_configuration_errors():
    init_default_scope('mmseg')
    cfg = load_config(WEAKSHAPES)
    with pytest.raises(ValueError, match='at least 2 students'):
        MODELS.build({**cfg.model, 'num_students': 1})
    with pytest.raises(ValueError, match='energy_loss=None'):
        MODELS.build({**cfg.model, 'energy_loss': dict(type='DenseEnergyLoss')})


def test_consistency_without_the_strong_view_names_the_transform(tiny_weakshapes):
    model, x, ds = _setup(tiny_weakshapes)
    for sample in ds:
        del sample.img_strong
    _at_iter(451)
    with pytest.raises(KeyError, match='add AddStrongView to train_pipeline'):
        model.loss(x, ds)


def test_pseudo_label_output_of_a_student(tiny_weakshapes):
    """predict(output='pseudo') runs PAR on the de-normalised image: the student needs the preprocessor's mean/std
    (found by the WeakShapes comparison), which are not in the state dict."""
    model, x, ds = _setup(tiny_weakshapes)
    model.eval()
    assert not any('data_preprocessor' in k for k in model.state_dict())
    model.test_cfg.update(output='pseudo', student=1)
    with torch.no_grad():
        out = model.predict(x, ds)
    assert out[0].pred_sem_seg.data.shape[-2:] == tuple(ds[0].ori_shape)  # at the original image size
    assert set(out[0].pred_sem_seg.data.unique().tolist()) <= set(range(6)) | {255}
