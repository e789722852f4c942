"""THREAD algorithms of RFC 5256: ORDEREDSUBJECT (§3 first) and REFERENCES (§3 second).

Pure functions over ``store.search.ThreadRow`` values; the output nodes render
themselves in the RFC's parenthesised syntax with a caller-chosen numbering
(UIDs for UID THREAD, sequence numbers otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kastell.store.search import ThreadRow, base_subject

__all__ = ["Node", "thread_orderedsubject", "thread_references"]


@dataclass(eq=False)
class Node:
    row: ThreadRow | None  # None: a dummy (a referenced message we do not have)
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    def date(self) -> tuple[int, int]:
        """Sort key: the message's date, or for a dummy its first child's (RFC 5256 §3 step 2)."""
        if self.row is not None:
            return (self.row.date, self.row.uid)
        return min((c.date() for c in self.children), default=(0, 0))

    def _inner(self, number: Callable[[int], int]) -> str:
        kids = self.children
        head = str(number(self.row.uid)) if self.row is not None else ""
        if self.row is not None and len(kids) == 1:
            return head + " " + kids[0]._inner(number)
        tail = "".join("(" + kid._inner(number) + ")" for kid in kids)
        return f"{head} {tail}" if head and tail else head or tail

    def render(self, number: Callable[[int], int]) -> str:
        return "(" + self._inner(number) + ")"


def thread_orderedsubject(rows: Sequence[ThreadRow]) -> list[Node]:
    """Group by base subject; each thread's first (by date) message is the parent of the rest."""
    groups: dict[str, list[ThreadRow]] = {}
    for row in sorted(rows, key=lambda r: (r.date, r.uid)):
        groups.setdefault(base_subject(row.subject), []).append(row)
    threads = []
    for members in groups.values():
        root = Node(members[0])
        root.children = [Node(r, parent=root) for r in members[1:]]
        threads.append(root)
    threads.sort(key=Node.date)
    return threads


def _is_ancestor(candidate: Node, node: Node) -> bool:
    current: Node | None = candidate
    while current is not None:
        if current is node:
            return True
        current = current.parent
    return False


def _link(parent: Node, child: Node) -> None:
    if child.parent is not None:
        child.parent.children.remove(child)
    child.parent = parent
    parent.children.append(child)


def thread_references(rows: Sequence[ThreadRow]) -> list[Node]:
    """RFC 5256 REFERENCES: parent/child from References/In-Reply-To, then subject merging."""
    table: dict[str, Node] = {}
    for row in rows:
        msgid = row.message_id or f"<kastell-uid-{row.uid}>"
        node = table.get(msgid)
        if node is None or node.row is not None:  # duplicate ids: the later one gets its own node
            node = Node(row)
            table[msgid if msgid not in table else f"{msgid}#{row.uid}"] = node
        else:
            node.row = row
        refs = list(row.references) or list(row.in_reply_to[:1])
        prev: Node | None = None
        for ref in refs:
            ref_node = table.setdefault(ref, Node(None))
            if prev is not None and ref_node.parent is None and not _is_ancestor(prev, ref_node):
                _link(prev, ref_node)
            prev = ref_node
        if prev is not None and not _is_ancestor(prev, node):
            _link(prev, node)
        elif prev is None and node.parent is not None:
            node.parent.children.remove(node)
            node.parent = None
    roots = [n for n in table.values() if n.parent is None]
    roots = _prune(roots)
    # Step 5: roots with the same base subject are gathered under one thread.
    by_subject: dict[str, Node] = {}
    merged: list[Node] = []
    for root in sorted(roots, key=Node.date):
        first = root.row or (root.children[0].row if root.children else None)
        subject = base_subject(first.subject) if first is not None else ""
        if not subject or subject not in by_subject:
            if subject:
                by_subject[subject] = root
            merged.append(root)
            continue
        _link(by_subject[subject], root)
    _sort(merged)
    return merged


def _prune(nodes: list[Node]) -> list[Node]:
    """Drop dummies without children; replace a dummy by its children (at the root only if one)."""
    out: list[Node] = []
    for node in nodes:
        node.children = _prune(node.children)
        for kid in node.children:
            kid.parent = node
        if node.row is None:
            if not node.children:
                continue
            if node.parent is not None or len(node.children) == 1:
                for kid in node.children:
                    kid.parent = node.parent
                out.extend(node.children)
                continue
        out.append(node)
    return out


def _sort(nodes: list[Node]) -> None:
    nodes.sort(key=Node.date)
    for node in nodes:
        _sort(node.children)
