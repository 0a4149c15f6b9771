"""The answer rendered for a terminal (`groundedqa ask`)."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.text import Text


def render_answer(result: dict[str, Any], console: Console | None = None) -> None:
    """Seek-care banner first when urgent, then the cited sentences, sources, red flags, disclaimer."""
    console = console or Console()
    if result.get("context_used"):
        console.print(Text(f"Read with the earlier messages: {result['interpreted_as']}", style="dim"))
    if result["urgent"]:
        console.print(Panel(Text(result["urgent_message"], style="bold"), title="Seek care now",
                            border_style="bold red"))
    if result["abstained"]:
        console.print(Text(result["message"]))
    else:
        body = Text()
        for sentence in result["sentences"]:
            body.append(sentence["text"])
            body.append(" " + "".join(f"[{n}]" for n in sentence["citations"]) + " ", style="cyan")
        console.print(body)
        console.print()
        for c in result["citations"]:
            where = f" {c['url']}" if c.get("url") else ""
            console.print(Text(f"[{c['id']}] {c['title']} ({c['doc_id']}, chars {c['start']}-"
                               f"{c['end']}){where}", style="dim"))
    flags = []
    for flag in result["red_flags"]:
        source = f" (from {flag['citation']['title']})" if flag.get("citation") else ""
        flags.append(Text(f"• {flag['text']}{source}"))
    console.print(Panel(Group(*flags), title="Red flags: stop and seek care if you have",
                        border_style="red"))
    console.print(Text(result["disclaimer"], style="italic dim"))
