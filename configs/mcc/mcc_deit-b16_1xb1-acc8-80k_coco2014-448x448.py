# MCC COCO on one GPU with the papers' global batch of 8: 1 image x 8 accumulated steps.
_base_ = ['./mcc_deit-b16_8xb1-80k_coco2014-448x448.py']
optim_wrapper = dict(accumulative_counts=8)
