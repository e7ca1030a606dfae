"""Audio through FluidSynth (skipped where it is not installed; .ci/run installs it)."""

import wave

import numpy as np
import pytest

from pianorbm.rolls.audio import AudioUnavailable, find_synthesiser, render
from pianorbm.rolls.pianoroll import roll_to_midi


def _synthesiser():
    try:
        return find_synthesiser()
    except AudioUnavailable as err:
        pytest.skip(str(err))


def test_one_note_renders_with_energy_at_its_fundamental(tmp_path):
    synthesiser = _synthesiser()
    roll = np.zeros((8, 88), bool)
    roll[:, 69 - 21] = True  # A4, 440 Hz, two seconds at 120 qpm
    roll_to_midi(roll, steps_per_quarter=2).save(tmp_path / "a4.mid")
    render(synthesiser, tmp_path / "a4.mid", tmp_path / "a4.wav")
    with wave.open(str(tmp_path / "a4.wav")) as audio:
        rate, channels = audio.getframerate(), audio.getnchannels()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), np.int16).reshape(-1, channels).mean(1)
    assert len(samples) > rate  # at least a second of sound
    spectrum = np.abs(np.fft.rfft(samples[: rate]))
    frequencies = np.fft.rfftfreq(rate, 1 / rate)
    audible = (frequencies > 50) & (frequencies < 5000)
    peak = frequencies[audible][np.argmax(spectrum[audible])]
    assert abs(peak - 440) < 5 or abs(peak - 880) < 10, peak  # the fundamental (or its octave) dominates
    near = spectrum[(frequencies > 430) & (frequencies < 450)].max()
    assert near > 20 * np.median(spectrum[audible])


def test_a_missing_soundfont_is_one_clear_line(tmp_path):
    with pytest.raises(AudioUnavailable, match="no audio: "):
        try:
            find_synthesiser(str(tmp_path / "none.sf2"))
        except AudioUnavailable as err:
            assert "\n" not in str(err)
            raise
