# ToCo VOC on one GPU with the paper's global batch of 4: 2 images x 2 accumulated steps.
_base_ = ['./toco_deit-b16_2xb2-20k_voc12aug-448x448.py']
optim_wrapper = dict(accumulative_counts=2)
