"""The report's captions: every one must render as reStructuredText without a system message
(Snakemake shows those as red boxes in results/report.html)."""
from pathlib import Path

import pytest

docutils_core = pytest.importorskip("docutils.core")

CAPTIONS = sorted((Path(__file__).resolve().parents[1] / "workflow" / "report").glob("*.rst"))


@pytest.mark.parametrize("caption", CAPTIONS, ids=lambda p: p.name)
def test_caption_renders_without_system_messages(caption):
    from docutils import nodes

    text = caption.read_text()
    assert "{{" not in text or "}}" in text, "unbalanced Jinja braces"
    # report every level (warnings too, e.g. a duplicate target name); print nothing, halt on nothing
    tree = docutils_core.publish_doctree(text, settings_overrides={"report_level": 1, "halt_level": 5,
                                                                   "warning_stream": False})
    # a broken reference stays in the tree as a "problematic" node; its message goes to the end
    messages = [m.astext() for m in tree.findall(nodes.system_message)]
    messages += [f"problematic: {p.astext()!r}" for p in tree.findall(nodes.problematic)]
    assert not messages, f"{caption.name}: {messages}"


def test_captions_exist():
    assert len(CAPTIONS) >= 20
