"""Refuse to start when the dataset's class list and the model's class count disagree."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmseg.registry import HOOKS


def model_num_classes(model):
    """``(num_classes, where)`` of a segmentor: its decode head's class count (with background), or None."""
    model = model.module if is_model_wrapper(model) else model
    head = getattr(model, 'decode_head', None)
    if head is not None and hasattr(head, 'num_classes'):
        return int(head.num_classes), f'model.decode_head ({type(head).__name__}).num_classes'
    if hasattr(model, 'num_classes'):
        return int(model.num_classes), f'model ({type(model).__name__}).num_classes'
    return None, None


@HOOKS.register_module()
class DatasetModelCheckHook(Hook):
    """Before training, validation and testing: the dataset has exactly ``num_classes`` classes (with background).

    Without it a model built for 21 VOC classes trains on 6-class WeakShapes without complaint (the extra
    outputs are never supervised) or fails deep inside a loss; a WSSS segmentor would also take image labels of
    the wrong length. The error names the dataset class, its class count and list, and the config key to change.
    """
    priority = 'VERY_HIGH'

    def _check(self, runner, loader, split: str) -> None:
        dataset = getattr(loader, 'dataset', None)
        classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
        expected, where = model_num_classes(runner.model)
        if classes is None or expected is None:
            return
        if len(classes) != expected:
            shown = ', '.join(map(str, classes[:8])) + (', ...' if len(classes) > 8 else '')
            raise ValueError(
                f'{split} dataset {type(dataset).__name__} has {len(classes)} classes ({shown}) but {where} = '
                f'{expected}: set the model\'s num_classes to {len(classes)} (for WSSS configs: '
                f'model.decode_head.num_classes; image-level labels have {len(classes) - 1} entries, one per '
                'foreground class) or use the dataset the model was built for')

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_dataloader, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_dataloader, 'test')
