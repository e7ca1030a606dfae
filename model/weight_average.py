"""An exponential moving average of the weights over recent training frames (Polyak averaging).

Training updates the raw weights; the average trails them with a time constant measured in training
frames (not steps), so one setting means the same on datasets of any piece length or batch size.
Until a tenth of the frames seen reaches it, the time constant is that tenth (as TensorFlow's
ExponentialMovingAverage ramps its decay with num_updates): a short run's average is not held back
by the initial weights.
Validation, the best weights and the sample pictures use the average, swapped in and out exactly.
"""

from __future__ import annotations

import contextlib

WARM_UP = 10  # early on, the time constant is the frames seen divided by this


class WeightAverage:
    def __init__(self, variables, frames: int):
        from pianorbm.common.quiet import tf

        self.variables = list(variables)
        self.frames = frames
        self.averages = [tf.Variable(v, trainable=False, name=f"average_{i}") for i, v in enumerate(self.variables)]
        self.frames_seen = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="frames_seen")
        self._update = tf.function(self._update_now)

    def checkpoint(self):
        from pianorbm.common.quiet import tf

        return tf.train.Checkpoint(frames_seen=self.frames_seen,
                                   **{f"average_{i}": a for i, a in enumerate(self.averages)})

    def reset(self) -> None:
        """Start the average at the weights as they are now (after initialisation or pretraining)."""
        for average, variable in zip(self.averages, self.variables):
            average.assign(variable)
        self.frames_seen.assign(0.0)

    def _update_now(self, frames):
        from pianorbm.common.quiet import tf

        self.frames_seen.assign_add(frames)
        time_constant = tf.minimum(tf.constant(float(self.frames), tf.float64), self.frames_seen / WARM_UP)
        keep = tf.cast(tf.exp(-frames / time_constant), tf.float32)
        for average, variable in zip(self.averages, self.variables):
            average.assign(keep * average + (1.0 - keep) * variable)

    def update(self, frames: int) -> None:
        """Fold in the weights after a batch of ``frames`` training frames."""
        from pianorbm.common.quiet import tf

        self._update(tf.constant(frames, tf.float64))

    @contextlib.contextmanager
    def swapped_in(self):
        """The model holds the average inside the block and its own weights, bit for bit, after it."""
        raw = [variable.numpy() for variable in self.variables]
        for average, variable in zip(self.averages, self.variables):
            variable.assign(average)
        try:
            yield
        finally:
            for value, variable in zip(raw, self.variables):
                variable.assign(value)


def weight_average_for(variables, frames: int) -> WeightAverage | None:
    """The average of ``variables`` with time constant ``frames``; None when ``frames`` is 0 (no average)."""
    return WeightAverage(variables, frames) if frames else None
