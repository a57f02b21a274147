# Alias: DuPL on VOC with the released setting (tools/dist_train.sh configs/dupl_voc.py 2).
_base_ = ['./dupl/dupl_deit-b16_2xb2-20k_voc12aug-448x448.py']
