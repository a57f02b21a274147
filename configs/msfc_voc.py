# Alias: MSFC on VOC (tools/dist_train.sh configs/msfc_voc.py 2).
_base_ = ['./msfc/msfc_deit-b16_2xb2-20k_voc12aug-448x448.py']
