"""The dashboard's Streamlit layer: session state, cached core calls, widgets and figures.

Only this package and the pages import Streamlit; everything they show is computed in ``core``.
"""
