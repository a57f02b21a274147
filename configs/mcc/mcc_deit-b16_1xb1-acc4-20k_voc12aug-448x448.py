# MCC VOC on one GPU with the papers' global batch of 4: 1 image x 4 accumulated steps.
# MMEngine counts iterations in forward passes, so every iteration count is x4 to keep 20k optimizer steps, and the
# teacher projector's EMA is updated once per accumulation window (ema_interval=acc, momentum 0.9), so every forward
# sees the teacher the multi-GPU recipe uses. tests/test_configs.py checks the scaling.
_base_ = ['./mcc_deit-b16_4xb1-20k_voc12aug-448x448.py']
acc = 4
optim_wrapper = dict(accumulative_counts=acc)
model = dict(
    seg_start_iter=2001 * acc,
    ema_interval=acc,
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
        dict(type='MaskedViewContrast', num_views=8, block=4, mask_prob=0.95, temperature=0.5, loss_weight=0.5,
             low_thr=0.25, high_thr=0.7, neg_ratio=0.2, cam_source='aux', final_cam_after=12000 * acc),
    ])
train_cfg = dict(max_iters=20000 * acc, val_interval=2000 * acc)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500 * acc),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=20000 * acc),
]
default_hooks = dict(logger=dict(interval=200 * acc), checkpoint=dict(interval=2000 * acc))
