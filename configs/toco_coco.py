# Alias: ToCo on COCO with the paper's setting (tools/dist_train.sh configs/toco_coco.py 4).
_base_ = ['./toco/toco_deit-b16_4xb2-80k_coco2014-448x448.py']
