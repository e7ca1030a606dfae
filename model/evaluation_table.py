"""An evaluation (``eval-<split>.json``, see model.evaluate) as the text table ``pianorbm evaluate`` prints."""

from __future__ import annotations

from pianorbm.model.evaluate import PUBLISHED_BERNOULLI


def _interval(figure: dict, name: str, scale: float = 1.0, digits: int = 2) -> str:
    low, high = figure.get(f"{name}_ci95", [float("nan")] * 2)
    return f"[{scale * low:.{digits}f}, {scale * high:.{digits}f}]"


def result_table(result: dict) -> str:
    """The evaluation as a text table: this run, the two floors, the published figures."""
    header = f"{'model':<36} {'NLL/step':>8} {'95 % CI':>16} {'accuracy':>9} {'95 % CI':>14} {'pooled':>7}"
    lines = [header, "-" * len(header)]

    def row(name: str, figure: dict) -> str:
        nll = f"{figure['nll']:>8.3f} {_interval(figure, 'nll', digits=3):>16}" if "nll" in figure else " " * 25
        return (f"{name:<36} {nll} {100 * figure['accuracy']:>8.1f}% {_interval(figure, 'accuracy', 100, 1):>14} "
                f"{100 * figure['accuracy_pooled']:>6.1f}%")

    lines.append(row("this run", result))
    markov = result["floors"]["previous_frame"].get("accuracy_sampled")
    over = result.get("over_markov_floor")
    if markov is not None and over:
        lines.append(f"{'floor: Markov keys, sampled':<36} {'':>25} {100 * markov:>8.1f}% "
                     f"{_interval(result['floors']['previous_frame'], 'accuracy_sampled', 100, 1):>14}")
        lines.append(f"{'  this run minus it':<36} {'':>25} {100 * over['accuracy']:>+8.1f}% "
                     f"{_interval(over, 'accuracy', 100, 1):>14}   (sampled against sampled, paired over pieces)")
    if "accuracy_likely_keys" in result:
        lines.append(f"{'this run, keys with p > 1/2':<36} {'':>25} {100 * result['accuracy_likely_keys']:>8.1f}% "
                     f"{_interval(result, 'accuracy_likely_keys', 100, 1):>14}   (deterministic)")
        copy = result["floors"]["previous_frame"]
        lines.append(f"{'floor: copy the previous frame':<36} {'':>25} {100 * copy['accuracy']:>8.1f}% "
                     f"{_interval(copy, 'accuracy', 100, 1):>14}   (deterministic)")
    over = result.get("over_copy_floor")
    if over:
        lines.append(f"{'  this run minus it':<36} {'':>25} {100 * over['accuracy_likely_keys']:>+8.1f}% "
                     f"{_interval(over, 'accuracy_likely_keys', 100, 1):>14}   (deterministic against deterministic, "
                     "paired over pieces)")
    if "nll_reverse" in result:
        lines.append(f"{'this run, reverse AIS (reads high)':<36} {result['nll_reverse']:>8.3f} "
                     f"{_interval(result, 'nll_reverse', digits=3):>16}   (AIS reads low: the NLL lies between)")
    lines.append(row("floor: previous frame (Markov keys)", result["floors"]["previous_frame"])
                 + "   (accuracy: copy the previous frame)")
    lines.append(row("floor: independent keys", result["floors"]["independent_keys"]))
    for name, value in result["published"].items():
        accuracy = result.get("published_accuracy", {}).get(name)
        lines.append(f"{name + ' (published)':<36} {value:>8.2f} {'':>16}"
                     + (f" {100 * accuracy:>8.1f}%   (accuracy: protocol not stated)" if accuracy else ""))
    if result["published"]:
        lines.append(f"{'independent keys (published)':<36} {'~' + str(PUBLISHED_BERNOULLI):>8}")
    positions = result.get("nll_by_position", {})
    for name, label in (("frames_1_100", "frames 1-100"), ("frames_101_on", "frames 101 on")):
        part = positions.get(name, {})
        if part.get("frames"):
            lines.append(f"{'this run, ' + label + ' of each piece':<36} {part['nll']:>8.3f} "
                         f"{_interval(part, 'nll', digits=3):>16}   ({part['frames']:,} frames of {part['pieces']} pieces)")
    subset = result.get("sequences_in_split") or result["sequences"]
    of = f" (the first by name of {subset})" if subset > result["sequences"] else ""
    lines.append(f"{result['frames']:,} frames of {result['sequences']} sequences{of}, split {result['split']}, "
                 f"{result['seconds']} s; AIS error of the NLL +-{result['nll_standard_error']:.3f}; "
                 f"accuracy: expected per time step from the {result['settings'].get('accuracy_sampler', 'gibbs')} "
                 "sampler, pooled: Bay et al."
                 + (f"; tempering swap rates {min(result['swap_rate']):.2f}-{max(result['swap_rate']):.2f}"
                    if result.get("swap_rate") else ""))
    return "\n".join(lines)
