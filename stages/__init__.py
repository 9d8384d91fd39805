"""The pipeline's stages: fetch, normalize, generate, aggregate, load.

A stage is a pure core (tables in, tables out) inside a thin I/O shell. Stages
know nothing of each other nor of the orchestrator (pipeline/).
"""
