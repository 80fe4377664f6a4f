"""Catalogued mistakes, one module per assignment topic: MISTAKES[function] -> list of Mistake."""
