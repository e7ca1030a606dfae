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
