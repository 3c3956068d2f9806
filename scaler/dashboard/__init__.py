"""The dashboard's building blocks, kept apart from the Streamlit pages (``app.py``).

- ``scaler.dashboard.data``: loaders from the zoo, ``results/`` and the Optuna storage into pandas
  DataFrames, each returning the warnings for files it had to skip. Read-only; no plotly.
- ``scaler.dashboard.figures``: pure functions, data in, plotly Figure out.

Nothing is imported here, so ``import scaler.dashboard`` pulls in neither plotly nor streamlit.
"""

__all__ = ["data", "figures"]
