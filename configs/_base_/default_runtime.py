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
# tools/test.py --crf / --ms-flip-crf: dense CRF after the merge (mmwsss.postprocessing.DenseCRF), the segmentation
# parameters of ToCo/MCC/MSFC/DuPL/SeCo; ToCo's CAM-to-label set is gaussian 3/3, bilateral 36/3/4.
crf = dict(type='DenseCRF', gaussian_sxy=1, gaussian_compat=1, bilateral_sxy=121, bilateral_srgb=5,
           bilateral_compat=4, iterations=10)
