# A short CPU schedule for WeakShapes: the ToCo/MCC AdamW recipe with a from-scratch learning rate (no
# pretrained backbone, so the backbone is not slowed down 10x) and warm-up/segmentation start scaled down.
max_iters = 700
optim_wrapper = dict(
    # stops before clipping/stepping on a NaN/Inf gradient, naming the parameters (mmwsss/engine/optim_wrapper.py)
    type='FiniteGradOptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=100),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=max_iters),
]
# FastForwardIterBasedTrainLoop: --resume jumps the seeded data stream to the checkpoint instead of re-loading
# every trained batch (mmwsss/engine/loops.py); other samplers fall back to mmengine's replay
train_cfg = dict(type='FastForwardIterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
find_unused_parameters = True
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=350, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # mmwsss reliability hooks (docs/reliability.md): each process's random state in the checkpoint for an exact
    # --resume, checkpoints checked against the model before loading, dataset classes against the model
    random_state=dict(type='RandomStateHook'),
    checkpoint_match=dict(type='CheckpointMatchHook'),
    dataset_model_check=dict(type='DatasetModelCheckHook'))
randomness = dict(seed=0)
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=8)]
