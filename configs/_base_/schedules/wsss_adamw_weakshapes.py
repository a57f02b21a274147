# A short CPU schedule for WeakShapes: the ToCo/MCC AdamW recipe (wsss_adamw_20k.py) with a from-scratch learning
# rate (no pretrained backbone, so the backbone is not slowed down 10x: no paramwise_cfg), gradient clipping, and
# warm-up scaled down. Global batch 8.
_base_ = ['./wsss_adamw_20k.py']
max_iters = 700
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='FiniteGradOptimWrapperConstructor',  # NaN/Inf gradient guard, kept under --amp
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=350, max_keep_ckpts=2),
                     global_batch=dict(expected=8))
