"""mmwsss: weakly-supervised semantic segmentation (ToCo, MCC, MSFC) as an MMSegmentation 1.x plugin.

Importing the package registers its components into MMSegmentation's registries (``mmseg.registry``) and makes
checkpoint loading safe on torch >= 2.6 (:mod:`mmwsss.compat`) and checkpoint writing atomic
(:mod:`mmwsss.engine.checkpoint_io`). Configs import it through
``custom_imports = dict(imports=['mmwsss'])``.
"""
from .compat import register_safe_checkpoint_loading
from .version import __version__

register_safe_checkpoint_loading()

from . import datasets, engine, evaluation, models, postprocessing  # noqa: E402,F401  (registers all components)

engine.register_atomic_local_backend()

__all__ = ['__version__']
