# Alias: MCC on COCO with the paper's setting (tools/dist_train.sh configs/mcc_coco.py 8).
_base_ = ['./mcc/mcc_deit-b16_8xb1-80k_coco2014-448x448.py']
