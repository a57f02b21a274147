# Alias: ToCo on VOC with the paper's setting (tools/dist_train.sh configs/toco_voc.py 2).
_base_ = ['./toco/toco_deit-b16_2xb2-20k_voc12aug-448x448.py']
