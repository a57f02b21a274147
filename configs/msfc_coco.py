# Alias: MSFC on COCO (tools/dist_train.sh configs/msfc_coco.py 2).
_base_ = ['./msfc/msfc_deit-b16_2xb4-80k_coco2014-448x448.py']
