"""WSSSViT: same outputs and checkpoints as mmpretrain's ViT, aux output, and the two MCC masked-view forms agree.

Tolerances: float32 comparisons use atol 1e-5 (the two masked forms sum attention over different padded lengths,
so only rounding differs); float64 comparisons use atol 1e-10.
"""
import pytest
import torch
from mmpretrain.models.backbones import VisionTransformer

from mmseg.registry import MODELS

from mmwsss.models.backbones import WSSSViT
from mmwsss.models.contrast.mcc import generate_block_masks

# Tiny arch for CPU tests (mmpretrain arch-dict format); the patch size is a separate argument.
TINY = dict(embed_dims=64, num_layers=4, num_heads=2, feedforward_channels=128)


def _randomise(model, seed=0):
    """Non-trivial weights everywhere (cls token and LN included), so a wrong wiring cannot pass by chance."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.1
            p.copy_(noise + 1 if name.endswith('ln1.weight') or name.endswith('ln2.weight') else noise)
    return model


def _tiny(**kwargs):
    cfg = dict(arch=TINY, patch_size=8, img_size=64, aux_layer=2)
    cfg.update(kwargs)
    return _randomise(WSSSViT(**cfg)).eval()


@pytest.fixture(scope='module')
def vit():
    return _tiny()


@pytest.fixture(scope='module')
def reference(vit):
    """mmpretrain's own VisionTransformer with the same weights, returning all tokens after the final norm."""
    ref = VisionTransformer(arch=TINY, patch_size=8, img_size=64, out_type='raw')
    ref.load_state_dict(vit.state_dict(), strict=True)
    ref.eval()  # mmpretrain's BaseBackbone.train returns None: do not chain
    return ref


@pytest.mark.parametrize('hw', [(64, 64), (32, 32), (96, 96), (48, 80), (96, 40)])
def test_forward_matches_mmpretrain(vit, reference, hw):
    """64 px is the checkpoint grid; 32 / 96 are the 0.5x / 1.5x scales, then two non-square inputs."""
    x = torch.randn(2, 3, *hw)
    with torch.no_grad():
        cls_token, patches, aux = vit(x)
        raw = reference(x)[0]
    grid = (hw[0] // 8, hw[1] // 8)
    assert cls_token.shape == (2, 64)
    assert patches.shape == aux.shape == (2, 64, *grid)
    torch.testing.assert_close(cls_token, raw[:, 0], atol=1e-5, rtol=0)
    expected = raw[:, 1:].reshape(2, *grid, 64).permute(0, 3, 1, 2)
    torch.testing.assert_close(patches, expected, atol=1e-5, rtol=0)


def test_deit_small_shapes_at_training_sizes():
    """DeiT-S layout: 448 crops give a 28x28 grid, 96 px crops a 6x6 grid (checkpoint grid 14x14)."""
    with torch.device('meta'):
        vit = WSSSViT(arch='deit-small', aux_layer=-3)
    assert vit.aux_layer == 9 and vit.pos_embed.shape == (1, 1 + 14 * 14, 384)
    for hw, grid in (((448, 448), (28, 28)), ((96, 96), (6, 6)), ((224, 672), (14, 42))):
        cls_token, patches, aux = vit(torch.empty(1, 3, *hw, device='meta'))
        assert cls_token.shape == (1, 384) and patches.shape == aux.shape == (1, 384, *grid)


def test_aux_tokens_are_block_output_without_norm():
    vit = _tiny(aux_layer=-2)  # 4 blocks: index 2
    assert vit.aux_layer == 2
    ref = VisionTransformer(arch=TINY, patch_size=8, img_size=64, out_type='raw')
    ref.load_state_dict(vit.state_dict(), strict=True)
    ref.eval()
    seen = {}
    hook = ref.layers[2].register_forward_hook(lambda m, i, o: seen.setdefault('out', o))
    x = torch.randn(2, 3, 40, 56)
    with torch.no_grad():
        ref(x)
        _, patches, aux = vit(x)
    hook.remove()
    expected = seen['out'][:, 1:].reshape(2, 5, 7, 64).permute(0, 3, 1, 2)
    torch.testing.assert_close(aux, expected, atol=1e-5, rtol=0)
    assert not torch.allclose(aux, patches, atol=1e-2)


def test_pos_embed_frozen_and_aux_layer_range():
    assert not _tiny().pos_embed.requires_grad
    assert _tiny(frozen_pos_embed=False).pos_embed.requires_grad
    assert _tiny(aux_layer=-4).aux_layer == 0 and _tiny(aux_layer=3).aux_layer == 3
    for bad in (4, -5, 9):
        with pytest.raises(ValueError, match='aux_layer'):
            WSSSViT(arch=TINY, patch_size=8, img_size=64, aux_layer=bad)
    with pytest.raises(ValueError, match='aux_layer'):  # the default 9 needs at least 10 blocks
        WSSSViT(arch=dict(TINY, num_layers=6), patch_size=8)
    with pytest.raises(ValueError, match='class token'):
        WSSSViT(arch=TINY, patch_size=8, aux_layer=2, with_cls_token=False, out_type='featmap')


def test_registered_in_mmseg():
    vit = MODELS.build(dict(type='WSSSViT', arch=TINY, patch_size=8, img_size=64, aux_layer=1))
    assert isinstance(vit, WSSSViT) and MODELS.get('WSSSViT') is WSSSViT


@pytest.mark.parametrize('arch', ['deit-small', 'deit-base'])
def test_same_keys_as_mmpretrain(arch):
    with torch.device('meta'):
        ours, theirs = WSSSViT(arch=arch), VisionTransformer(arch=arch)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b) and all(a[k].shape == b[k].shape for k in a)
    assert {'cls_token', 'pos_embed', 'patch_embed.projection.weight', 'layers.11.attn.qkv.weight',
            'layers.11.ffn.layers.1.weight', 'ln1.weight'} <= set(a)
    ours.load_state_dict(b, strict=True, assign=True)


def test_loads_mmpretrain_checkpoint_strictly_and_via_init_cfg(tmp_path):
    src = _randomise(VisionTransformer(arch=TINY, patch_size=8, img_size=64), seed=3)
    state = src.state_dict()
    ours = WSSSViT(arch=TINY, patch_size=8, img_size=64, aux_layer=2)
    ours.load_state_dict(state, strict=True)
    # The mmseg path: a classifier checkpoint whose backbone weights carry the 'backbone.' prefix.
    ckpt = tmp_path / 'cls.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in state.items()}, 'meta': {}}, ckpt)
    built = MODELS.build(dict(type='WSSSViT', arch=TINY, patch_size=8, img_size=64, aux_layer=2,
                              init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.')))
    built.init_weights()
    for k, v in state.items():
        torch.testing.assert_close(built.state_dict()[k], v, atol=0, rtol=0)
    assert not built.pos_embed.requires_grad


def _views(grid, num_views=6, seed=0):
    """Random MCC masks plus hand-made edge cases: one visible block, nothing visible, everything visible."""
    g = torch.Generator().manual_seed(seed)
    keep = generate_block_masks(1, num_views, grid, generator=g)[0]
    single = torch.zeros(grid, dtype=torch.bool)
    single[4:8, 0:4] = True
    keep = torch.cat([keep, single[None], torch.zeros(1, *grid, dtype=torch.bool),
                      torch.ones(1, *grid, dtype=torch.bool)])
    return keep.flatten(1)


@pytest.mark.parametrize('dtype,atol', [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_forward_visible_equals_key_masked(dtype, atol):
    model = _tiny().to(dtype)
    keep = _views((16, 12))                               # 128x96 input: 16x12 tokens, 4x3 blocks
    x = torch.randn(1, 3, 128, 96, dtype=dtype).expand(len(keep), -1, -1, -1)  # one image, replicated
    with torch.no_grad():
        ref = model.forward_key_masked(x, ~keep)
        fast = model.forward_visible(x, keep)
        full_cls = model(x)[0]
    assert torch.isfinite(fast).all() and torch.isfinite(ref).all()
    torch.testing.assert_close(fast, ref, atol=atol, rtol=0)
    # The unmasked view is the plain forward; masking changes the class token.
    torch.testing.assert_close(fast[-1], full_cls[-1], atol=atol, rtol=0)
    assert (fast[:-1] - full_cls[:-1]).abs().amax(-1).min() > 1e-3


def test_mcc_geometry_448_with_all_masked_view():
    """448 px at patch 16 (28x28 tokens, 7x7 blocks), 8 views, one view fully masked (min_visible_blocks=0)."""
    model = _tiny(patch_size=16, img_size=224)
    g = torch.Generator().manual_seed(1)
    keep = generate_block_masks(1, 8, (28, 28), min_visible_blocks=0, generator=g)[0].flatten(1)
    keep[0] = False
    x = torch.randn(1, 3, 448, 448).expand(8, -1, -1, -1)
    with torch.no_grad():
        ref = model.forward_key_masked(x, ~keep)
        fast = model.forward_visible(x, keep)
        # A view with nothing visible gives an image-independent class token.
        other = model.forward_visible(torch.randn(1, 3, 448, 448), keep[:1])
    assert torch.isfinite(fast).all()
    torch.testing.assert_close(fast, ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(other[0], fast[0], atol=1e-5, rtol=0)


def test_masked_tokens_do_not_influence_the_class_token(vit):
    keep = torch.zeros(1, 8, 8, dtype=torch.bool)
    keep[0, :4, 4:] = True                                # top-right 4x4 tokens visible (pixels 0:32, 32:64)
    x = torch.randn(1, 3, 64, 64)
    y = x.clone()
    y[..., 32:, :] = torch.randn(1, 3, 32, 64)           # change only masked patches
    with torch.no_grad():
        a, b = vit.forward_key_masked(torch.cat([x, y]), ~keep.flatten(1).expand(2, -1))
        c = vit.forward_visible(y, keep)[0]
        z = x.clone()
        z[..., :32, 32:] += 1.                           # change a visible patch
        d = vit.forward_visible(z, keep)[0]
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    torch.testing.assert_close(c, a, atol=1e-5, rtol=0)
    assert (d - a).abs().max() > 1e-3


def test_gradients_flow_through_forward_visible_and_match_key_masked():
    model = _tiny().double().train()                   # no dropout / drop path configured: train is deterministic
    keep = _views((8, 8), num_views=3, seed=2)
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64).expand(len(keep), -1, -1, -1)
    grads = []
    for fn, mask in ((model.forward_visible, keep), (model.forward_key_masked, ~keep)):
        model.zero_grad()
        (fn(x, mask) * torch.linspace(-1, 1, 64, dtype=torch.float64)).sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    fast, ref = grads
    assert 'pos_embed' not in fast
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert set(fast) == set(ref) == names
    for n in ('cls_token', 'patch_embed.projection.weight', 'layers.0.attn.qkv.weight', 'layers.3.ffn.layers.1.weight',
              'ln1.weight'):
        assert fast[n].abs().sum() > 0, n
    for n in names:
        torch.testing.assert_close(fast[n], ref[n], atol=1e-9, rtol=1e-7, msg=n)


def test_mask_shape_validation(vit):
    x = torch.randn(2, 3, 64, 64)
    with pytest.raises(ValueError, match='keep_mask'):
        vit.forward_visible(x, torch.ones(2, 63, dtype=torch.bool))
    with pytest.raises(ValueError, match='key_mask'):
        vit.forward_key_masked(x, torch.ones(2, 64))
    with torch.no_grad():  # (B, Hp, Wp) masks are accepted too
        torch.testing.assert_close(vit.forward_visible(x, torch.ones(2, 8, 8, dtype=torch.bool)), vit(x)[0],
                                   atol=1e-5, rtol=0)
