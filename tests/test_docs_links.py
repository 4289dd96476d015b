"""Every relative link in README.md and docs/*.md leads somewhere in the repository.

A link `[text](path)` or `[text](path#anchor)` (and an image, and a reference definition
`[name]: path`) must resolve, relative to the Markdown file's directory (or to the repository's
root when it starts with `/`), to a file or directory that exists. An `#anchor` into a Markdown
file, or a bare `#anchor` into the file itself, must match one of its headings under GitHub's
rules: lower-case, punctuation other than `-` and `_` dropped, spaces made hyphens, `-1`, `-2`
... added to repeated headings. Links with a scheme (`https:`, `mailto:`) are not checked.
Fenced code, inline code and HTML comments are not Markdown links and are skipped.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
#: `[text](target)` or `![alt](target)`, the text allowing one level of nested brackets, the
#: target optionally in angle brackets and followed by a title.
_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(?:<([^>]*)>|([^\s()]+))(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.MULTILINE)
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_HTML_ANCHOR = re.compile(r"<a\s[^>]*?\b(?:name|id)=[\"']([^\"']+)[\"']", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def prose(text: str) -> list[str]:
    """The lines of `text` outside fenced code blocks (fenced lines become blank)."""
    lines: list[str] = []
    fence = ""
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            lines.append("")
        elif opened:
            fence = opened.group(1)
            lines.append("")
        else:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    """Every anchor GitHub makes for `markdown`: one per heading, repeats numbered."""
    found: set[str] = set()
    counts: dict[str, int] = {}
    for line in prose(_COMMENT.sub("", markdown.read_text(encoding="utf-8"))):
        found.update(_HTML_ANCHOR.findall(line))
        heading = _HEADING.match(line)
        if heading is None:
            continue
        base = slug(heading.group(2))
        seen = counts.get(base, 0)
        counts[base] = seen + 1
        found.add(base if seen == 0 else f"{base}-{seen}")
    return found


def links(markdown: Path) -> list[str]:
    """The link targets of `markdown`'s prose, in order."""
    text = _COMMENT.sub("", markdown.read_text(encoding="utf-8"))
    text = "\n".join(prose(text))
    text = _INLINE_CODE.sub("", text)
    found = [inside or bare for inside, bare in _LINK.findall(text)]
    return found + _DEFINITION.findall(text)


def broken(markdown: Path, root: Path = ROOT) -> list[str]:
    """The relative links of `markdown` that lead nowhere, each with the reason."""
    problems: list[str] = []
    for target in links(markdown):
        if not target or _SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        path = unquote(path)
        if path:
            base = root if path.startswith("/") else markdown.parent
            resolved = (base / path.lstrip("/")).resolve()
            if not resolved.is_relative_to(root.resolve()):
                problems.append(f"{target}: outside the repository")
                continue
            if not resolved.exists():
                problems.append(f"{target}: no such file or directory")
                continue
        else:
            resolved = markdown
        into_markdown = resolved.is_file() and resolved.suffix.lower() == ".md"
        if anchor and into_markdown and unquote(anchor).lower() not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.name}")
    return problems


def test_there_are_documents_to_check() -> None:
    assert (ROOT / "README.md").is_file()
    assert len(DOCUMENTS) > 1, "docs/*.md is empty"


@pytest.mark.parametrize("markdown", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(markdown: Path) -> None:
    problems = broken(markdown)
    assert not problems, f"{markdown.relative_to(ROOT)} has broken links:\n" + "\n".join(problems)


# -- the checker itself -------------------------------------------------------------------------


def test_headings_make_githubs_anchors() -> None:
    assert slug("Local rehearsal: deploybot dev") == "local-rehearsal-deploybot-dev"
    assert slug("The `/deploy` command") == "the-deploy-command"
    assert (
        slug("Choices where a rule could go two ways") == "choices-where-a-rule-could-go-two-ways"
    )
    assert slug("Scraping /metrics") == "scraping-metrics"
    assert slug("A [linked](x.md) heading_name") == "a-linked-heading_name"


def test_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Same\n\n## Same\n")
    (tmp_path / "code.py").write_text("")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md) [fine](other.md#same-1) [fine](../code.py#L1) [fine](#page)\n"
        "[fine](/docs/) [web](https://example.com/nowhere.md) [mail](mailto:a@b.c)\n"
        "[gone](missing.md) [no heading](other.md#nowhere) [no anchor here](#nowhere)\n"
        "[out](../../outside.md)\n"
        "`[code](missing-in-code.md)` <!-- [comment](missing-in-comment.md) -->\n"
        "```\n[fenced](missing-in-fence.md)\n```\n"
        "[ref]: also-missing.md\n"
    )
    assert broken(page, tmp_path) == [
        "missing.md: no such file or directory",
        "other.md#nowhere: no heading #nowhere in other.md",
        "#nowhere: no heading #nowhere in page.md",
        "../../outside.md: outside the repository",
        "also-missing.md: no such file or directory",
    ]
