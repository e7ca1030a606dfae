"""What every stage shares: atomic file writes (``files``), local or remote storage (``storage``),
the declaration of every setting used by both the command line and the pipeline's config file
(``settings``), holding back what native libraries print at start-up and importing TensorFlow quietly
(``quiet``), a line now and then from a long quiet step (``heartbeat``), JSON-lines journals that make
runs resumable (``journal``), the crash-proof process pool (``isolation``) and the Apache Beam helpers
(``beam``)."""
