# ToCo COCO on one GPU with the paper's global batch of 8: 2 images x 4 accumulated steps.
_base_ = ['./toco_deit-b16_4xb2-80k_coco2014-448x448.py']
optim_wrapper = dict(accumulative_counts=4)
