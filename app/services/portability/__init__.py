"""Moving an organisation between instances: ``exporting`` writes one archive (``archive``),
``importing`` reads it into another instance (``cairn export`` / ``cairn import``)."""
