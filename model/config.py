"""The settings of ``train``, ``sample`` and ``evaluate``, declared once (see common.settings).

Nothing here imports TensorFlow: settings are checked before any model is built.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from pianorbm.common.settings import SettingsError, check_settings, parse_pitches, setting
from pianorbm.rolls.audio import soundfont_problem

CELLS = ("rnn", "gru", "lstm")
SAMPLE_MODES = ("sample", "mean", "argmax", "top-n")
FEEDBACK = ("sample", "emitted")
SAMPLERS = ("tempered", "gibbs")  # model.tempering; the first is the default
SWEEPS_PER_FRAME = {"tempered": 100, "gibbs": 25}  # generation's default k (docs/sampling.md)
AUDIO_CHOICES = ("flac", "wav", "ogg", "none")
WEIGHTS = ("best", "latest")
DISTRIBUTE = ("none", "mirrored", "multi-worker")
SPLITS = ("train", "valid", "test")
DEFAULT_SAMPLE_STEPS = 256
# dropout by corpus size: it regularises a small corpus and blurs a large one (docs/recipe.md)
SMALL_CORPUS_DROPOUT, LARGE_CORPUS_FRAMES = 0.3, 500_000


def corpus_dropout(train_frames: int) -> float:
    """The default dropout for a train split of ``train_frames`` frames."""
    return SMALL_CORPUS_DROPOUT if train_frames < LARGE_CORPUS_FRAMES else 0.0


@dataclass(frozen=True)
class TrainConfig:
    """How ``pianorbm train`` builds and fits the model."""

    cell: str = setting("gru", "Conditioner: the paper's tanh RNN, a GRU or an LSTM.", choices=CELLS)
    hidden: int = setting(150, "RBM hidden units.", low=1)
    recurrent: int = setting(100, "Recurrent units.", low=1)
    k: int = setting(15, "Gibbs steps of CD-k.", low=1)
    sampler: str = setting("xorshift", "Random numbers for the Gibbs chains: fast per-unit xorshift streams, or "
                                       "exact Philox.", choices=("xorshift", "philox"))
    optimizer: str = setting("adam", "Optimizer.", choices=("adam", "sgd"))
    learning_rate: float = setting(1e-3, "Learning rate.", low=0, low_open=True)
    dropout: float | None = setting(None, "Dropout on the frames entering the conditioner, in training only [by "
                                          "the corpus: 0.3 below 500,000 training frames, else 0; why: "
                                          "docs/recipe.md].", low=0, high=0.9)
    lr_decay: float = setting(1.0, "Learning-rate factor per epoch.", low=0, high=1, low_open=True)
    lr_halve_after: int = setting(0, "Halve the learning rate after this many validations without a better figure, "
                                     "and again after as many more (0: never); --patience still stops the run.",
                                  low=0)
    weight_average_frames: int = setting(200_000, "Validate, keep as best and picture an exponential moving average "
                                                  "of the weights with this time constant in training frames (0: the "
                                                  "weights themselves; what it gains: docs/recipe.md).", low=0)
    epochs: int = setting(5000, "Most epochs: a safety bound; --patience ends a run first (where the benchmark runs "
                                "stopped: docs/results.md).", low=1)
    batching: str = setting("pieces", "pieces: whole pieces batched by length, each trained chunk by chunk of "
                                      "--seq-len frames with the recurrent state carried across chunks (as evaluation "
                                      "runs them); windows: random windows of --seq-len frames, each from the initial "
                                      "state (the earlier recipe).", choices=("pieces", "windows"))
    batch_size: int = setting(8, "Pieces (or windows) per batch, at --seq-len frames; buckets of shorter pieces hold "
                                  "proportionally more.", low=1)
    seq_len: int = setting(100, "Frames per chunk of truncated backpropagation (pieces) or per window.", low=2)
    pad_windows: bool = setting(True, "With --batching windows: train on every frame; short pieces and piece ends "
                                      "become zero-padded, masked windows (otherwise they are left out).")
    pretrain_epochs: int = setting(0, "Epochs of CD on the RBM alone (frames as independent) before the whole model "
                                      "trains.", low=0)
    validation: str = setting("reverse", "How the validation NLL that keeps the best weights and stops training is "
                                         "estimated: reverse: reverse AIS, 2 chains x 16,000 temperatures, on 125 "
                                         "frames spread over the valid split (reads high, by an amount that barely "
                                         "moves as the model sharpens; ~6 s here), about every 1,500,000 training "
                                         "frames; quick: AIS, 8 x 100, on the first 2,500 frames, about every 50,000 "
                                         "(the earlier recipe; reads lower and lower as the model sharpens, so on "
                                         "sharp models it never stops).", choices=("reverse", "quick"))
    validation_frames: int | None = setting(None, "Validation frames the validation NLL scores [by --validation: 125 "
                                                  "for reverse, 2,500 for quick].", low=1)
    validation_nll_every: int | None = setting(
        None, "Epochs between validation NLLs [by --validation]; they pick the best weights and drive early "
              "stopping (0: never; then the reconstruction monitor does, every epoch).", low=0)
    seed: int = setting(0, "Random seed (weights, data order, Gibbs chains).")
    patience: int = setting(3, "Stop after this many validations without a better figure (0: never); with the "
                               "default schedule about 4.5 million training frames (why: docs/validation-schedule.md).",
                            low=0)
    checkpoint_every: int = setting(100, "Batches between checkpoints (one is always taken per epoch; 0: per epoch "
                                         "only).", low=0)
    image_every: int = setting(5, "Epochs between sample pictures (0: none).", low=0)
    mixed_precision: bool = setting(False, "float16 conditioner (for GPUs); the RBM stays float32.")
    init_visible_bias: bool = setting(True, "Start the visible biases at the logits of the keys' frequencies in the "
                                            "training split.")
    distribute: str = setting("none", "Devices: none (one device; TensorFlow's default, a GPU when there is one), "
                                      "mirrored (every local GPU, or CPU device), multi-worker (the machines in "
                                      "TF_CONFIG). --batch-size stays the global batch; may change between runs "
                                      "of one training.", choices=DISTRIBUTE)

    def __post_init__(self):
        check_settings(self)
        if self.distribute != "none" and self.batching != "pieces":
            raise SettingsError("distribute", self.distribute, "needs --batching pieces (the default)")
        if self.distribute != "none" and self.pretrain_epochs:
            raise SettingsError("distribute", self.distribute, "runs without --pretrain-epochs (pretrain on one device, "
                                "then resume distributed)")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SampleConfig:
    """What ``pianorbm sample`` generates and writes."""

    num_outputs: int = setting(8, "Pieces generated in parallel.", low=1, short="-n")
    steps: int | None = setting(None, f"Length in frames [{DEFAULT_SAMPLE_STEPS}].", low=1)
    bars: float | None = setting(None, "Length in 4/4 bars.", low=0, low_open=True)
    seconds: float | None = setting(None, "Length in seconds.", low=0, low_open=True)
    sampler: str = setting("tempered", "How each frame is drawn from the model: tempered: parallel tempering, whose "
                                       "draws do not depend on the chain's start; gibbs: plain block Gibbs sampling "
                                       "from the previous frame (the paper's), which on a sharp model stays near it.",
                           choices=SAMPLERS)
    replicas: int = setting(8, "Temperatures of the tempered sampler.", low=2)
    k: int | None = setting(None, "Sweeps per frame, each a Gibbs step of every replica [100 tempered, 25 gibbs].",
                            low=1)
    mode: str = setting("sample", "What is written out of each frame: sample: the Bernoulli sample (the paper); "
                                  "mean: keys above --threshold; argmax: the most probable key only; top-n: the "
                                  "--top-n most probable keys.", choices=SAMPLE_MODES)
    feedback: str = setting("sample", "What the model follows: sample: its own Bernoulli sample, whatever is written "
                                      "(the seed experiment's way); emitted: the written frame.", choices=FEEDBACK)
    threshold: float | None = setting(None, "Lowest key probability emitted [0.5 for mean, 0 for argmax and top-n].",
                                      low=0, high=1)
    top_n: int = setting(3, "Keys per frame in top-n mode.", low=1)
    temperature: float = setting(1.0, "Divides the RBM energies: above 1 more random, below 1 more conservative.",
                                 low=0, low_open=True)
    qpm: float = setting(120.0, "Tempo of the MIDI files (quarter notes per minute).", low=1)
    reattack: bool = setting(False, "Every active frame is a new note (default: held notes).")
    seed: int = setting(0, "Random seed.")
    primer: str | None = setting(None, "A MIDI file whose first --primer-steps frames start every output.",
                                 metavar="MIDI")
    primer_steps: int = setting(16, "Frames of --primer used.", low=1)
    primer_pitches: tuple[int, ...] | None = setting(None, "A first frame of these MIDI pitches, e.g. 60,64,67.",
                                                     parse=parse_pitches, metavar="PITCHES")
    weights: str = setting("best", "Weights of the run: the best by validation (the moving average of the "
                                   "weights), or the latest checkpoint's raw weights.", choices=WEIGHTS)
    audio: str = setting("flac", "Audio beside each MIDI file, rendered by FluidSynth (none: no audio).",
                         choices=AUDIO_CHOICES)
    soundfont: str | None = setting(None, "General MIDI SoundFont for the audio [$PIANORBM_SOUNDFONT, else the "
                                          "system's default-GM.sf2].", metavar="SF2")

    def __post_init__(self):
        check_settings(self)
        lengths = [name for name in ("steps", "bars", "seconds") if getattr(self, name) is not None]
        if len(lengths) > 1:
            raise SettingsError(lengths[1], getattr(self, lengths[1]), f"give one of steps, bars, seconds "
                                                                       f"({lengths[0]} is given too)")
        if self.primer is not None and self.primer_pitches is not None:
            raise SettingsError("primer_pitches", self.primer_pitches, "give primer or primer_pitches, not both")
        if self.primer is not None and not Path(self.primer).expanduser().is_file():
            raise SettingsError("primer", self.primer, "a MIDI file that exists")
        if self.soundfont is not None and (problem := soundfont_problem(self.soundfont)):
            raise SettingsError("soundfont", self.soundfont, f"a SoundFont file (.sf2) that exists: {problem}")


@dataclass(frozen=True)
class EvaluateConfig:
    """How ``pianorbm evaluate`` measures a run."""

    split: str = setting("test", "Split to evaluate.", choices=SPLITS)
    ais_chains: int = setting(16, "AIS chains per frame.", low=2)
    ais_betas: int = setting(500, "AIS inverse temperatures.", low=3)
    reverse_ais: bool = setting(True, "Also estimate the NLL by reverse AIS (RAISE), which errs high where AIS errs "
                                      "low: the two bracket the NLL. Doubles the AIS time.")
    accuracy_sampler: str = setting("tempered", "Sampler of p(v_t | v_<t) for the accuracies: tempered: parallel "
                                                "tempering, whose draws do not depend on the chain's start; gibbs: "
                                                "plain block Gibbs (the paper's), which on sharp models does.",
                                    choices=SAMPLERS)
    accuracy_replicas: int = setting(8, "Temperatures of the tempered sampler.", low=2)
    accuracy_chains: int = setting(2, "Chains per frame for the accuracies.", low=1)
    accuracy_burn_in: int = setting(1000, "Sweeps each chain runs before its samples count (from the true frame "
                                          "before).", low=0)
    accuracy_samples: int = setting(100, "Samples each chain contributes (one per further sweep).", low=1)
    seed: int = setting(0, "Random seed.")
    batch_size: int = setting(16, "Sequences per batch when running the conditioner.", low=1)
    pieces: int | None = setting(None, "Evaluate only the first N pieces of the split by name (the same pieces "
                                       "whatever the shard layout), e.g. to afford a long AIS schedule.", low=1)
    weights: str = setting("best", "Weights of the run: the best by validation (the moving average of the "
                                   "weights), or the latest checkpoint's raw weights.", choices=WEIGHTS)

    def __post_init__(self):
        check_settings(self)
