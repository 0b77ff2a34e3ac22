"""One module per dataset format, each registered by name in :mod:`labeler.formats.registry`."""
