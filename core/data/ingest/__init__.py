"""Reading behaviour logs and catalogues into the workspace: sniffing, presets, loading."""
