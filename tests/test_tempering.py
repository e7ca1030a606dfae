"""The one Gibbs kernel and the tempered sampler built on it: draws of an RBM whose plain Gibbs chains
never leave the mode they start in must not depend on the start, and must match the exact distribution."""

import numpy as np
import pytest

from pianorbm.common.quiet import tf
from pianorbm.model.accuracy import expected_accuracy, frame_accuracy
from pianorbm.model.rbm import gibbs_step, next_uniform, stream_states
from pianorbm.model.tempering import ladder

KEYS, HIDDEN = 88, 8
CHORD_A, CHORD_B = [48, 52, 55, 60], [50, 53, 57, 62]


def two_chord_rbm():
    """Hidden units 0 and 1 each play one chord and silence the rest: two modes of about equal mass
    (log-odds 4.07 against silence's 1.59), separated by states Gibbs sampling never visits."""
    weights = np.zeros((KEYS, HIDDEN), np.float32)
    for unit, chord in ((0, CHORD_A), (1, CHORD_B)):
        weights[:, unit] = -8.0
        weights[chord, unit] = 8.0
    weights[:, 2:] = np.random.default_rng(0).normal(0, 0.05, (KEYS, HIDDEN - 2))
    visible_bias = np.full(KEYS, -4.0, np.float32)
    hidden_bias = np.full(HIDDEN, -12.0, np.float32)
    hidden_bias[2:] = 0.0
    return weights, visible_bias, hidden_bias


def frame(pitches):
    v = np.zeros(KEYS, np.float32)
    v[pitches] = 1.0
    return v


def exact_expected_accuracy(weights, visible_bias, hidden_bias, truth, draws=200_000, seed=0):
    """E[ACC] under the RBM by exact sampling: h from its marginal (every hidden state enumerated),
    then v given h."""
    states = ((np.arange(2 ** HIDDEN)[:, None] >> np.arange(HIDDEN)) & 1).astype(np.float64)
    log_p = states @ hidden_bias + np.logaddexp(0, visible_bias + states @ weights.T).sum(1)
    p = np.exp(log_p - log_p.max())
    rng = np.random.default_rng(seed)
    h = states[rng.choice(len(states), draws, p=p / p.sum())]
    v = rng.random((draws, KEYS)) < 1 / (1 + np.exp(-(visible_bias + h @ weights.T)))
    return frame_accuracy(v, np.broadcast_to(truth, v.shape)).mean()


def accuracy_from(start, replicas, sweeps=1000, frames=256, seed=3):
    weights, visible_bias, hidden_bias = two_chord_rbm()
    truth = np.tile(frame(CHORD_A), (frames, 1))
    result = expected_accuracy(weights, np.tile(visible_bias, (frames, 1)), np.tile(hidden_bias, (frames, 1)),
                               np.tile(start, (frames, 1)), truth, chains=2, burn_in=sweeps, samples=200, seed=seed,
                               replicas=replicas)
    return result["accuracy"].mean(), result


def test_plain_gibbs_stays_where_it_starts_on_the_two_chord_rbm():
    from_a, _ = accuracy_from(frame(CHORD_A), replicas=1)
    from_b, _ = accuracy_from(frame(CHORD_B), replicas=1)
    assert from_a > 0.8 and from_b < 0.1  # the fixture is sharp: the diagnostic below can fail


def test_tempered_draws_do_not_depend_on_the_start_and_match_the_exact_distribution():
    exact = exact_expected_accuracy(*two_chord_rbm(), frame(CHORD_A))
    assert 0.3 < exact < 0.6  # both modes carry mass
    figures = {}
    starts = (("A", frame(CHORD_A)), ("B", frame(CHORD_B)), ("silence", np.zeros(KEYS, np.float32)))
    for seed, (name, start) in enumerate(starts):  # other random numbers for each start: no coupling
        figures[name], result = accuracy_from(start, replicas=12, seed=seed)
        assert result["swap_rate"].shape == (11,) and result["swap_rate"].min() > 0.05
    assert max(figures.values()) - min(figures.values()) < 0.03, figures
    for value in figures.values():
        assert value == pytest.approx(exact, abs=0.03)


def test_the_kernel_at_beta_zero_draws_the_base_exactly_and_holds_clamped_keys():
    weights, visible_bias, hidden_bias = two_chord_rbm()
    rows = 20_000
    base = np.linspace(-3, 3, KEYS).astype(np.float32)
    v = np.tile(frame(CHORD_A), (rows, 1))
    h_state, h_uniform = next_uniform(stream_states(tf.constant([rows, HIDDEN]), tf.constant(5, tf.uint32)))
    v_state, v_uniform = next_uniform(stream_states(tf.constant([rows, KEYS]), tf.constant(9, tf.uint32)))
    mask = np.zeros(KEYS, np.float32)
    mask[:3] = 1.0
    drawn, _, mean = gibbs_step(tf.constant(v), weights, visible_bias, hidden_bias, h_uniform, v_uniform, beta=0.0,
                                base_bias=base, clamp=(mask, frame([1])))
    drawn, mean = drawn.numpy(), mean.numpy()
    expected = 1 / (1 + np.exp(-base))
    np.testing.assert_allclose(mean[0, 3:], expected[3:], rtol=1e-5)
    np.testing.assert_allclose(drawn[:, 3:].mean(0), expected[3:], atol=0.015)  # about 4 standard errors
    assert (drawn[:, :3] == frame([1])[:3]).all() and (mean[:, :3] == frame([1])[:3]).all()


def test_the_ladder_runs_from_the_base_to_the_model():
    betas = ladder(8)
    assert betas[0] == 0 and betas[-1] == 1 and (np.diff(betas) > 0).all()
    assert ladder(1).tolist() == [1.0]
    with pytest.raises(ValueError):
        ladder(0)
