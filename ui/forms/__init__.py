"""Forms of the dashboard pages: the widgets that gather settings, and the runs they start."""
