"""Streamlit forms: inputs a page reads, with the button that acts on them."""
