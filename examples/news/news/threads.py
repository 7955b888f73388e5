"""Comment threads: the flat rows of an article's comments turned into a tree.

Readers never see hidden comments, nor the replies under them; editors see them, marked.
A deleted comment stays in the tree as "[deleted]" while it has replies to show, and
drops out when it has none. Top-level comments come best first (points, then oldest),
replies in the order they were written::

    tree = build_tree(article.comments, show_hidden=False)
    tree[0].comment, tree[0].children, tree[0].depth
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from news.models import Comment


@dataclass
class Node:
    """One comment in the tree, with its replies."""

    comment: Comment
    depth: int
    children: list[Node] = field(default_factory=list)


def build_tree(comments: Iterable[Comment], *, show_hidden: bool) -> list[Node]:
    """The visible top-level comments, each with its visible replies, nested."""
    replies: dict[int | None, list[Comment]] = defaultdict(list)
    for comment in comments:
        replies[comment.parent_id].append(comment)

    def grow(parent_id: int | None, depth: int) -> list[Node]:
        nodes = []
        for comment in replies.get(parent_id, []):
            if comment.hidden and not show_hidden:
                continue
            node = Node(comment, depth, grow(comment.id, depth + 1))
            if comment.deleted and not node.children:
                continue
            nodes.append(node)
        return nodes

    top = grow(None, 0)
    top.sort(key=lambda node: (-node.comment.points, node.comment.created))
    return top


def walk(nodes: list[Node]) -> Iterable[Node]:
    """Every node of the tree, parents before their replies."""
    for node in nodes:
        yield node
        yield from walk(node.children)


def as_json(nodes: list[Node], *, moderator: bool) -> list[dict[str, object]]:
    """The tree as the API sends it."""
    return [
        {
            "id": node.comment.id,
            "author": None if node.comment.deleted else node.comment.author.username,
            "body": "[deleted]" if node.comment.deleted else node.comment.body,
            "created": node.comment.created.isoformat(),
            "edited": node.comment.edited.isoformat() if node.comment.edited else None,
            "points": node.comment.points,
            "deleted": node.comment.deleted,
            **({"hidden": node.comment.hidden} if moderator else {}),
            "replies": as_json(node.children, moderator=moderator),
        }
        for node in nodes
    ]


__all__ = ["Node", "as_json", "build_tree", "walk"]
