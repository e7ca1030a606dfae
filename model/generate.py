"""Generation: new frames from a trained RNN-RBM, many sequences in parallel, one compiled loop.

At each step every output's RBM gets its biases from the conditioner state, a Gibbs chain of k
steps (started from the previous frame) samples the frame, and the frame is fed back through the
conditioner. The per-step loop runs inside one ``tf.function``.
"""

from __future__ import annotations

import tensorflow as tf

from model.rnn_rbm import RnnRbm


def generate_rolls(model: RnnRbm, num_outputs: int, steps: int, *, k: int = 25, seed: int = 0,
                   temperature: float = 1.0, primer=None):
    """(num_outputs, steps, 88) float32 frames sampled from ``model`` (Bernoulli sampling).

    ``primer`` (P, 88), if given, is fed through the conditioner first and kept as the first P
    frames of every output.
    """
    primer = tf.zeros([0, model.visible], tf.float32) if primer is None else tf.convert_to_tensor(primer, tf.float32)
    return _generate(model, tf.constant(num_outputs), tf.constant(steps), tf.constant(k), tf.constant(seed, tf.int64),
                     tf.constant(temperature, tf.float32), primer)


@tf.function(reduce_retracing=True)
def _generate(model, num_outputs, steps, k, seed, temperature, primer):
    conditioner = model.conditioner
    states = conditioner.initial_states(num_outputs)
    primer_steps = tf.shape(primer)[0]
    frames = tf.TensorArray(tf.float32, size=steps)
    previous = tf.zeros([num_outputs, model.visible])
    for t in tf.range(steps):
        bv, bh = model.biases(states[0])  # the output state u_{t-1} (h for the LSTM)
        if t < primer_steps:
            frame = tf.tile(primer[t][None, :], [num_outputs, 1])
        else:
            step_seed = tf.stack([seed, tf.cast(t, tf.int64)])
            v = previous
            for i in tf.range(k):
                draw_seed = tf.random.experimental.stateless_fold_in(step_seed, i)
                hidden_noise = tf.random.stateless_uniform(tf.shape(bh), draw_seed)
                visible_noise = tf.random.stateless_uniform(tf.shape(bv), tf.random.experimental.stateless_fold_in(draw_seed, -1))
                h = tf.where(hidden_noise < tf.sigmoid((tf.matmul(v, model.rbm.W) + bh) / temperature), 1.0, 0.0)
                v = tf.where(visible_noise < model.rbm.visible_mean(h, bv, temperature), 1.0, 0.0)
            frame = v
        frames = frames.write(t, frame)
        output, states = conditioner.step(frame, states)
        previous = frame
    return tf.transpose(frames.stack(), [1, 0, 2])
