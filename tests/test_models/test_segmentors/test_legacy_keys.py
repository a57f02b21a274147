"""Checkpoints of the layout before the structural step load into today's WeakSegmentor (mmwsss/models/segmentors/
legacy_keys.py): ``classifier``/``aux_classifier`` -> ``cam_head.*``, ``projector*`` -> the class-token module,
``memory_bank.*`` -> MP2M's bank. The fixture is a real checkpoint written by the old code
(tests/data/golden/msfc_small.pth, see tools/misc/golden_values.py)."""
import os.path as osp

import torch
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from mmseg.registry import MODELS

import mmwsss  # noqa: F401
from conftest import REPO_ROOT
from mmwsss.compat import load_checkpoint_file
from mmwsss.engine.hooks.checkpoint_match_hook import check_checkpoint_matches
from mmwsss.models.segmentors.legacy_keys import upgrade_state_dict
from mmwsss.utils.launch import load_config

OLD = osp.join(REPO_ROOT, 'tests', 'data', 'golden', 'msfc_small.pth')
CONFIG = osp.join(REPO_ROOT, 'configs', 'msfc', 'msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py')
SMALL = {'model.backbone.arch.embed_dims': 64, 'model.backbone.arch.num_layers': 3, 'model.backbone.arch.num_heads': 2,
         'model.backbone.arch.feedforward_channels': 128, 'model.backbone.aux_layer': 1,
         'model.decode_head.in_channels': 64, 'model.decode_head.channels': 32,
         'model.aux_losses.ctc.projector.in_dims': 64, 'model.aux_losses.ctc.projector.hidden_dims': 64,
         'model.aux_losses.ctc.projector.bottleneck_dims': 32, 'model.aux_losses.ctc.projector.out_dims': 64}


def _model():
    init_default_scope('mmseg')
    return MODELS.build(load_config(CONFIG, cfg_options=SMALL).model)


def test_old_checkpoint_has_the_old_layout_and_loads_strictly():
    old = load_checkpoint_file(OLD, map_location='cpu')
    keys = set(old['state_dict'])
    assert {'classifier.weight', 'aux_classifier.weight', 'memory_bank.bank'} <= keys
    assert any(k.startswith('projector_teacher.') for k in keys) and not any(k.startswith('cam_head.') for k in keys)
    model = _model()
    check_checkpoint_matches(model, old, OLD, exact=True)  # what CheckpointMatchHook runs before --resume
    _load_checkpoint_to_model(model, old, strict=True)
    state = model.state_dict()
    assert torch.equal(state['cam_head.classifier.weight'], old['state_dict']['classifier.weight'])
    assert torch.equal(state['aux_losses.ctc.projector_teacher.last_weight'],
                       old['state_dict']['projector_teacher.last_weight'])
    assert torch.equal(state['aux_losses.mp2m.bank.bank'], old['state_dict']['memory_bank.bank'])
    assert state['aux_losses.mp2m.bank.initialised'].any()


def test_upgrade_renames_only_old_keys():
    model = _model()
    current = dict(model.state_dict())
    assert upgrade_state_dict(dict(current), model) == []  # a current checkpoint passes unchanged
    old = dict(load_checkpoint_file(OLD, map_location='cpu')['state_dict'])
    renamed = upgrade_state_dict(old, model)
    assert 'classifier.weight' in renamed and 'memory_bank.initialised' in renamed
    assert set(old) == set(current)


def test_old_config_keys_name_their_new_place():
    import pytest
    init_default_scope('mmseg')
    cfg = load_config(CONFIG)
    cfg.model.high_thr = 0.65
    with pytest.raises(TypeError, match=r"WeakSegmentor: 'high_thr' is now thr=\(low, high\)"):
        MODELS.build(cfg.model)
    with pytest.raises(TypeError, match=r"LocalCropContrast: 'cam_source' is now .*'temperature' is now "
                                        r"loss=dict\(temperature=...\)"):
        MODELS.build(dict(type='LocalCropContrast', cam_source='aux', temperature=1.0))
    with pytest.raises(TypeError, match="PatchTokenContrast: 'bogus' is not an argument"):
        MODELS.build(dict(type='PatchTokenContrast', bogus=1))
