"""The page's error text: ours as one HTML-escaped line (Gradio renders it as HTML), others as a note."""

import pytest

pytest.importorskip("gradio", reason="the app extra is not installed (`pip install -e '.[app]'`)")

from alteredavatar.app.ui import page_error
from alteredavatar.errors import StyleInputError


def test_errors_are_one_escaped_line_and_never_a_trace():
    shown = page_error(StyleInputError("bad prompt '<img src=x onerror=alert(1)>' for --style.text\nmore"))
    assert shown.message == "bad prompt '&lt;img src=x onerror=alert(1)&gt;' for \"Style text\""
    other = page_error(ValueError("secret path /home/x\nTraceback"))
    assert other.message == "the job failed (ValueError); see the server's log"
