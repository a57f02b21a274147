# The COCO length of the ToCo/MCC schedule: 80k iterations, validation every 4k (see wsss_adamw_20k.py).
_base_ = ['./wsss_adamw_20k.py']
max_iters = 80000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=8)]
