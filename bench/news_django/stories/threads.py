"""An article's comments as a tree, by the Kettle site's rules (news/threads.py).

Hidden comments and their replies are left out; a deleted comment stays as "[deleted]"
while it has replies. Top-level comments come best first (points, then oldest), replies
in the order they were written.
"""

from collections import defaultdict


class Node:
    def __init__(self, comment, depth, children):
        self.comment = comment
        self.depth = depth
        self.children = children


def build_tree(comments):
    replies = defaultdict(list)
    for comment in comments:
        replies[comment.parent_id].append(comment)

    def grow(parent_id, depth):
        nodes = []
        for comment in replies.get(parent_id, ()):
            if comment.hidden:
                continue
            node = Node(comment, depth, grow(comment.id, depth + 1))
            if comment.deleted and not node.children:
                continue
            nodes.append(node)
        return nodes

    top = grow(None, 0)
    top.sort(key=lambda node: (-node.comment.points, node.comment.created))
    return top
