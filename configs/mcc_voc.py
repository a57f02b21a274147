# Alias: MCC on VOC with the paper's setting (tools/dist_train.sh configs/mcc_voc.py 4).
_base_ = ['./mcc/mcc_deit-b16_4xb1-20k_voc12aug-448x448.py']
