from .formatting import PackWeakSegInputs
from .geometric import RandomCropWithBox, RandomRescale
from .photometric import WSSSPhotoMetricAug
from .strong_view import AddStrongView
from .views import AddGlobalView, AddLocalView

__all__ = ['PackWeakSegInputs', 'RandomCropWithBox', 'RandomRescale', 'WSSSPhotoMetricAug', 'AddGlobalView',
           'AddLocalView', 'AddStrongView']
