"""The shared foundation every stage may use: schemas, Parquet I/O, atomic
file operations, hashes, keyed randomness, errors, the snapshot manifest, the
project presets and the process tuning. It imports nothing from the rest of
``pipeline`` (the orchestration and the CLI) and nothing from ``stages``: imports run one way,
``pipeline.cli`` -> ``pipeline.runners`` -> ``stages.*`` -> ``pipeline.base``.
"""
