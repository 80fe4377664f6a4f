"""nbgrader's own views of a class, made safe to open on hostile submissions.

Formgrader's submission view and nbgrader's feedback (formgrader's Generate Feedback button)
render students' notebooks with nbconvert's HTMLExporter; no script of a student may run there,
and the feedback must not show the hidden tests. A class folder's nbgrader_config.py applies
`configure` (`grader.pipeline.coursedir`).

`sanitize_html` sends HTML and markdown outputs through the `clean_html` filter; here it is
`safe_html`, which keeps the paragraphs, headings, images and tables that nbconvert's own shows
as text. Two more filters close what it leaves open: nbgrader's templates render markdown
cells as `markdown2html | strip_files_prefix`, without `clean_html`, and nbconvert's write an
image's width and height from the output's metadata into the <img> tag unquoted.
"""
import bleach
from nbconvert.filters import get_metadata, strip_files_prefix
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

RENDERED_TAGS = [*bleach.ALLOWED_TAGS, "p", "div", "span", "br", "hr", "pre", "h1", "h2", "h3", "h4", "h5", "h6",
                 "img", "table", "thead", "tbody", "tr", "th", "td", "sub", "sup", "del", "dl", "dt", "dd"]


def safe_html(html: str) -> str:
    """`html` without scripts, event handlers or javascript: links; other tags are shown as text."""
    return bleach.clean(html, tags=RENDERED_TAGS, attributes=["class", "id", "title", "alt", "src", "href"],
                        protocols=["http", "https", "mailto", "data"])


def safe_markdown_cell(html: str) -> str:
    """The last filter of a rendered markdown cell: nbconvert's `strip_files_prefix`, then `safe_html`."""
    return safe_html(strip_files_prefix(html))


def safe_metadata(output, key, mimetype=None):
    """nbconvert's `get_metadata`, with an image's width and height only when they are numbers."""
    value = get_metadata(output, key, mimetype)
    return None if key in ("width", "height") and not isinstance(value, (int, float)) else value


def configure(c) -> None:
    """Set the traitlets config `c` (an nbgrader_config.py's) to render submissions safely."""
    c.HTMLExporter.sanitize_html = True
    c.HTMLExporter.filters = dict(clean_html=safe_html, strip_files_prefix=safe_markdown_cell,
                                  get_metadata=safe_metadata)
    # Generate Feedback: nbgrader's own preprocessors, then the hidden tests taken out of the test cells.
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests]
