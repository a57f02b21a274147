"""One contract for every registered auxiliary module (timm / segmentation_models.pytorch style).

Each module registered in MMSeg's ``MODELS`` that implements :class:`~mmwsss.models.contrast.AuxModule` is built
from its defaults, bound to a segmentor's defaults, and run on one synthetic training step: ``observe`` returns
nothing; ``forward`` returns exactly the documented ``loss_names``, each a finite scalar with a gradient that reaches
the encoder; the state dict round-trips. A new paper term is covered by registering it.
"""
import inspect

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from fixtures.contexts import FunctionEncoder, make_context
from mmwsss.models.contrast import AuxDefaults, AuxModule, PrototypeMemoryBank

EMBED, CLASSES, SIDE, PATCH = 768, 3, 128, 8  # 768: the default projector's input (DeiT-B)


def registered_aux_modules():
    names = []
    for name, cls in MODELS.module_dict.items():
        if inspect.isclass(cls) and issubclass(cls, AuxModule) and not inspect.isabstract(cls):
            names.append(name)
    return sorted(names)


AUX_MODULES = registered_aux_modules()


def test_every_paper_term_is_registered():
    assert {'PatchTokenContrast', 'LocalCropContrast', 'MaskedViewContrast', 'SpatialMultiViewContrast',
            'MemoryPrototypeContrast'} <= set(AUX_MODULES)


class _TinyEncoder(nn.Module):
    """Patch embedding + two token levels + a CAM head: enough network for every aux module."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Conv2d(3, EMBED, PATCH, stride=PATCH)
        self.aux = nn.Conv2d(EMBED, EMBED, 1)
        self.classifier = nn.Conv2d(EMBED, CLASSES, 1, bias=False)

    def encode(self, x):
        patch = self.embed(x)
        return patch.mean(dim=(2, 3)), patch, self.aux(patch)

    def encode_visible(self, x, keep):
        patch = self.embed(x)
        w = keep.flatten(1).float()
        return (patch.flatten(2) * w[:, None]).sum(-1) / w.sum(-1, keepdim=True).clamp(min=1)

    def cams(self, x):
        _, patch, aux = self.encode(x)
        return self.classifier(patch), self.classifier(aux)


def _context(encoder, batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, SIDE, SIDE, generator=gen)
    samples = []
    for i in range(batch):
        s = SegDataSample(metainfo=dict(sample_seed=seed * 10 + i, view_meta={'local': {'flip': bool(i % 2)}},
                                        img_box=(0, SIDE, 0, SIDE - 4 * i)))
        s.img_local = torch.randn(3, SIDE, SIDE, generator=gen)
        s.img_global2 = torch.randn(3, SIDE, SIDE, generator=gen)
        samples.append(s)
    labels = torch.tensor([[1., 0., 1.], [0., 1., 0.]])[:batch]
    cls, patch, aux = encoder.encode(x)
    with torch.no_grad():
        cam, aux_cam = (F.interpolate(c, size=(SIDE, SIDE), mode='bilinear').sigmoid() for c in encoder.cams(x))
    return make_context(x, cam, labels, img_boxes=[s.img_box for s in samples], aux_cam=aux_cam,
                        data_samples=samples, cls_token=cls, patch_tokens=patch, aux_tokens=aux,
                        encoder=FunctionEncoder(cam_fn=encoder.cams, encode_fn=encoder.encode,
                                                visible_fn=encoder.encode_visible))


def _build(name):
    module = MODELS.build(dict(type=name))
    module.bind(AuxDefaults(num_classes=CLASSES, embed_dims=EMBED, thr=(0.3, 0.6)))
    return module


@pytest.mark.parametrize('name', AUX_MODULES)
def test_aux_module_contract(name):
    torch.manual_seed(0)
    module, encoder = _build(name), _TinyEncoder()
    assert module.start_iter >= 0 and isinstance(module.loss_names, tuple) and module.loss_names
    assert all(k.startswith('loss_') for k in module.loss_names), 'MMEngine sums only keys with "loss"'
    assert (module.low_thr, module.high_thr) == (0.3, 0.6), 'the threshold pair comes from the segmentor by default'
    assert 'Args:' in (type(module).__doc__ or ''), 'document the arguments'

    ctx = _context(encoder)
    assert module.observe(ctx) is None
    for bank in (m for m in module.modules() if isinstance(m, PrototypeMemoryBank)):
        bank.update(min_count=1)  # what MemoryBankHook does at the end of an update window
    losses = module(ctx)
    assert tuple(losses) == module.loss_names + module.log_names
    assert not any('loss' in k for k in module.log_names), 'logged values must not be summed into the loss'
    total = 0
    for key, value in losses.items():
        assert value.shape == () and torch.isfinite(value), key
        if key in module.log_names:
            assert not value.requires_grad, f'{key} is logged only and must carry no gradient'
            continue
        assert value.requires_grad, f'{key} has no gradient'
        total = total + value
    total.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters()), \
        'no gradient reaches the encoder'

    again = _build(name)
    again.load_state_dict(module.state_dict(), strict=True)


@pytest.mark.parametrize('name', AUX_MODULES)
def test_aux_module_threshold_override_and_start(name):
    module = MODELS.build(dict(type=name, thr=(0.1, 0.9), start_iter=7))
    module.bind(AuxDefaults(num_classes=CLASSES, embed_dims=EMBED, thr=(0.3, 0.6)))
    assert (module.low_thr, module.high_thr, module.start_iter) == (0.1, 0.9, 7)
