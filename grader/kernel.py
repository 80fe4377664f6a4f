"""Imported by every kernel `course grade` starts, before any cell runs (IPython exec_lines).

It applies the per-kernel limits the grading process put in the environment, so that a
memory bomb or a busy loop that ignores interrupts ends that kernel only, and arms the seal
(`grader.seal`) while the checks are still untouched.
"""
import os
import resource

from grader import seal

LIMITS_VARIABLE = "COURSE_GRADE_LIMITS"     # "<memory MiB>,<CPU seconds>"


def apply_limits(value: str) -> None:
    memory_mib, cpu_seconds = (int(part) for part in value.split(","))
    resource.setrlimit(resource.RLIMIT_AS, (memory_mib * 2**20, memory_mib * 2**20))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


if LIMITS_VARIABLE in os.environ:
    apply_limits(os.environ.pop(LIMITS_VARIABLE))
seal.arm()
