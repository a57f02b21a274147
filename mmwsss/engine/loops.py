"""An iteration-based train loop that resumes without re-loading the data it already trained on."""
import logging

from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from mmseg.registry import LOOPS

__all__ = ['FastForwardIterBasedTrainLoop', 'STREAM_POSITION_KEY']

#: message-hub key (saved in every checkpoint) of the number of samples the whole run has drawn from the stream
STREAM_POSITION_KEY = 'train_stream_position'


@LOOPS.register_module()
class FastForwardIterBasedTrainLoop(IterBasedTrainLoop):
    """``IterBasedTrainLoop`` whose ``--resume`` jumps the data stream to where the checkpoint left it.

    mmengine's loop resumes at iteration ``t`` by loading and dropping ``t`` batches ("Advance dataloader t steps"):
    for an 80k-iteration COCO run resumed at 40k that is 40k image loads per process before training goes on.
    With :class:`~mmwsss.datasets.SeededInfiniteSampler` the samples, their order and their augmentation are a
    function of the seed and of the position in the global stream only, so the loop tells the sampler the position
    instead (:meth:`~mmwsss.datasets.SeededInfiniteSampler.fast_forward`) and the run continues with exactly the
    batches a straight run would have had (``tests/test_engine/test_exact_resume.py`` checks it bit for bit).

    The position is counted while training (global batch per iteration, all processes) and saved in the
    checkpoint's message hub (``train_stream_position``), so a run resumed on another number of processes still
    continues the stream where it stopped. With any other sampler, or a checkpoint written by mmengine's loop
    that lacks the position, the loop falls back to mmengine's replay and says so.

    Args: those of :class:`mmengine.runner.IterBasedTrainLoop`.

    Example:
        >>> train_cfg = dict(type='FastForwardIterBasedTrainLoop', max_iters=20000, val_interval=2000)
    """

    def _seeded_sampler(self):
        sampler = getattr(self.dataloader, 'sampler', None)
        batch_sampler = getattr(self.dataloader, 'batch_sampler', None)
        if not hasattr(sampler, 'fast_forward') and batch_sampler is not None:
            sampler = getattr(batch_sampler, 'sampler', None)
        return sampler if hasattr(sampler, 'fast_forward') else None

    def _global_batch(self) -> int:
        return int(self.dataloader.batch_size) * get_world_size()

    def _fast_forward(self) -> bool:
        """Position the sampler after the trained samples; False when only a replay can skip them."""
        sampler, hub = self._seeded_sampler(), self.runner.message_hub
        position = hub.get_info(STREAM_POSITION_KEY)
        if sampler is None or self.dataloader.batch_size is None:
            why = f'{type(getattr(self.dataloader, "sampler", None)).__name__} cannot be fast-forwarded'
        elif position is None:
            why = f'the checkpoint has no "{STREAM_POSITION_KEY}" (written by another train loop)'
        else:
            sampler.fast_forward(position)
            # a new iterator reads the sampler from the new start (persistent workers drop what they prefetched)
            self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)
            print_log(f'Fast-forwarded the data stream to sample {position} (iteration {self._iter}); the '
                      f'{self._iter} trained iterations are not loaded again', logger='current')
            return True
        print_log(f'Replaying {self._iter} iterations of data loading to skip trained samples: {why}',
                  logger='current', level=logging.WARNING)
        return False

    def run(self):
        """Launch training (mmengine's ``IterBasedTrainLoop.run`` with the replay replaced by a fast-forward)."""
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        hub = self.runner.message_hub
        if self._iter > 0 and not self._fast_forward():
            for _ in range(self._iter):
                next(self.dataloader_iterator)
            hub.update_info(STREAM_POSITION_KEY, self._iter * self._global_batch())
        if self._iter == 0:
            hub.update_info(STREAM_POSITION_KEY, 0)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            # before run_iter: the checkpoint written after this iteration must count its samples
            hub.update_info(STREAM_POSITION_KEY, hub.get_info(STREAM_POSITION_KEY) + self._global_batch())
            self.run_iter(data_batch)

            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()

        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
