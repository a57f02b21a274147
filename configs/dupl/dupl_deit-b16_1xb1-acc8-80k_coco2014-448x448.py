# DuPL on COCO on one GPU with the global batch of 8: 1 image x 8 accumulated steps, as the multi-GPU recipe (see
# the -acc2 VOC variant for what changes).
_base_ = ['./dupl_deit-b16_8xb1-80k_coco2014-448x448.py']
acc = 8
optim_wrapper = dict(accumulative_counts=acc)
train_cfg = dict(max_iters=80000 * acc, val_interval=4000 * acc)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500 * acc),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=80000 * acc),
]
default_hooks = dict(logger=dict(interval=200 * acc), checkpoint=dict(interval=4000 * acc))
