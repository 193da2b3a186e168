"""The dashboard's Streamlit layer: session state, cached core calls, the page shell, feedback
(progress and errors), forms and views.

Only this package and the pages import Streamlit; everything they show is computed in ``core``.
"""
