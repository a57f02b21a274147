# Iteration-based schedule of the ToCo/MCC VOC recipes' length (20k iterations), MMSeg layout.
# FiniteGradOptimWrapper: stops before the step on a NaN/Inf gradient, naming the parameters
optim_wrapper = dict(
    type='FiniteGradOptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005), clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=20000, by_epoch=False)]
# FastForwardIterBasedTrainLoop: --resume jumps the seeded data stream to the checkpoint instead of re-loading
# every trained batch (mmwsss/engine/loops.py); other samplers fall back to mmengine's replay
train_cfg = dict(type='FastForwardIterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    # mmwsss reliability hooks (docs/reliability.md): each process's random state in the checkpoint for an exact
    # --resume, checkpoints checked against the model before loading, dataset classes against the model
    random_state=dict(type='RandomStateHook'),
    checkpoint_match=dict(type='CheckpointMatchHook'),
    dataset_model_check=dict(type='DatasetModelCheckHook'))
