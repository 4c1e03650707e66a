"""Prompt templates, shipped inside the package as ``pipeline.prompts``."""
