# MMSeg's plain SGD schedule of 20k iterations (the stock second-stage and smoke configs); the loop and the hooks
# come from default_runtime.py. The constructor's guard stops before the step on a NaN/Inf gradient.
_base_ = ['../default_runtime.py']
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='FiniteGradOptimWrapperConstructor',  # NaN/Inf gradient guard, kept under --amp
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005), clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=20000, by_epoch=False)]
train_cfg = dict(max_iters=20000, val_interval=2000)
