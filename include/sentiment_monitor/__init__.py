"""Social sentiment monitor: the work behind the nightly Airflow DAG.

Each module is one step of the night (sources, normalize, scoring, validation, warehouse, flags,
marts, reporting) as plain, typed functions that run without Airflow; the DAG in ``dags/`` only
wires them together and hands them paths and counts.
"""

__version__ = "0.1.0"
