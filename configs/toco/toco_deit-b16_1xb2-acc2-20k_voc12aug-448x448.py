# ToCo VOC on one GPU with the paper's global batch of 4: 2 images x 2 accumulated steps.
# MMEngine counts iterations in forward passes, so every iteration count is x2 to keep 20k optimizer steps, and the
# teacher projector's EMA is updated once per accumulation window (ema_interval=acc, momentum 0.9), so every forward
# sees the teacher the multi-GPU recipe uses. tests/test_configs.py checks the scaling.
_base_ = ['./toco_deit-b16_2xb2-20k_voc12aug-448x448.py']
acc = 2
optim_wrapper = dict(accumulative_counts=acc)
model = dict(seg_start_iter=2001 * acc, ema_interval=acc)
train_cfg = dict(max_iters=20000 * acc, val_interval=2000 * acc)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500 * acc),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=20000 * acc),
]
default_hooks = dict(logger=dict(interval=200 * acc), checkpoint=dict(interval=2000 * acc))
