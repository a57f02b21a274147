"""``WSSSRunner``: mmengine's Runner with its start-up dumps kept out of the terminal.

On start-up mmengine logs at INFO ~30 lines of environment, the whole config (380-545 lines for the DeiT-B
configs) and the hook order (~70 lines); on a terminal they bury the first iterations and any error that follows.
Here the full text still goes to the log file (``<work_dir>/<timestamp>/<timestamp>.log``; the config is also
written to ``work_dir``), and the terminal gets one line saying where. ``MMWSSS_VERBOSE=1`` restores mmengine's
terminal output.

Configs select it with ``runner_type='WSSSRunner'`` (``configs/_base_/default_runtime.py``); MMSeg's tools/train.py
and mmwsss's build the runner through ``RUNNERS`` when ``runner_type`` is set.
"""
import logging
import os

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

__all__ = ['WSSSRunner', 'FileOnlyFilter']

#: start-up records that go to the log file only: environment, config, hook order
FILE_ONLY_PREFIXES = ('\n' + '-' * 60 + '\nSystem environment:', 'Config:\n',
                      'Hooks will be executed in the following order')


class FileOnlyFilter(logging.Filter):
    """A filter for a terminal handler: drops the records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes=FILE_ONLY_PREFIXES):
        super().__init__()
        self.prefixes = tuple(prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


@RUNNERS.register_module()
class WSSSRunner(Runner):
    """:class:`mmengine.runner.Runner` whose start-up environment, config and hook dumps go to the log file only.

    Example:
        >>> runner_type = 'WSSSRunner'  # in a config; everything else as for mmengine's Runner
    """

    def _log_env(self, env_cfg: dict) -> None:
        # called by Runner.__init__ after the logger is built and before the hooks are listed
        if os.environ.get('MMWSSS_VERBOSE', '0') in ('0', ''):
            for handler in self.logger.handlers:
                if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                    handler.addFilter(FileOnlyFilter())
            self.logger.info(f'environment, config and hooks: in {self._log_dir}/{self.timestamp}.log '
                             f'(MMWSSS_VERBOSE=1 prints them here); seed {self._seed}, launcher {self._launcher}, '
                             f'world size {self._world_size}')
        super()._log_env(env_cfg)
