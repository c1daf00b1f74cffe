"""The view classes, one module per kind of page."""
