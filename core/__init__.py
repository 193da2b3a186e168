"""ShopSynth core library: data, models, synthesis, fusion and evaluation, free of any UI."""

__version__ = "0.1.0"
