"""Design documents: the design, the layer registry, shape analysis, editing, export, data."""
