# Alias: DuPL on COCO with the released setting (tools/dist_train.sh configs/dupl_coco.py 8).
_base_ = ['./dupl/dupl_deit-b16_8xb1-80k_coco2014-448x448.py']
