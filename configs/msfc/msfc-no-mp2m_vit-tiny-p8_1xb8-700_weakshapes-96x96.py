# Ablation: MSFC on WeakShapes without MP2M (TFCM + SMCM only: no memory bank, no memory loss, no bank hook).
_base_ = ['./msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(
    memory_bank=None,
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
        dict(type='LocalCropContrast', num_crops=8, crop_size=24, temperature=0.5, loss_weight=0.5, low_thr=0.25,
             high_thr=0.7, neg_ratio=0.2, cam_source='aux'),
        dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5),
    ])
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=8)]
