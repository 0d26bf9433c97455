"""hotich dev kit: synthetic province, register simulator, demo, local Airflow, accuracy scoring.

Never imported by the deployable package ``hotich`` (tests/foundation/test_layout.py).
"""

from pathlib import Path

# The dev kit runs from the source tree (``pip install -e ./devkit``): the project's root.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
