"""hkpolicy: where each nation stands on a policy fight, read from news coverage, with the evidence.

The flow, one module per step (each a few functions on pandas DataFrames with documented columns):
``ingest`` -> ``text`` -> ``duplicates`` -> ``actors`` -> ``claims`` -> ``stance`` -> ``tables`` -> ``plots``;
``pipeline.run_study`` runs them all, ``evaluate`` compares with gold labels, knowledge lives in ``data/``.
"""

__version__ = "0.1.0"
