# MCC VOC on one GPU with the papers' global batch of 4: 1 image x 4 accumulated steps.
_base_ = ['./mcc_deit-b16_4xb1-20k_voc12aug-448x448.py']
optim_wrapper = dict(accumulative_counts=4)
