"""Visible checks, one module per assignment topic; the notebooks call them in their test cells."""
