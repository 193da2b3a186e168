"""Every plotly figure ShopSynth draws, in one theme, and the HTML report."""
