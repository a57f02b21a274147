# DuPL on VOC on one GPU with the global batch of 4: 2 image(s) x 2 accumulated steps, as the multi-GPU recipe.
# The model counts its thresholds (segmentation start, dynamic threshold, GMM and consistency starts) in optimizer
# steps, so only MMEngine's own counts change: the accumulation, and the loop, scheduler and hook intervals, which
# MMEngine counts in forward passes (x2 to keep 20k optimizer steps). The GMM and the balanced CE still pool per
# forward pass (2 images), as on each GPU of the 2-GPU recipe.
_base_ = ['./dupl_deit-b16_2xb2-20k_voc12aug-448x448.py']
acc = 2
optim_wrapper = dict(accumulative_counts=acc)
train_cfg = dict(max_iters=20000 * acc, val_interval=2000 * acc)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500 * acc),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=20000 * acc),
]
default_hooks = dict(logger=dict(interval=200 * acc), checkpoint=dict(interval=2000 * acc))
