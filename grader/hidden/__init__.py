"""Hidden-check specifications, one module per assignment topic: SPECS[function] -> Spec."""
