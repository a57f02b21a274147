"""Contract over every config shipped in configs/: it parses, names itself MMSeg-style, and builds its model."""
import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseg.registry import MODELS

import mmwsss  # noqa: F401

CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
                 if '_base_' not in p)
# {method}_{backbone}_{gpus}xb{batch}-{schedule}_{dataset}-{crop}.py, or a short alias at the top level.
FULL_NAME = re.compile(r'^[a-z0-9.+-]+_[a-z0-9.+-]+_\d+xb\d+(-acc\d+)?-[a-z0-9.]+_[a-z0-9+-]+-\d+x\d+\.py$')


def test_configs_exist():
    assert CONFIGS, 'no configs found'


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_config_contract(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)
    if osp.dirname(path) != CONFIG_ROOT:
        assert FULL_NAME.match(name), f'{name} does not follow MMSeg naming'
    assert cfg.default_scope == 'mmseg'
    assert 'mmwsss' in cfg.custom_imports['imports']
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


# MMEngine counts these in forward passes, so an `-accN` config multiplies each by N; the model's own thresholds
# (seg_start_iter, start_iter, final_after, update_interval, ema_interval) count optimizer steps and stay as they are.
MMENGINE_ITER_KEYS = {'max_iters', 'val_interval', 'interval', 'begin', 'end'}
ACC_CONFIGS = [p for p in CONFIGS if re.search(r'-acc\d+-', osp.basename(p))]
# what an `-accN` file may assign: MMEngine's own keys only (plus its helper variable and its base)
ACC_FILE_KEYS = {'_base_', 'acc', 'optim_wrapper', 'train_cfg', 'param_scheduler', 'default_hooks', 'train_dataloader'}


def _flatten(obj, prefix=''):
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            out.update(_flatten(v, f'{prefix}{k}.'))
        return out
    if isinstance(obj, (list, tuple)):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f'{prefix}{i}.'))
        return out
    return {prefix[:-1]: obj}


def test_accumulation_configs_exist():
    assert len(ACC_CONFIGS) >= 6  # toco, mcc, msfc x (VOC, COCO)


@pytest.mark.parametrize('path', ACC_CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_accumulation_config_keeps_the_recipe(path):
    """An `-accN` config = its multi-GPU parent with N accumulated steps and the same number of optimizer steps:
    MMEngine's iteration counts x N, the model (which counts optimizer steps) unchanged, nothing else changed."""
    acc = int(re.search(r'-acc(\d+)-', osp.basename(path)).group(1))
    with open(path) as f:
        text = f.read()
    assigned = set(re.findall(r'^([A-Za-z_]\w*) =', text, flags=re.M))
    assert assigned <= ACC_FILE_KEYS, f'an -accN config changes only MMEngine keys, not {assigned - ACC_FILE_KEYS}'
    parent_name = re.search(r"_base_ = \['\./([^']+)'\]", text).group(1)
    child = _flatten(Config.fromfile(path).to_dict())
    parent = _flatten(Config.fromfile(osp.join(osp.dirname(path), parent_name)).to_dict())
    gpus, batch = re.search(r'_(\d+)xb(\d+)-', parent_name).groups()
    cgpus, cbatch = re.search(r'_(\d+)xb(\d+)-', osp.basename(path)).groups()
    assert int(gpus) * int(batch) == int(cgpus) * int(cbatch) * acc, 'global batch differs from the parent'
    assert child.pop('optim_wrapper.accumulative_counts') == acc
    child_batch = child.pop('train_dataloader.batch_size')
    assert child_batch * acc * int(cgpus) == parent.pop('train_dataloader.batch_size') * int(gpus)
    child.pop('acc')
    assert sorted(child) == sorted(parent), set(child) ^ set(parent)
    scaled = 0
    for key, value in parent.items():
        if not key.startswith('model.') and key.rsplit('.', 1)[-1] in MMENGINE_ITER_KEYS and isinstance(value, int) \
                and not isinstance(value, bool):
            assert child[key] == value * acc, f'{key}: {child[key]} != {value} x {acc}'
            scaled += value > 0
        else:
            assert child[key] == value, f'{key}: {child[key]!r} != {value!r}'
    assert scaled >= 5  # max_iters, val/checkpoint/logger intervals, scheduler end, ...


@pytest.mark.parametrize('variant,dropped', [('msfc-no-smcm', 'smcm'), ('msfc-no-mp2m', 'mp2m')])
def test_ablation_drops_one_term(variant, dropped):
    """An ablation config is one entry: the term is gone, every other term is the full method's."""
    path = glob.glob(osp.join(CONFIG_ROOT, 'msfc', f'{variant}_*.py'))[0]
    full = Config.fromfile(glob.glob(osp.join(CONFIG_ROOT, 'msfc', 'msfc_vit-tiny*.py'))[0]).model.aux_losses
    ablated = Config.fromfile(path).model.aux_losses
    assert ablated[dropped] is None
    assert {k: v for k, v in ablated.items() if k != dropped} == {k: v for k, v in full.items() if k != dropped}
    init_default_scope('mmseg')
    model = MODELS.build(Config.fromfile(path).model)
    assert dropped not in model.aux_losses and set(model.aux_losses) == set(full) - {dropped}


@pytest.mark.parametrize('variant,term,key,value', [('msfc-memcam', 'mp2m', 'memory_cam_norm', 'cam'),
                                                    ('msfc-minmax', 'smcm', 'view_norm', 'min_max')])
def test_option_config_changes_one_entry(variant, term, key, value):
    """An option config is one entry: that argument of one term; the built module carries it, the rest is MSFC's."""
    path = glob.glob(osp.join(CONFIG_ROOT, 'msfc', f'{variant}_*.py'))[0]
    full = Config.fromfile(glob.glob(osp.join(CONFIG_ROOT, 'msfc', 'msfc_vit-tiny*.py'))[0]).model.aux_losses
    option = Config.fromfile(path).model.aux_losses
    assert key not in full[term] and option[term][key] == value
    assert {**option[term], key: None} == {**full[term], key: None}
    assert {k: v for k, v in option.items() if k != term} == {k: v for k, v in full.items() if k != term}
    init_default_scope('mmseg')
    assert getattr(MODELS.build(Config.fromfile(path).model).aux_losses[term], key) == value


@pytest.mark.parametrize('path', [p for p in CONFIGS if osp.basename(p).startswith('msfc')],
                         ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_msfc_configs_have_tfcm(path):
    from mmwsss.models.contrast import has_tfcm
    assert has_tfcm(Config.fromfile(path).model.aux_losses)


def test_every_method_has_an_alias():
    """Aliases for every method or none: configs/<method>_{voc,coco}.py."""
    methods = sorted({osp.basename(osp.dirname(p)) for p in CONFIGS if re.search(r'_deit-b16_', p)} - {'mixing'})
    aliases = sorted(osp.basename(p) for p in glob.glob(osp.join(CONFIG_ROOT, '*.py')))
    assert aliases == sorted(f'{m}_{d}.py' for m in methods for d in ('coco', 'voc'))


def test_mixing_readme_loss_snippet_works_in_a_stock_mmseg_config():
    """configs/mixing/README.md: BalancedSegCELoss in a stock config needs _delete_=True (use_sigmoid etc.)."""
    from mmwsss.models.losses import BalancedSegCELoss
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, 'smoke', 'fcn_r18-tiny_1xb4-40_weakshapes-96x96.py'))
    assert 'use_sigmoid' in cfg.model.decode_head.loss_decode
    cfg.merge_from_dict({'model.decode_head.loss_decode': dict(_delete_=True, type='BalancedSegCELoss',
                                                               loss_weight=0.1)})
    init_default_scope('mmseg')
    head = MODELS.build(cfg.model).decode_head
    assert isinstance(head.loss_decode, BalancedSegCELoss) and head.loss_decode.loss_weight == 0.1


def test_model_index_lists_every_metafile_and_their_configs_exist():
    """The root model-index.yml (MMSeg/OpenMIM convention) imports every method's metafile; each model's Config
    exists and its name is the config's file name."""
    import yaml
    root = osp.dirname(CONFIG_ROOT)
    with open(osp.join(root, 'model-index.yml')) as f:
        imported = sorted(yaml.safe_load(f)['Import'])
    metafiles = sorted(osp.relpath(p, root) for p in glob.glob(osp.join(CONFIG_ROOT, '*', 'metafile.y*ml')))
    assert imported == metafiles
    for metafile in metafiles:
        with open(osp.join(root, metafile)) as f:
            models = yaml.safe_load(f).get('Models') or []
        assert models, f'{metafile} lists no model'
        for model in models:
            assert osp.isfile(osp.join(root, model['Config'])), f'{metafile}: {model["Config"]} does not exist'
            assert osp.splitext(osp.basename(model['Config']))[0] == model['Name']
