"""Tasks: data sources that plug into the core through the ``loralab.data_sources`` entry points
(loralab.data.sources). The core never imports a task; a task imports the core."""
