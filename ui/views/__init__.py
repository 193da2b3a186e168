"""Streamlit views: what a page shows of the workspace's data and runs."""
