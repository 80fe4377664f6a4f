"""Reference solutions, one module per assignment topic. Never shipped to students."""
