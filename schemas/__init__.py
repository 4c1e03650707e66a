"""JSON schemas, shipped inside the package as ``pipeline.schemas``."""
