"""Markdown written by users (a model's description) as safe HTML for the portal.

markdown-it-py renders CommonMark with its raw-HTML option off, so HTML typed into the text
comes out escaped; nh3 then keeps only the tags, attributes and link schemes listed here,
whatever the renderer made (a `javascript:` link, an event attribute). Both steps, because
the sanitiser is the guarantee and the renderer's escaping keeps what people typed readable.
"""

import nh3
from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
URL_SCHEMES = {"http", "https", "mailto"}


def markdown_to_html(text: str, *, heading_level: int = 1) -> str:
    """The text rendered and sanitised. Its headings start at `heading_level` (a "# Title" in
    a description shown under the page's h2 becomes an h3), so the page keeps one h1 and an
    outline that screen readers can follow."""
    if not text:
        return ""
    tokens = _RENDERER.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + heading_level - 1, 6)}"
    return sanitise(_RENDERER.renderer.render(tokens, _RENDERER.options, {}))


def sanitise(html: str) -> str:
    """Only the allowed tags, attributes and link schemes; links open elsewhere without the
    portal's referrer and are not endorsed (nofollow)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )
