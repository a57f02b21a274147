"""DuPL (dual students with cross pseudo supervision and pseudo-label filtering): one file per paper term.

=========================  ===========================================================================
term                       file
=========================  ===========================================================================
discrepancy loss           :mod:`~mmwsss.models.dupl.discrepancy` (``DiscrepancyLoss``)
dynamic threshold          :mod:`~mmwsss.models.dupl.dynamic_threshold` (``DynamicThreshold``)
cross pseudo supervision   :mod:`~mmwsss.models.dupl.cross_supervision` (``cross_pseudo_supervision``)
GMM noise filtering        :mod:`~mmwsss.models.dupl.gmm_filter` (``GMMNoiseFilter``, ``fit_gmm_1d``)
consistency (strong view)  :mod:`~mmwsss.models.dupl.consistency` (``StrongViewConsistencyLoss``)
=========================  ===========================================================================

The students and the order of a training step: :class:`~mmwsss.models.segmentors.DualStudentSegmentor`.
"""
from .consistency import StrongViewConsistencyLoss, strong_view_logits
from .cross_supervision import cross_pseudo_supervision, partner
from .discrepancy import DiscrepancyLoss
from .dynamic_threshold import DynamicThreshold, cosine_descent
from .gmm_filter import GMM1D, GMMNoiseFilter, fit_gmm_1d, gmm_noise_filter, gmm_posterior

__all__ = ['StrongViewConsistencyLoss', 'strong_view_logits', 'cross_pseudo_supervision', 'partner',
           'DiscrepancyLoss', 'DynamicThreshold', 'cosine_descent', 'GMM1D', 'GMMNoiseFilter', 'fit_gmm_1d',
           'gmm_noise_filter', 'gmm_posterior']
