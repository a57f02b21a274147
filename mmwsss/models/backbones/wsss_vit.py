"""Plain ViT backbone for ToCo / MCC with an auxiliary-layer output and MCC key-masked views.

The parameter layout is mmpretrain's :class:`~mmpretrain.models.backbones.VisionTransformer` (the class is
subclassed, only the forward passes are new), so mmpretrain DeiT / ViT checkpoints load unchanged. The forward
passes are re-written around one shared block function (:func:`_block_forward`) that calls
``F.scaled_dot_product_attention`` with an optional boolean attention mask. That one attention implementation
serves the plain forward (no mask, fastest kernels), the MCC reference formulation (masked keys, full sequence)
and the fast formulation that runs only the visible tokens (key-padding mask).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.utils import MultiheadAttention, resize_pos_embed

from mmseg.registry import MODELS


def _block_forward(layer: nn.Module, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Run one mmpretrain ``TransformerEncoderLayer`` with an optional boolean attention mask.

    Re-uses the layer's own submodules (``ln1``, ``attn.qkv``, ``attn.proj``, the attention's dropouts, layer
    scale and drop path, ``ln2``, ``ffn`` with its residual), so the result is the layer's own ``forward`` when
    ``attn_mask`` is None; only the attention product is ours, because mmpretrain's ``MultiheadAttention``
    takes no mask.

    Args:
        layer (nn.Module): a ``TransformerEncoderLayer`` of mmpretrain's ``VisionTransformer``.
        x (Tensor): tokens (B, N, C).
        attn_mask (Tensor, optional): bool, broadcastable to (B, heads, N, N); True = the query may attend to the
            key. Every query row must allow at least one key, otherwise softmax has no support and gives NaN (the
            callers always allow the class token).

    Returns:
        Tensor: tokens (B, N, C).
    """
    attn = layer.attn
    B, N, _ = x.shape
    qkv = attn.qkv(layer.ln1(x)).reshape(B, N, 3, attn.num_heads, attn.head_dims).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    # mmpretrain's MultiheadAttention stores the attention-dropout *rate* in ``attn_drop`` and applies it only in
    # training; the default scale 1/sqrt(head_dims) is the one mmpretrain uses (its qk_scale path ignores the
    # value it is given and uses the same scale).
    dropout_p = attn.attn_drop if attn.training else 0.
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p)
    out = out.transpose(1, 2).reshape(B, N, attn.embed_dims)
    out = attn.out_drop(attn.gamma1(attn.proj_drop(attn.proj(out))))
    x = x + out
    return layer.ffn(layer.ln2(x), identity=x)


@MODELS.register_module()
class WSSSViT(VisionTransformer):
    """ViT / DeiT backbone for single-stage WSSS (ToCo, MCC), with MCC's key-masked views.

    Same parameters, names and checkpoints as mmpretrain's
    :class:`~mmpretrain.models.backbones.VisionTransformer` (``cls_token``, ``pos_embed``,
    ``patch_embed.projection``, ``layers.{i}.{ln1,attn.qkv,attn.proj,ln2,ffn}``, final norm ``ln1``), so an
    mmpretrain DeiT / ViT checkpoint loads with
    ``init_cfg=dict(type='Pretrained', checkpoint=URL, prefix='backbone.')``. The positional embedding keeps the
    checkpoint's grid (14x14 for ``img_size=224``, patch 16) and is resized bicubically to the input's patch grid
    at every forward, as in ToCo: 448 crops (28x28), 96 px crops (6x6), the 0.5x / 1.5x CAM scales and non-square
    inputs all work. Inputs whose size is not a multiple of the patch size are padded by ``PatchEmbed``
    (mmpretrain's behaviour).

    Three forward passes share one block implementation (``scaled_dot_product_attention`` with an optional
    boolean mask):

    * :meth:`forward` -- the plain pass, returning ``(cls_token, patch_tokens, aux_tokens)``;
    * :meth:`forward_key_masked` -- MCC's reference masked view: in every block, masked patch tokens cannot be
      attended to as keys (all queries, all heads) but are still computed as queries; the class token is never
      masked;
    * :meth:`forward_visible` -- the same class-token output computed on the visible tokens only (a padded batch
      with a key-padding mask). Masked tokens influence nothing in the reference formulation (nobody attends to
      them), so dropping them is exact up to float rounding and costs ~5% of the tokens at MCC's 95% masking.

    Args:
        arch (str | dict): mmpretrain arch name ('deit-tiny', 'deit-small', 'deit-base', 'base', ...) or a dict
            with ``embed_dims``, ``num_layers``, ``num_heads``, ``feedforward_channels`` (the patch size is the
            separate ``patch_size`` argument). Defaults to 'deit-base'.
        aux_layer (int): 0-based index of the block whose output patch tokens are returned as ``aux_tokens``
            (without the final norm). Negative values count from the end (-3 of 12 blocks = 9). Defaults to 9, the
            10th of 12 blocks, as in ToCo / MCC.
        frozen_pos_embed (bool): set ``pos_embed.requires_grad=False`` (ToCo / MCC). Defaults to True.
        **kwargs: other :class:`~mmpretrain.models.backbones.VisionTransformer` arguments (``img_size``,
            ``patch_size``, ``drop_path_rate``, ``norm_cfg``, ``init_cfg``, ...). ``out_indices`` and
            ``out_type`` have no effect on the outputs; ``with_cls_token`` must stay True.

    Example:
        >>> import torch
        >>> from mmwsss.models.backbones import WSSSViT
        >>> arch = dict(embed_dims=192, num_layers=6, num_heads=3, feedforward_channels=768)
        >>> vit = WSSSViT(arch=arch, patch_size=8, img_size=64, aux_layer=-2).eval()
        >>> x = torch.randn(2, 3, 96, 64)
        >>> cls_token, patches, aux = vit(x)
        >>> cls_token.shape, patches.shape, aux.shape
        (torch.Size([2, 192]), torch.Size([2, 192, 12, 8]), torch.Size([2, 192, 12, 8]))
        >>> keep = torch.rand(2, 12 * 8) > 0.9           # True = visible patch token
        >>> keep[:, 0] = True
        >>> ref = vit.forward_key_masked(x, ~keep)       # masked keys, all tokens computed
        >>> fast = vit.forward_visible(x, keep)          # visible tokens only
        >>> bool(torch.allclose(ref, fast, atol=1e-5))
        True

    In an MMSeg config the backbone is ``dict(type='WSSSViT', arch='deit-base', aux_layer=9, ...)``; the
    segmentor consumes the tuple returned by :meth:`forward` (class token for the contrast heads, patch tokens
    for the CAM and decoder, aux tokens for the auxiliary CAM), so it is not meant for a plain
    :class:`mmseg.models.EncoderDecoder` neck / decode head that expects a list of feature maps.
    """

    def __init__(self,
                 arch='deit-base',
                 aux_layer: int = 9,
                 frozen_pos_embed: bool = True,
                 **kwargs) -> None:
        if not kwargs.get('with_cls_token', True):
            raise ValueError('WSSSViT needs the class token (with_cls_token=True)')
        super().__init__(arch=arch, **kwargs)
        num_layers = len(self.layers)
        index = aux_layer + num_layers if aux_layer < 0 else aux_layer
        if not 0 <= index < num_layers:
            raise ValueError(f'aux_layer={aux_layer} is out of range for a backbone with {num_layers} blocks '
                             f'(valid: {-num_layers}..{num_layers - 1})')
        self.aux_layer = index
        for layer in self.layers:
            # The block forward below re-implements the attention product of exactly these module types.
            if not isinstance(layer.attn, MultiheadAttention) or layer.attn.v_shortcut:
                raise NotImplementedError(f'unsupported attention module {type(layer.attn).__name__}')
        self.frozen_pos_embed = frozen_pos_embed
        if frozen_pos_embed:
            self.pos_embed.requires_grad = False

    def train(self, mode: bool = True) -> 'WSSSViT':
        # mmpretrain's BaseBackbone.train returns None; return self like nn.Module so ``vit.eval()`` chains.
        super().train(mode)
        return self

    # ------------------------------------------------------------------------------------------------ helpers
    def _embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, Tuple[int, int]]:
        """Patch tokens with their (resized) positional embedding, the class token with its own, and the grid.

        Adding the positional embedding before any token selection lets :meth:`forward_visible` gather visible
        tokens that keep their original positions.
        """
        patches, hw = self.patch_embed(x)
        pos = resize_pos_embed(self.pos_embed, self.patch_resolution, hw, mode=self.interpolate_mode,
                               num_extra_tokens=self.num_extra_tokens)
        cls_token = (self.cls_token + pos[:, :1]).expand(patches.size(0), -1, -1)
        return patches + pos[:, 1:], cls_token, hw

    def _start(self, tokens: torch.Tensor) -> torch.Tensor:
        # Same order as mmpretrain: dropout after the positional embedding, then the (usually identity) pre-norm.
        return self.pre_norm(self.drop_after_pos(tokens))

    def _final_norm(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln1(x) if self.final_norm else x

    def _run_blocks(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None,
                    keep_aux: bool = False) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        aux = None
        for i, layer in enumerate(self.layers):
            x = _block_forward(layer, x, attn_mask)
            if keep_aux and i == self.aux_layer:
                aux = x
        return x, aux

    @staticmethod
    def _to_map(tokens: torch.Tensor, hw: Tuple[int, int]) -> torch.Tensor:
        return tokens.transpose(1, 2).reshape(tokens.size(0), tokens.size(2), *hw)

    @staticmethod
    def _flat_mask(mask: torch.Tensor, batch: int, num_tokens: int, name: str) -> torch.Tensor:
        mask = mask.reshape(mask.size(0), -1) if mask.dim() > 2 else mask
        if mask.dtype != torch.bool or tuple(mask.shape) != (batch, num_tokens):
            raise ValueError(f'{name} must be a bool tensor of shape ({batch}, {num_tokens}) or ({batch}, H, W) on '
                             f'the patch grid, got {mask.dtype} {tuple(mask.shape)}')
        return mask

    # ---------------------------------------------------------------------------------------------- forwards
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Plain forward (global views, CAM passes, segmentation).

        Args:
            x (Tensor): images (B, 3, H, W).

        Returns:
            tuple: ``cls_token`` (B, C) after the final norm, ``patch_tokens`` (B, C, Hp, Wp) after the final
            norm, ``aux_tokens`` (B, C, Hp, Wp), the output of block ``aux_layer`` without the final norm.
        """
        patches, cls_token, hw = self._embed(x)
        tokens = self._start(torch.cat([cls_token, patches], dim=1))
        # No mask: SDPA may pick its fused kernels, and the result is mmpretrain's own forward.
        tokens, aux = self._run_blocks(tokens, keep_aux=True)
        tokens = self._final_norm(tokens)
        n = self.num_extra_tokens
        return tokens[:, 0], self._to_map(tokens[:, n:], hw), self._to_map(aux[:, n:], hw)

    def forward_key_masked(self, x: torch.Tensor, key_mask: torch.Tensor) -> torch.Tensor:
        """MCC reference masked view: masked tokens are removed from the key axis of every block.

        All tokens are computed (masked ones still act as queries), but no query in any head of any block can
        attend to a masked token. The class token is never masked, so every softmax row keeps at least one key;
        with every patch masked the class token only attends to itself and its output no longer depends on the
        image (as in MCC). The reference subtracts 1e12 from masked logits; the boolean mask used here gives the
        same (exactly zero) weights.

        Args:
            x (Tensor): images (B, 3, H, W); for MCC, one image replicated once per masked view.
            key_mask (Tensor): bool (B, Hp*Wp) or (B, Hp, Wp), True = masked patch token.

        Returns:
            Tensor: class token (B, C) after the final norm.
        """
        patches, cls_token, _ = self._embed(x)
        B, N, _ = patches.shape
        key_mask = self._flat_mask(key_mask, B, N, 'key_mask')
        allowed = torch.cat([key_mask.new_ones(B, 1), ~key_mask], dim=1)
        tokens = self._start(torch.cat([cls_token, patches], dim=1))
        tokens, _ = self._run_blocks(tokens, allowed[:, None, None, :])
        return self._final_norm(tokens[:, 0])

    def forward_visible(self, x: torch.Tensor, keep_mask: torch.Tensor) -> torch.Tensor:
        """Class token of a key-masked view, computed on the visible tokens only (same result, less compute).

        The patches are embedded (with the positional embedding of their original position), the visible tokens
        of each image are gathered into a batch padded to the largest visible count, the class token is
        prepended, and the blocks run with a key-padding mask so padded slots are never attended to. Visible
        tokens and the class token then see exactly what they see in :meth:`forward_key_masked`, where masked
        tokens cannot be attended to either. Views with no visible token run on the class token alone and give
        the same image-independent output as the reference (no NaN: the class token is always a key).

        Args:
            x (Tensor): images (B, 3, H, W).
            keep_mask (Tensor): bool (B, Hp*Wp) or (B, Hp, Wp), True = visible patch token, e.g. a view of
                :func:`mmwsss.models.contrast.generate_block_masks` flattened over the views.

        Returns:
            Tensor: class token (B, C) after the final norm.
        """
        patches, cls_token, _ = self._embed(x)
        B, N, C = patches.shape
        keep_mask = self._flat_mask(keep_mask, B, N, 'keep_mask')
        counts = keep_mask.sum(dim=1)
        length = int(counts.max()) if B else 0
        # A stable sort of "is masked" puts each row's visible indices first, in raster order.
        order = torch.argsort((~keep_mask).to(torch.uint8), dim=1, stable=True)[:, :length]
        valid = torch.arange(length, device=x.device)[None, :] < counts[:, None]
        visible = patches.gather(1, order[:, :, None].expand(-1, -1, C))
        # Padded slots hold finite zeros: they are never keys, and as queries their (unused) outputs stay finite,
        # so they cannot leak NaN into the gradients.
        visible = visible.masked_fill(~valid[:, :, None], 0.)
        tokens = self._start(torch.cat([cls_token, visible], dim=1))
        attn_mask = None
        if not bool(valid.all()):
            allowed = torch.cat([valid.new_ones(B, 1), valid], dim=1)
            attn_mask = allowed[:, None, None, :]
        tokens, _ = self._run_blocks(tokens, attn_mask)
        return self._final_norm(tokens[:, 0])
