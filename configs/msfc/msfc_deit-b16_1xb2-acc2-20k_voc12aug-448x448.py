# MSFC VOC on one GPU with the global batch of 4: 2 images x 2 accumulated steps.
# MMEngine counts iterations in forward passes, so every iteration count (schedule, bank interval, memory-loss
# start) is x2 to keep 20k optimizer steps and a bank update every 200 of them, and the teacher projector's EMA
# is updated once per accumulation window (ema_interval), so every forward sees the teacher of the 2-GPU recipe.
# The bank sees every image: it accumulates at every forward.
_base_ = ['./msfc_deit-b16_2xb2-20k_voc12aug-448x448.py']
acc = 2
high_thr = 0.7
bank_interval = 200 * acc
optim_wrapper = dict(accumulative_counts=acc)
model = dict(
    ema_interval=acc,
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25),
        dict(type='LocalCropContrast', num_crops=8, crop_size=96, temperature=0.5, loss_weight=0.5, low_thr=0.25,
             high_thr=high_thr, neg_ratio=0.2, cam_source='aux'),
        dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5),
        dict(type='MemoryPrototypeContrast', loss_weight=0.5, high_thr=high_thr, low_thr=0.25, adaptive=True,
             start_iter=bank_interval),
    ])
train_cfg = dict(max_iters=20000 * acc, val_interval=2000 * acc)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500 * acc),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=20000 * acc),
]
default_hooks = dict(logger=dict(interval=200 * acc), checkpoint=dict(interval=2000 * acc))
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=4), dict(type='MemoryBankHook', interval=bank_interval)]
