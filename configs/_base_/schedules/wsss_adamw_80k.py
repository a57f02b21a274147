# The COCO length of the ToCo/MCC schedule: 80k iterations, validation every 4k, global batch 8
# (see wsss_adamw_20k.py).
_base_ = ['./wsss_adamw_20k.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=80000),
]
train_cfg = dict(max_iters=80000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000), global_batch=dict(expected=8))
