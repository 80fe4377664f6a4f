"""nbgrader configuration: this repository is the course directory.

Sources (with solutions and hidden tests) live in `solutions/`, the generated student
release in `notebooks/`. Student submissions, autograded copies, feedback and the
gradebook are never committed (see .gitignore).
"""
c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "how-deep-networks-learn"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"

# Every notebook cell must finish within this many seconds when graded; lessons shorten
# their experiments when NBGRADER_EXECUTION is set, so a correct notebook needs far less.
c.Execute.timeout = 60
