"""Views of the dashboard pages: what a page shows of the workspace, below its opening block."""
