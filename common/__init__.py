"""What every stage shares: atomic file writes (``common.files``), the declaration of every setting
used by both the command line and the pipeline's config file (``common.settings``), and holding
back what native libraries print at start-up (``common.quiet``)."""
