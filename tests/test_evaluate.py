import json
import shutil
from dataclasses import asdict

import numpy as np
import pytest

from pianorbm.model.accuracy import expected_accuracy, frame_accuracy, frame_counts, pooled_accuracy
from pianorbm.model.ais import exact_log_partition, log_partition
from pianorbm.model.bootstrap import bootstrap_interval, per_frame_mean
from pianorbm.model.compare import ComparisonError, compare_run_pairs, compare_runs, comparison_table
from pianorbm.model.config import EvaluateConfig, TrainConfig
from pianorbm.model.evaluate import evaluate_run
from pianorbm.model.evaluation_table import result_table
from pianorbm.model.floors import bernoulli_nll, copy_previous_accuracy
from pianorbm.model.run_folder import load_run_model
from pianorbm.model.train import train
from pianorbm.rolls.dataset import split_frames


@pytest.mark.parametrize("hidden", [3, 9, 16])
def test_ais_matches_the_exact_log_partition_function(hidden):
    rng = np.random.default_rng(hidden)
    weights = rng.normal(0, 0.4, (88, hidden)).astype(np.float32)
    bv = rng.normal(-2.5, 1.0, (8, 88)).astype(np.float32)
    bh = rng.normal(0, 1.0, (8, hidden)).astype(np.float32)
    exact = exact_log_partition(weights.astype(np.float64), bv.astype(np.float64), bh.astype(np.float64))
    estimate, error = log_partition(weights, bv, bh, chains=64, betas=1000, seed=1)
    assert np.all(np.abs(estimate - exact) < 0.03 + 4 * error), (estimate - exact, error)
    assert np.abs(estimate - exact).mean() < 0.05


def _exact_visible_marginals(weights, bv, bh):
    """p(v_i = 1) of small RBMs by summing over every hidden state."""
    hidden = weights.shape[1]
    states = ((np.arange(2 ** hidden)[:, None] >> np.arange(hidden)) & 1).astype(np.float64)
    terms = bh @ states.T + np.logaddexp(0, bv[:, None, :] + (states @ weights.T)[None]).sum(-1)  # (F, S)
    p_h = np.exp(terms - terms.max(1, keepdims=True))
    p_h /= p_h.sum(1, keepdims=True)
    return np.einsum("fs,fsv->fv", p_h, 1 / (1 + np.exp(-(bv[:, None, :] + (states @ weights.T)[None]))))


def test_a_base_model_near_the_target_needs_far_fewer_temperatures():
    """Sharp RBMs (strong weights): annealing from the visible biases alone is far off with 50
    temperatures; from the RBMs' visible marginals it is right, and any base stays unbiased."""
    rng = np.random.default_rng(7)
    weights = rng.normal(0, 1.5, (88, 12))
    bv, bh = rng.normal(-4.0, 1.0, (16, 88)), rng.normal(-3.0, 1.0, (16, 12))
    exact = exact_log_partition(weights, bv, bh)
    marginals = np.clip(_exact_visible_marginals(weights, bv, bh), 1e-4, 1 - 1e-4)
    rate_base = np.log(marginals / (1 - marginals))
    from_bias, _ = log_partition(weights, bv, bh, chains=16, betas=50, seed=3)
    from_rate, error = log_partition(weights, bv, bh, chains=16, betas=50, seed=3, base_bias=rate_base)
    assert (from_bias - exact).mean() < -0.5  # the old base: log Z far too low at this budget (measured -1.2)
    assert np.abs(from_rate - exact).mean() < 0.15 and abs((from_rate - exact).mean()) < 0.05  # measured 0.07, 0.02
    noisy_base = rate_base + rng.normal(0, 1.0, rate_base.shape)  # a poorer base: still unbiased, given time
    from_noisy, error = log_partition(weights, bv, bh, chains=64, betas=1000, seed=3, base_bias=noisy_base)
    assert np.abs(from_noisy - exact).mean() < 0.05


def _exact_samples(weights, bv, bh, rng):
    """One exact sample of each small RBM: h from its exact marginal, then v given h."""
    hidden = weights.shape[1]
    states = ((np.arange(2 ** hidden)[:, None] >> np.arange(hidden)) & 1).astype(np.float64)
    terms = bh @ states.T + np.logaddexp(0, bv[:, None, :] + (states @ weights.T)[None]).sum(-1)
    p_h = np.exp(terms - terms.max(1, keepdims=True))
    p_h /= p_h.sum(1, keepdims=True)
    h = states[[rng.choice(len(states), p=row) for row in p_h]]
    return (rng.random(bv.shape) < 1 / (1 + np.exp(-(bv + h @ weights.T)))).astype(np.float64)


def test_reverse_ais_reads_high_where_ais_reads_low_and_both_meet_the_exact_value():
    """Sharp RBMs, each scored on an exact sample of itself: with a short schedule AIS's log Z is far
    too low and reverse AIS's far too high; with a long one both are right."""
    rng = np.random.default_rng(7)
    weights = rng.normal(0, 1.5, (88, 12))
    bv, bh = rng.normal(-4.0, 1.0, (16, 88)), rng.normal(-3.0, 1.0, (16, 12))
    exact = exact_log_partition(weights, bv, bh)
    data = _exact_samples(weights, bv, bh, rng)
    forward, _ = log_partition(weights, bv, bh, chains=16, betas=50, seed=3)
    reverse, _ = log_partition(weights, bv, bh, chains=16, betas=50, seed=3, data=data)
    assert (forward - exact).mean() < -0.5 and (reverse - exact).mean() > 0.5  # measured -1.20, +1.25
    forward, _ = log_partition(weights, bv, bh, chains=16, betas=1000, seed=3)
    reverse, _ = log_partition(weights, bv, bh, chains=16, betas=1000, seed=3, data=data)
    assert abs((forward - exact).mean()) < 0.05 and abs((reverse - exact).mean()) < 0.08  # measured -0.01, +0.03


def test_frame_accuracy_counts():
    truth = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]])
    predicted = np.array([[1, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    assert frame_counts(predicted, truth).tolist() == [[1, 0, 1], [2, 1, 0], [0, 0, 0], [0, 0, 1]]
    assert frame_accuracy(predicted, truth).tolist() == pytest.approx([0.5, 2 / 3, 1.0, 0.0])
    assert pooled_accuracy(*frame_counts(predicted, truth).sum(0)) == pytest.approx(3 / 6)


def test_the_independent_keys_floor_on_jsb_test_uses_the_train_split_only(jsb_records):
    from pianorbm.rolls.records import key_frequencies, load_info

    frames, _ = split_frames(jsb_records, "test")
    info = load_info(jsb_records)
    assert bernoulli_nll(frames, key_frequencies(info, "train")).mean() == pytest.approx(11.06, abs=0.01)
    everything = sum(np.array(info["pitch_histograms"][s]) for s in ("train", "valid", "test"))
    leaky = everything / info["splits"]["train"]["frames"]  # the old, leaking statistic
    assert bernoulli_nll(frames, leaky).mean() == pytest.approx(11.97, abs=0.01)


@pytest.mark.parametrize("replicas", [1, 8])
def test_expected_accuracy_is_one_for_the_truth_and_zero_for_silence(jsb_records, replicas):
    frames, lengths = split_frames(jsb_records, "test")
    frames = frames[:1000]
    weights = np.zeros((88, 4), np.float32)
    hidden_bias = np.zeros((len(frames), 4), np.float32)
    previous = np.zeros_like(frames)
    draw = lambda bias, chains, samples: expected_accuracy(  # noqa: E731
        weights, bias, hidden_bias, previous, frames, chains=chains, burn_in=1, samples=samples, seed=0,
        replicas=replicas)
    certain = np.where(frames > 0, 30.0, -30.0).astype(np.float32)  # an RBM that puts all mass on the truth
    truth = draw(certain, 2, 3)
    assert truth["accuracy"].tolist() == [1.0] * len(frames) and truth["counts"][:, 1:].sum() == 0
    np.testing.assert_allclose(truth["key_probability"], frames, atol=1e-9)  # averaged conditional means
    assert np.array_equal(truth["draw_frequency"], frames)
    silence = draw(np.full_like(certain, -30.0), 2, 3)
    sounding = frames.any(1)
    assert silence["accuracy"][sounding].max() == 0.0 and silence["accuracy"][~sounding].min() == 1.0
    assert silence["counts"][:, 0].sum() == 0 and silence["key_probability"].max() < 1e-9
    coin = draw(np.zeros_like(certain), 4, 8)  # every key a fair coin: ACC well below 1, above 0
    assert 0.02 < coin["accuracy"].mean() < 0.1
    np.testing.assert_allclose(coin["key_probability"], 0.5)  # exact: the means, not the draws
    assert abs(coin["draw_frequency"].mean() - 0.5) < 0.01
    assert coin["swap_rate"].shape == (replicas - 1,)


def test_copy_previous_floor_on_jsb_test(jsb_records):
    frames, lengths = split_frames(jsb_records, "test")
    accuracy, counts = copy_previous_accuracy(frames, lengths)
    assert len(accuracy) == 4725 and 0.2 < accuracy.mean() < 0.35
    assert pooled_accuracy(*counts.sum(0)) < accuracy.mean()  # long held chords weigh more when pooled


def test_bootstrap_interval_over_pieces():
    lengths = [10] * 50
    values = np.concatenate([np.full(10, float(i % 5)) for i in range(50)])
    figure = per_frame_mean(values, lengths)
    low, high = figure["ci95"]
    assert figure["mean"] == pytest.approx(2.0)
    assert low < figure["mean"] < high and high - low < 1.0
    assert bootstrap_interval(np.full(20, 3.0), np.full(20, 1.0)) == (3.0, 3.0)  # identical pieces: no spread


def test_versions_of_one_song_are_resampled_together():
    """Ten songs of five identical versions each: drawn piece by piece the fifty look independent and
    the interval is too narrow; drawn by song it is the interval of the ten songs."""
    rng = np.random.default_rng(1)
    song_values = rng.normal(5.0, 1.0, 10)
    lengths = [20] * 50
    values = np.repeat(np.repeat(song_values, 5), 20)
    groups = np.repeat([f"song{i}" for i in range(10)], 5)
    by_piece = per_frame_mean(values, lengths)["ci95"]
    by_song = per_frame_mean(values, lengths, groups=groups)["ci95"]
    assert by_song[1] - by_song[0] > 1.5 * (by_piece[1] - by_piece[0])
    assert by_song == pytest.approx(per_frame_mean(np.repeat(song_values, 100), [100] * 10)["ci95"])


@pytest.fixture(scope="module")
def small_run(jsb_records, tmp_path_factory):
    run = tmp_path_factory.mktemp("eval") / "run"
    train(jsb_records, run, TrainConfig(hidden=24, recurrent=8, k=3, batch_size=16, seq_len=16, epochs=1,
                                        image_every=0), log=lambda *_: None)
    return run


def _independent_keys_model(run, records):
    """The run's model with every weight zeroed and the visible biases at the train split's key
    frequencies: each frame's probability is the independent keys', exactly. Returns it and them."""
    model = load_run_model(run)
    for layer in (model.rbm.W, model.to_visible_bias.kernel, model.to_hidden_bias.kernel):
        layer.assign(np.zeros(layer.shape, np.float32))
    info = json.loads((records / "dataset.json").read_text())
    frequencies = np.array(info["pitch_histograms"]["train"]) / info["splits"]["train"]["frames"]
    model.set_visible_bias_from_frequencies(frequencies)
    return model, frequencies


def test_zero_weights_give_the_independent_bernoulli_likelihood(small_run, jsb_records, tmp_path):
    model, frequencies = _independent_keys_model(small_run, jsb_records)
    zero_run = tmp_path / "zero"
    zero_run.mkdir()
    for name in ("model.json", "data.json", "train.json"):
        (zero_run / name).write_text((small_run / name).read_text())
    model.save_weights(zero_run / "best.weights.h5")
    result = evaluate_run(zero_run, None, EvaluateConfig(split="valid", ais_chains=4, ais_betas=20, accuracy_chains=2, accuracy_burn_in=5, accuracy_samples=5))
    assert result["nll"] == pytest.approx(result["bernoulli_nll"], abs=2e-3)
    assert result["nll_standard_error"] < 1e-6  # with W = 0 every AIS weight is exact
    assert 10 < result["nll"] < 13  # the published independent baseline is about 11


def test_evaluation_is_reproducible_after_reload(small_run):
    config = EvaluateConfig(split="valid", ais_chains=4, ais_betas=50, accuracy_chains=2, accuracy_burn_in=5,
                            accuracy_samples=5)
    first = evaluate_run(small_run, None, config)
    second = evaluate_run(small_run, None, config)
    for key in ("nll", "nll_standard_error", "accuracy", "frames", "bernoulli_nll"):
        assert first[key] == second[key], key
    assert first["frames"] == 4602 and first["benchmark"] == "jsb"
    assert (small_run / "eval-valid.json").exists()
    state = json.loads((small_run / "state.json").read_text())
    assert first["trained"] == {"epoch": state["epoch"], "finished": state["finished"],
                                "weights_epoch": state["best_epoch"]}
    assert first["nll"] < first["bernoulli_nll"] + 1  # a trained model is not far worse than independent keys
    for figure in (first, first["floors"]["previous_frame"], first["floors"]["independent_keys"]):
        assert figure["nll_ci95"][0] < figure["nll"] < figure["nll_ci95"][1]
        assert figure["accuracy_ci95"][0] <= figure["accuracy"] <= figure["accuracy_ci95"][1]
        assert 0 <= figure["accuracy_pooled"] <= 1
    assert first["floors"]["independent_keys"]["nll"] == pytest.approx(first["bernoulli_nll"])
    assert first["nll_reverse_ci95"][0] < first["nll_reverse"] < first["nll_reverse_ci95"][1]
    low, high = first["accuracy_likely_keys_ci95"]
    assert low <= first["accuracy_likely_keys"] <= high
    # each accuracy beside its like-for-like floor, paired over pieces: the mean difference lies in its
    # interval, which is no wider than the two unpaired ones together (sd(a - b) <= sd(a) + sd(b); 5 % for
    # the bootstrap's quantile noise)
    floor = first["floors"]["previous_frame"]
    for over, mine, theirs in ((first["over_markov_floor"], "accuracy", "accuracy_sampled"),
                               (first["over_copy_floor"], "accuracy_likely_keys", "accuracy")):
        name = "accuracy" if mine == "accuracy" else mine
        assert over[name + "_ci95"][0] <= over[name] <= over[name + "_ci95"][1]
        widths = [np.diff(figure)[0] for figure in (over[name + "_ci95"], first[mine + "_ci95"],
                                                     floor[theirs + "_ci95"])]
        assert widths[0] <= 1.05 * (widths[1] + widths[2])
    # a barely trained model: its draws lose to the sampled Markov keys, its likely keys to copying
    assert first["over_markov_floor"]["accuracy_ci95"][1] < 0
    assert first["over_copy_floor"]["accuracy_likely_keys_ci95"][1] < 0
    assert floor["accuracy_sampled"] < floor["accuracy"]  # sampling the Markov keys costs against copying
    assert first["nll_bracket_gap"] == pytest.approx(first["nll_reverse"] - first["nll"], abs=1e-9)
    assert -0.05 < first["nll_bracket_gap"] < 1.0  # the bracket holds on a barely trained model
    assert first["nll_by_position"]["frames_1_100"]["frames"] + \
        first["nll_by_position"]["frames_101_on"]["frames"] == first["frames"]
    table = result_table(first)
    assert "floor: previous frame" in table and "floor: independent keys" in table and "6.27" in table
    assert "reverse AIS" in table


def test_evaluating_the_first_pieces_scores_the_first_by_name_whatever_the_shard_layout(small_run, jsb_records,
                                                                                         tmp_path):
    config = EvaluateConfig(split="valid", ais_chains=4, ais_betas=20, accuracy_chains=2, accuracy_burn_in=5,
                            accuracy_samples=5, pieces=5, batch_size=3)  # the cut falls inside a batch
    result = evaluate_run(small_run, None, config)
    info = json.loads((jsb_records / "dataset.json").read_text())
    valid = sorted((p["piece"], p["frames"]) for p in info["pieces"] if p["split"] == "valid")
    assert result["sequences"] == 5 and result["sequences_in_split"] == len(valid) > 5
    assert sorted(result["pieces_scored"]) == [name for name, _ in valid[:5]]
    assert result["frames"] == sum(frames for _, frames in valid[:5])
    assert "(the first by name of" in result_table(result)
    # other shards put other pieces first in the records' order; the pieces scored stay the same
    from pianorbm.rolls.build_records import build_records
    from pianorbm.rolls.records_config import RecordsConfig

    reshard = tmp_path / "five-shards"
    build_records(reshard, RecordsConfig(shards=5), pickle_path=jsb_records / info["source"]["path"])
    _, layout_lengths = split_frames(reshard, "valid")
    _, lengths = split_frames(jsb_records, "valid")
    assert layout_lengths[:5] != lengths[:5]  # the layouts do differ
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("model.json", "data.json", "train.json", "best.weights.h5"):
        shutil.copy(small_run / name, copy / name)
    again = evaluate_run(copy, reshard, EvaluateConfig(**{**asdict(config), "batch_size": 16}))
    assert again["pieces_scored"] != result["pieces_scored"]  # listed in the other layout's order
    assert sorted(again["pieces_scored"]) == sorted(result["pieces_scored"]) and again["frames"] == result["frames"]
    assert again["floors"]["previous_frame"]["nll"] == pytest.approx(result["floors"]["previous_frame"]["nll"])
    # compare pairs the two frame by frame, piece by piece: the same weights differ by AIS noise only
    difference = compare_runs(small_run, copy, "valid")
    low, high = difference["nll"]["ci95"]
    assert high - low < 0.1 * (result["nll_ci95"][1] - result["nll_ci95"][0])


def test_two_runs_compare_frame_by_frame_on_the_same_pieces_only(small_run, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    for name in ("model.json", "data.json", "train.json", "best.weights.h5"):
        shutil.copy(small_run / name, other / name)
    config = dict(split="valid", ais_chains=4, ais_betas=20, accuracy_chains=2, accuracy_burn_in=5,
                  accuracy_samples=5, pieces=5)
    a = evaluate_run(small_run, None, EvaluateConfig(**config))
    b = evaluate_run(other, None, EvaluateConfig(**config, seed=1))  # same weights, other AIS and Gibbs draws
    difference = compare_runs(small_run, other, "valid")
    assert difference["frames"] == a["frames"] and difference["pieces"] == 5
    for figure in ("nll", "nll_reverse", "accuracy", "accuracy_likely_keys"):
        assert difference[figure]["mean"] == pytest.approx(a[figure] - b[figure], abs=1e-6), figure
        low, high = difference[figure]["ci95"]
        assert low <= difference[figure]["mean"] <= high
    # the same weights: the NLLs differ only by the AIS noise, far less than the spread over pieces
    assert abs(difference["nll"]["mean"]) < 0.1 * (a["nll_ci95"][1] - a["nll_ci95"][0])
    itself = compare_runs(small_run, small_run, "valid")
    assert itself["nll"] == {"mean": 0.0, "ci95": [0.0, 0.0]}
    assert "no clear difference" in comparison_table(itself, "a", "b")
    # averaged over pairs (one per seed): a pair and its reverse cancel; a pair twice is the pair
    assert compare_run_pairs([(small_run, other), (other, small_run)], "valid")["nll"] == {"mean": 0.0,
                                                                                           "ci95": [0.0, 0.0]}
    twice = compare_run_pairs([(small_run, other), (small_run, other)], "valid")
    assert twice["pairs"] == 2 and twice["nll"]["mean"] == pytest.approx(difference["nll"]["mean"])
    evaluate_run(other, None, EvaluateConfig(**{**config, "pieces": 6}))
    with pytest.raises(ComparisonError, match="different pieces"):
        compare_runs(small_run, other, "valid")
    with pytest.raises(ComparisonError, match="different pieces"):
        compare_run_pairs([(small_run, small_run), (other, other)], "valid")
    with pytest.raises(ComparisonError, match="pianorbm evaluate"):
        compare_runs(small_run, other, "test")
    from click.testing import CliRunner

    from pianorbm.cli import main

    same = CliRunner().invoke(main, ["compare", str(small_run), str(small_run), "--split", "valid"])
    assert same.exit_code == 0 and "nll" in same.output and "no clear difference" in same.output
    refused = CliRunner().invoke(main, ["compare", str(small_run), str(other), "--split", "valid"])
    assert refused.exit_code == 1 and "different pieces" in refused.output


def test_the_validation_nll_scores_frames_spread_over_the_whole_split(small_run, jsb_records):
    from pianorbm.model.likelihood import ValidationNll, validation_nll

    model, frequencies = _independent_keys_model(small_run, jsb_records)
    frames, _ = split_frames(jsb_records, "valid")
    spread = ValidationNll(reverse=True, chains=2, betas=20, frames=300, spread=True, train_frames_between=1)
    # without weights each frame's probability is exact under reverse AIS too: the figure is the independent keys'
    # NLL of exactly the frames picked, evenly spaced from the first valid frame to the last
    expected = bernoulli_nll(frames[np.linspace(0, len(frames) - 1, 300).astype(int)], frequencies).mean()
    assert validation_nll(model, jsb_records, spread) == pytest.approx(expected, abs=1e-3)
    first = bernoulli_nll(frames[:300], frequencies).mean()
    assert abs(first - expected) > 0.01  # the first 300 frames would have given another figure


def test_evaluating_the_latest_weights_says_they_are_not_the_average(small_run):
    from click.testing import CliRunner

    from pianorbm.cli import main

    result = CliRunner().invoke(main, ["evaluate", str(small_run), "--split", "valid", "--weights", "latest",
                                       "--pieces", "2", "--ais-chains", "2", "--ais-betas", "10",
                                       "--accuracy-burn-in", "1", "--accuracy-samples", "1", "--no-reverse-ais"])
    assert result.exit_code == 0, result.output
    assert "scoring the latest checkpoint's raw weights, not the moving average" in result.output
    assert json.loads((small_run / "eval-valid.json").read_text())["trained"]["weights_epoch"] == \
        json.loads((small_run / "state.json").read_text())["epoch"]
