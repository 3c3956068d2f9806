"""The dashboard's building blocks, kept apart from the Streamlit pages (``app.py``).

- ``scaler.dashboard.data``: loaders from the zoo, ``results/`` and the studies (through
  ``scaler.study.reader``) into pandas DataFrames, each returning the warnings for files it had to
  skip. Read-only; no plotly.
- ``scaler.dashboard.figures``: pure functions, data in, plotly Figure out.
- ``scaler.dashboard.serve``: ``scaler dashboard``'s Streamlit server, which ends with the command.

Nothing is imported here, so ``import scaler.dashboard`` pulls in neither plotly nor streamlit.
"""

__all__ = ["data", "figures", "serve"]
