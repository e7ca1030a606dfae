"""What every stage shares: atomic file writes (``common.files``) and the declaration of every
setting, used by both the command line and the pipeline's config file (``common.settings``)."""
