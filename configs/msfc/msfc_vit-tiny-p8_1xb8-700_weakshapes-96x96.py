# MSFC on WeakShapes on a CPU: TFCM (PTC + ToCo's local-crop class-token contrast) + SMCM + MP2M on the tiny-ViT
# WeakShapes setup, same data, seed and schedule as the ToCo/MCC WeakShapes configs (the ablation of
# configs/msfc/README.md: python tools/demo.py --methods toco mcc msfc msfc-no-smcm msfc-no-mp2m).
# It keeps the WeakShapes configs' 300-iteration segmentation warm-up (CAMs start from scratch here) so that the
# ablation isolates SMCM and MP2M; the VOC/COCO configs drop the warm-up as MSFC does.
_base_ = [
    '../_base_/models/wsss_vit-tiny-p8_weakshapes.py', '../_base_/datasets/weakshapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/wsss_adamw_weakshapes.py'
]
# bank updates every 50 of 700 iterations (200 of 20k in MSFC VOC, more often here so the bank fills in time)
bank_interval = 50
model = dict(
    # MP2M prototypes: confident-region (CAM > 0.5) token means, >= 4 contributions per update, EMA 0.9
    memory_bank=dict(bkg_thr=0.5, momentum=0.9, min_count=4),
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
        dict(type='LocalCropContrast', num_crops=8, crop_size=24, temperature=0.5, loss_weight=0.5, low_thr=0.25,
             high_thr=0.7, neg_ratio=0.2, cam_source='aux'),
        dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5),
        dict(type='MemoryPrototypeContrast', loss_weight=0.5, high_thr=0.7, low_thr=0.25, adaptive=True,
             start_iter=bank_interval),
    ])
train_dataloader = dict(batch_size=8)
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=8), dict(type='MemoryBankHook', interval=bank_interval)]
