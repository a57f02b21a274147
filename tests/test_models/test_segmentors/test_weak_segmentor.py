"""The WSSS segmentor end to end on WeakShapes batches: losses, gradients, EMA teacher, any decode head, predict."""
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

CONFIGS = {
    'mcc': osp.join(REPO_ROOT, 'configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'),
    'toco': osp.join(REPO_ROOT, 'configs/toco/toco_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'),
}


def _setup(method, root, **model_overrides):
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = load_config(CONFIGS[method], cfg_options={
        'train_dataloader.dataset.data_root': root, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False, 'train_dataloader.batch_size': 2})
    cfg.model.update(model_overrides)
    model = MODELS.build(cfg.model)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batch = model.data_preprocessor(next(iter(loader)), training=True)
    return model, batch['inputs'], batch['data_samples']


def _at_iter(n):
    MessageHub.get_current_instance().update_info('iter', n)


@pytest.mark.parametrize('method,contrast_key', [('mcc', 'loss_mcc'), ('toco', 'loss_ctc')])
def test_training_step_losses_and_gradients(tiny_weakshapes, method, contrast_key):
    model, x, ds = _setup(method, tiny_weakshapes)
    _at_iter(0)  # before seg_start_iter: no decode-head loss yet
    losses = model.loss(x, ds)
    assert set(losses) == {'loss_cls', 'loss_cls_aux', 'loss_ptc', contrast_key}
    _at_iter(model.seg_start_iter)
    losses = model.loss(x, ds)
    assert {'decode.loss_seg', 'decode.acc_seg', contrast_key} <= set(losses)
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    term = contrast_key[len('loss_'):]
    for name in ('backbone.layers.0.attn.qkv.weight', 'cam_head.classifier.weight', 'cam_head.aux_classifier.weight',
                 'decode_head.conv_seg.weight', f'aux_losses.{term}.projector.last_weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert all(p.grad is None for p in model.aux_losses[term].projector_teacher.parameters())
    # pseudo labels were written where any MMSeg head reads them
    assert ds[0].gt_sem_seg.data.shape[-2:] == x.shape[-2:]


def test_ema_teacher_follows_student(tiny_weakshapes):
    model, x, ds = _setup('mcc', tiny_weakshapes)
    _at_iter(0)
    mcc = model.aux_losses['mcc']
    with torch.no_grad():
        for p in mcc.projector.parameters():
            p.add_(1.0)
    before = [p.clone() for p in mcc.projector_teacher.parameters()]
    model.loss(x, ds)
    for b, t, s in zip(before, mcc.projector_teacher.parameters(), mcc.projector.parameters()):
        torch.testing.assert_close(t, 0.9 * b + 0.1 * s)
    assert any(k.startswith('aux_losses.mcc.projector_teacher.') for k in model.state_dict())  # in checkpoints


def test_ema_teacher_updates_once_per_optimizer_step(tiny_weakshapes):
    """With 2 accumulated forwards per step the teacher moves at the first forward of each step only."""
    model, x, ds = _setup('mcc', tiny_weakshapes)
    teacher = model.aux_losses['mcc'].projector_teacher
    MessageHub.get_current_instance().update_info('accumulative_counts', 2)
    try:
        moved = []
        for it in range(4):
            before = [p.clone() for p in teacher.parameters()]
            with torch.no_grad():
                for p in model.aux_losses['mcc'].projector.parameters():
                    p.add_(0.5)
            _at_iter(it)
            model.loss(x, ds)
            moved.append(any(not torch.equal(b, t) for b, t in zip(before, teacher.parameters())))
    finally:
        MessageHub.get_current_instance().update_info('accumulative_counts', 1)
    assert moved == [True, False, True, False]


def test_any_mmseg_decode_head_trains_on_pseudo_labels(tiny_weakshapes):
    head = dict(type='FCNHead', in_channels=192, in_index=1, channels=32, num_convs=1, concat_input=False,
                num_classes=6, align_corners=False, loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.1))
    model, x, ds = _setup('mcc', tiny_weakshapes, decode_head=head)
    _at_iter(model.seg_start_iter)
    losses = model.loss(x, ds)
    assert 'decode.loss_ce' in losses and torch.isfinite(losses['decode.loss_ce'])
    losses['decode.loss_ce'].backward()
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0


def test_label_length_mismatch_is_reported(tiny_weakshapes):
    model, x, ds = _setup('mcc', tiny_weakshapes)
    for s in ds:
        s.gt_img_labels = torch.zeros(20)
    _at_iter(0)
    with pytest.raises(ValueError, match='20 classes but the model expects 5'):
        model.loss(x, ds)


@pytest.mark.parametrize('output', ['seg', 'cam', 'pseudo'])
def test_predict_outputs(tiny_weakshapes, output):
    init_default_scope('mmseg')
    cfg = load_config(CONFIGS['mcc'], cfg_options={'val_dataloader.dataset.data_root': tiny_weakshapes,
                                                   'val_dataloader.num_workers': 0,
                                                   'val_dataloader.persistent_workers': False})
    cfg.model.test_cfg.output = output
    model = MODELS.build(cfg.model).eval()
    loader = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    batch = model.data_preprocessor(next(iter(loader)), training=False)
    with torch.no_grad():
        results = model.predict(batch['inputs'], batch['data_samples'])
    pred = results[0].pred_sem_seg.data
    assert pred.shape[-2:] == (128, 128)
    allowed = set(range(6)) | ({255} if output == 'pseudo' else set())
    assert set(pred.unique().tolist()) <= allowed
    if output == 'cam':  # only background and the image's own classes can be predicted
        labels = batch['data_samples'][0].gt_img_labels
        present = {0} | {i + 1 for i in torch.nonzero(labels).flatten().tolist()}
        assert set(pred.unique().tolist()) <= present


def test_msfc_step_smcm_and_memory_loss(tiny_weakshapes):
    """MSFC config: SMCM trains the backbone from the first step; the memory loss starts at its start iteration, is
    0 while the bank is empty, then trains the backbone; every step feeds the bank's accumulators."""
    init_default_scope('mmseg')
    torch.manual_seed(0)
    cfg = load_config(osp.join(REPO_ROOT, 'configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'),
                      cfg_options={'train_dataloader.dataset.data_root': tiny_weakshapes,
                                   'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
                                   'train_dataloader.batch_size': 4})
    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0))), True)
    x, ds = batch['inputs'], batch['data_samples']
    mp2m = model.aux_losses['mp2m']
    mem_start = mp2m.start_iter
    assert mem_start == mp2m.update_interval == cfg.model.aux_losses.mp2m.update_interval
    _at_iter(0)
    losses = model.loss(x, ds)
    assert {'loss_ptc', 'loss_ctc', 'loss_smcm'} <= set(losses) and 'loss_mem' not in losses
    assert float(losses['loss_smcm']) > 0
    model.zero_grad()
    losses['loss_smcm'].backward()  # the released SMCM has no gradient at all (docs/methods/msfc.md)
    for layer in model.backbone.layers:
        assert layer.attn.qkv.weight.grad.abs().sum() > 0
    assert mp2m.bank.acc_counts.sum() > 0  # the step fed the bank (observe), before the loss starts
    mp2m.bank.reset_accumulators()
    _at_iter(mem_start)
    losses = model.loss(x, ds)
    assert float(losses['loss_mem']) == 0.0  # bank still empty
    # fill the bank as MemoryBankHook would, then the memory loss is live and reaches the backbone
    mp2m.bank.initialised.fill_(True)
    mp2m.bank.bank.copy_(torch.nn.functional.normalize(torch.randn_like(mp2m.bank.bank), dim=1))
    model.zero_grad()
    losses = model.loss(x, ds)
    assert torch.isfinite(losses['loss_mem']) and float(losses['loss_mem']) > 0
    losses['loss_mem'].backward()
    assert model.backbone.layers[0].attn.qkv.weight.grad.abs().sum() > 0


def test_energy_loss_joins_the_segmentation_loss(tiny_weakshapes):
    """model.energy_loss: the dense-CRF energy of the decode head's softmax, with the segmentation loss only."""
    model, x, ds = _setup('toco', tiny_weakshapes,
                          energy_loss=dict(type='DenseEnergyLoss', loss_weight=0.05, weight=1e-7,
                                           sigma_xy=100 * 96 / 448))
    _at_iter(model.seg_start_iter - 1)
    assert 'loss_energy' not in model.loss(x, ds)
    _at_iter(model.seg_start_iter)
    losses = model.loss(x, ds)
    energy = losses['loss_energy']
    assert torch.isfinite(energy) and float(energy) < 0
    model.zero_grad()
    energy.backward()
    head_grad = sum(float(p.grad.abs().sum()) for p in model.decode_head.parameters() if p.grad is not None)
    assert head_grad > 0


def test_thresholds_count_optimizer_steps(tiny_weakshapes):
    """With 2 forwards per optimizer step, seg_start_iter and start_iter are reached after twice the iterations."""
    model, x, ds = _setup('toco', tiny_weakshapes, seg_start_iter=3)
    model.aux_losses['ctc'].start_iter = 2
    hub = MessageHub.get_current_instance()
    hub.update_info('accumulative_counts', 2)
    try:
        keys = {}
        for it in (3, 4, 5, 6):
            _at_iter(it)
            keys[it] = set(model.loss(x, ds))
    finally:
        hub.update_info('accumulative_counts', 1)
    assert 'loss_ctc' not in keys[3] and 'loss_ctc' in keys[4]  # step 1 -> step 2
    assert 'decode.loss_seg' not in keys[5] and 'decode.loss_seg' in keys[6]  # step 2 -> step 3


def test_aux_losses_is_a_dict_and_none_drops_a_term(tiny_weakshapes):
    init_default_scope('mmseg')
    cfg = load_config(CONFIGS['toco'])
    cfg.model.aux_losses['ctc'] = None
    model = MODELS.build(cfg.model)
    assert list(model.aux_losses) == ['ptc']
    cfg.model.aux_losses = [dict(type='PatchTokenContrast')]
    with pytest.raises(TypeError, match='aux_losses is a dict keyed by term'):
        MODELS.build(cfg.model)
