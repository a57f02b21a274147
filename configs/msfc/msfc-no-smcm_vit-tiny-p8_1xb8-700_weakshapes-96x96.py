# Ablation: MSFC on WeakShapes without SMCM (TFCM + MP2M only); everything else as the MSFC WeakShapes config.
_base_ = ['./msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(aux_losses=[
    dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
    dict(type='LocalCropContrast', num_crops=8, crop_size=24, temperature=0.5, loss_weight=0.5, low_thr=0.25,
         high_thr=0.7, neg_ratio=0.2, cam_source='aux'),
    dict(type='MemoryPrototypeContrast', loss_weight=0.5, high_thr=0.7, low_thr=0.25, adaptive=True, start_iter=50),
])
