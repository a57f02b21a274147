# MSFC COCO on one GPU with the global batch of 8: 4 images x 2 accumulated steps.
# Every iteration count is x2 (MMEngine counts forward passes) and the teacher EMA is updated once per accumulation window; see
# msfc_deit-b16_1xb2-acc2-20k_voc12aug-448x448.py.
_base_ = ['./msfc_deit-b16_2xb4-80k_coco2014-448x448.py']
acc = 2
high_thr = 0.65
bank_interval = 200 * acc
optim_wrapper = dict(accumulative_counts=acc)
model = dict(
    aux_pseudo_until=12000 * acc,
    ema_interval=acc,
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25),
        dict(type='LocalCropContrast', num_crops=8, crop_size=96, temperature=1.0, loss_weight=0.5, low_thr=0.25,
             high_thr=high_thr, neg_ratio=0.2, cam_source='aux'),
        dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5),
        dict(type='MemoryPrototypeContrast', loss_weight=0.5, high_thr=high_thr, low_thr=0.25, adaptive=False,
             start_iter=bank_interval),
    ])
train_cfg = dict(max_iters=80000 * acc, val_interval=4000 * acc)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500 * acc),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=80000 * acc),
]
default_hooks = dict(logger=dict(interval=200 * acc), checkpoint=dict(interval=4000 * acc))
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=8), dict(type='MemoryBankHook', interval=bank_interval)]
