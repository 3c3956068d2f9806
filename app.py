"""scaler's dashboard: ``streamlit run app.py`` (what ``scaler dashboard`` runs).

The pages live in the package, ``scaler/dashboard/app.py``, so that an installed scaler has them too;
this file runs them afresh on every Streamlit rerun, as Streamlit runs a script.
"""

import runpy

runpy.run_module("scaler.dashboard.app", run_name="__main__")
