# ToCo/MCC optimisation: AdamW (wd 0.01 on every group), backbone lr 6e-5, heads x10 (6e-4), linear warm-up over
# 1,500 iterations from 1e-6 x, poly 0.9 over the whole run. MMEngine chains the two schedulers multiplicatively,
# so during warm-up the lr is the reference's ramp times the poly factor (at most 7% lower, at iteration 1,500);
# afterwards it equals the reference's base * (1 - k / max_iters) ** 0.9. Global batch 4 (VOC).
# FiniteGradOptimWrapperConstructor's guard stops before clipping/stepping on a NaN/Inf gradient, naming the
# parameters; the type stays 'OptimWrapper' so that MMSeg's --amp accepts it (and the guard stays on).
_base_ = ['../default_runtime.py']
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='FiniteGradOptimWrapperConstructor',  # NaN/Inf gradient guard, kept under --amp
    optimizer=dict(type='AdamW', lr=6e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=20000),
]
train_cfg = dict(max_iters=20000, val_interval=2000)
# The decode head and the contrast modules join the loss after their start step.
find_unused_parameters = True
default_hooks = dict(logger=dict(interval=200), checkpoint=dict(interval=2000, max_keep_ckpts=3),
                     global_batch=dict(expected=4))
randomness = dict(seed=0)
