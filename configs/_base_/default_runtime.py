# Runtime shared by every mmwsss config (the MMSeg 1.x defaults, with mmwsss imported for its registrations).
default_scope = 'mmseg'
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
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
# tools/test.py --tta: the WSSS papers' merge (per scale image + flip summed, max over scales); merge='mean' is
# MMSeg's SegTTAModel averaging. Either keeps the merged logits for --crf.
tta_model = dict(type='WSSSTTAModel', merge='max')
