"""Instructor side: reference solutions, hidden checks, catalogued mistakes, grading pipeline.

Test cells of the source notebooks call `grade(topic, name, fn, points)` in their hidden part.
"""
from grader.checks.judge import grade

__all__ = ["grade"]
