"""Catalogued mistakes, one module per assignment topic: MISTAKES[function] -> list of Mistake."""
import importlib


def catalogue(topic: str) -> dict:
    """MISTAKES of the topic's module: function name -> list of Mistake."""
    return importlib.import_module(f"grader.mistakes.{topic}").MISTAKES


def named(topic: str) -> set:
    """(title, key) of every catalogued mistake of the topic: what a check may name."""
    return {(m.title, m.key) for mistakes in catalogue(topic).values() for m in mistakes}
