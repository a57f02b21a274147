# Runtime shared by every mmwsss config: MMSeg 1.x defaults with mmwsss imported for its registrations, the
# fast-forwarding train loop and the mmwsss hooks. Schedules set lengths, intervals and the optimizer only.
default_scope = 'mmseg'
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
# mmengine's Runner with the environment/config dumps in the log file only (mmwsss/engine/runner.py)
runner_type = 'WSSSRunner'
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch this to gloo on machines without CUDA.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
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
    # mmwsss hooks (docs/reliability.md, docs/architecture.md): each process's random state in the checkpoint for
    # an exact --resume, checkpoints checked against the model before loading, dataset classes against the model
    random_state=dict(type='RandomStateHook'),
    checkpoint_match=dict(type='CheckpointMatchHook'),
    dataset_model_check=dict(type='DatasetModelCheckHook'),
    # the model counts its iteration thresholds in optimizer steps: tell it the accumulation
    optimizer_step=dict(type='OptimizerStepInfoHook'),
    # log processes x images x accumulation; `expected` (set by the schedules) warns when a run differs
    global_batch=dict(type='GlobalBatchInfoHook'),
    # updates MP2M's memory banks on their own interval (does nothing for models without one)
    memory_bank=dict(type='MemoryBankHook'),
    # a progress bar over val/test images (and the CRF workers) when standard output is a terminal
    eval_progress=dict(type='EvalProgressHook'))
# tools/test.py --tta: the WSSS papers' merge (per scale image + flip summed, max over scales); merge='mean' is
# MMSeg's SegTTAModel averaging. Either keeps the merged logits for --crf.
tta_model = dict(type='WSSSTTAModel', merge='max')
# tools/test.py --crf / --ms-flip-crf: dense CRF after the merge (mmwsss.postprocessing.DenseCRF), the segmentation
# parameters of ToCo/MCC/MSFC/DuPL/SeCo; ToCo's CAM-to-label set is gaussian 3/3, bilateral 36/3/4.
crf = dict(type='DenseCRF', gaussian_sxy=1, gaussian_compat=1, bilateral_sxy=121, bilateral_srgb=5,
           bilateral_compat=4, iterations=10)
