"""Holding back what native libraries print to the process's stderr (file descriptor 2).

TensorFlow's C++ start-up lines (CUDA probing, oneDNN, CPU features) are written before its
logging settings apply, so only redirecting the descriptor keeps them off a user's terminal.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager


@contextmanager
def stderr_held_back():
    """Sends fd 2 to a temporary file for the block; shows what was held back if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                sink.seek(0)
                sys.stderr.write(sink.read().decode(errors="replace"))


def import_tensorflow(quiet: bool | None = None):
    """TensorFlow, imported with its C++ start-up lines (CUDA probing, oneDNN, CPU features) held back
    and shown only if the import fails. ``quiet`` None: held back unless the user asked for them by
    setting TF_CPP_MIN_LOG_LEVEL (0 shows everything); a TensorFlow imported already is returned as is."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if quiet is False or (quiet is None and "TF_CPP_MIN_LOG_LEVEL" in os.environ):
        import tensorflow

        return tensorflow
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with stderr_held_back():
        import tensorflow

        tensorflow.config.list_physical_devices()  # the GPU probe logs too
    return tensorflow


def __getattr__(name: str):
    """``from pianorbm.common.quiet import tf, keras``: how pianorbm's modules import TensorFlow and Keras,
    so that whichever comes first, its start-up lines are held back (see import_tensorflow)."""
    if name == "tf":
        return import_tensorflow()
    if name == "keras":
        import_tensorflow()
        import keras

        return keras
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
