"""WSSSRunner: the start-up dumps reach the log file, not the terminal; known warnings once, from rank 0 only."""
import logging
import warnings

from mmwsss.engine.runner import FileOnlyFilter
from mmwsss.utils.known_warnings import KNOWN_WARNINGS, configure_known_warnings


def _record(msg):
    return logging.LogRecord('mmengine', logging.INFO, __file__, 1, msg, None, None)


def test_file_only_filter_drops_the_dumps_and_keeps_the_rest():
    f = FileOnlyFilter()
    assert not f.filter(_record('Config:\nmodel = dict(...)'))
    assert not f.filter(_record('Hooks will be executed in the following order:\nbefore_run:'))
    assert not f.filter(_record('\n' + '-' * 60 + '\nSystem environment:\n    sys.platform: linux'))
    assert f.filter(_record('Iter(train) [1/2]  loss: 1.0'))
    assert f.filter(_record('Config file written'))  # only the dump itself ("Config:" + newline)


def _emit_each_known_twice():
    samples = {r'This DataLoader will create \d+ worker processes in total':
               'This DataLoader will create 4 worker processes in total. Our suggested max ...',
               r'Setting (OMP|MKL)_NUM_THREADS environment variable for each process':
               'Setting MKL_NUM_THREADS environment variable for each process to be 1 in default'}
    for _ in range(2):
        for category, pattern in KNOWN_WARNINGS:
            message = samples.get(pattern, pattern.replace('\\', ''))
            warnings.warn(message, category)
    warnings.warn('an unknown warning', UserWarning)


def test_known_warnings_once_on_rank_0_and_never_elsewhere():
    for rank, expected in ((0, len(KNOWN_WARNINGS)), (3, 0)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')  # as if nothing had been shown yet in this process
            configure_known_warnings(rank=rank)
            _emit_each_known_twice()
        known = [w for w in caught if str(w.message) != 'an unknown warning']
        assert len(known) == expected, [str(w.message) for w in known]
        assert sum(str(w.message) == 'an unknown warning' for w in caught) == 1, 'an unknown warning was hidden'
