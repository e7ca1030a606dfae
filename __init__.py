"""pianorbm: curate MIDI into piano-only corpora, build piano-roll records, train and sample
RNN-RBM / GRU-RBM / LSTM-RBM models (Boulanger-Lewandowski, Bengio & Vincent, ICML 2012).

The checkout's root is this package (setup.cfg maps ``pianorbm`` to it). Its subpackages stand on
floors that follow the data; each imports only from the floors below it:

5. ``pianorbm.pipelines`` (the end-to-end chain, its config and report) and ``pianorbm.cli``
4. ``pianorbm.model``: layers, training, likelihood, sampling
3. ``pianorbm.rolls``: piano rolls, records, datasets, batches; audio, figures, statistics
2. ``pianorbm.curate``: raw folder -> clean corpus + manifest (local and on Beam)
1. ``pianorbm.common``: settings, atomic files, storage, the isolated pool, Beam helpers
"""

__version__ = "0.1.0"
