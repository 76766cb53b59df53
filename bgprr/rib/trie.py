"""Path-compressed binary radix trie over prefix keys.

A key is ``(addr << 8) | plen`` with ``addr`` the full-width network address (32 or 128
bits) and its host bits zero (see ``bgprr.wire.prefix``). Every node holds a prefix; a node
either stores a value or is a *glue* node (valueless) that exists only because it has two
children. Glue nodes are created when an insert splits an edge and removed again when a
delete leaves them with fewer than two children, so the trie never holds more than
``2 * len(trie) - 1`` nodes. Freed nodes go to a bounded per-trie free list and are reused.

All walks are iterative (no recursion), so /128 depth is no problem. The trie is meant for
ordered and covering queries; exact-match access on the hot path goes through a dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar, cast

__all__ = ["RadixTrie"]

V = TypeVar("V")

_FREE_MAX = 4096  # freed nodes kept for reuse, per trie


class _Node(Generic[V]):
    """One trie node: prefix ``addr/plen``, optional value, two children, parent link."""

    __slots__ = ("addr", "full", "left", "parent", "plen", "right", "value")

    def __init__(self) -> None:
        self.addr = 0
        self.plen = 0
        self.full = False  # True when the node stores a value (False: glue node)
        self.value: V | None = None
        self.left: _Node[V] | None = None
        self.right: _Node[V] | None = None
        self.parent: _Node[V] | None = None


class RadixTrie(Generic[V]):
    """Ordered map from prefix keys to values with covering / longer-prefix queries."""

    __slots__ = ("_bits", "_free", "_len", "_nodes", "_root", "_version")

    def __init__(self, bits: int) -> None:
        if bits not in (32, 128):
            raise ValueError(f"bits must be 32 or 128, not {bits}")
        self._bits = bits
        self._root: _Node[V] | None = None
        self._len = 0
        self._nodes = 0
        self._free: list[_Node[V]] = []
        self._version = 0

    # ---- size ----------------------------------------------------------------

    def __len__(self) -> int:
        return self._len

    @property
    def bits(self) -> int:
        return self._bits

    @property
    def node_count(self) -> int:
        """Nodes in the trie (valued plus glue); at most ``2 * len - 1``."""
        return self._nodes

    @property
    def free_count(self) -> int:
        """Freed nodes waiting for reuse."""
        return len(self._free)

    # ---- node management --------------------------------------------------------

    def _split(self, key: int) -> tuple[int, int]:
        addr = key >> 8
        plen = key & 0xFF
        bits = self._bits
        if plen > bits or addr >> bits or (plen < bits and addr & ((1 << (bits - plen)) - 1)):
            raise ValueError(f"invalid prefix key {key:#x} for a {bits}-bit trie")
        return addr, plen

    def _new(self, addr: int, plen: int, parent: _Node[V] | None) -> _Node[V]:
        node = self._free.pop() if self._free else _Node()
        node.addr = addr
        node.plen = plen
        node.parent = parent
        self._nodes += 1
        return node

    def _release(self, node: _Node[V]) -> None:
        node.full = False
        node.value = None
        node.left = node.right = node.parent = None
        self._nodes -= 1
        if len(self._free) < _FREE_MAX:
            self._free.append(node)

    def _replace_child(self, parent: _Node[V] | None, old: _Node[V], new: _Node[V] | None) -> None:
        if new is not None:
            new.parent = parent
        if parent is None:
            self._root = new
        elif parent.left is old:
            parent.left = new
        else:
            parent.right = new

    # ---- mutation -------------------------------------------------------------

    def insert(self, key: int, value: V) -> None:
        """Store ``value`` under ``key``, replacing any previous value."""
        addr, plen = self._split(key)
        bits = self._bits
        top = bits - 1
        node = self._root
        if node is None:
            leaf = self._root = self._new(addr, plen, None)
            leaf.full, leaf.value = True, value
            self._len += 1
            self._version += 1
            return
        # 1. descend without comparing prefixes (Patricia style) as far as the key reaches
        while node.plen < plen:
            child = node.right if (addr >> (top - node.plen)) & 1 else node.left
            if child is None:
                break
            node = child
        # 2. bits shared with the node reached; every node on the way at or above that
        #    depth is a true prefix of the key, so climb back to the first one below it
        common = bits - (addr ^ node.addr).bit_length()
        if common > plen:
            common = plen
        if common > node.plen:
            common = node.plen
        parent = node.parent
        while parent is not None and parent.plen >= common:
            node = parent
            parent = node.parent
        # 3. link the key in at depth ``common``
        if node.plen == common:
            if common == plen:  # exact node: fill a glue node or replace the value
                if not node.full:
                    node.full = True
                    self._len += 1
                    self._version += 1  # a new key (replacing a value is no change)
                node.value = value
                return
            # ``node`` is a prefix of the key and the descent stopped at its empty slot
            leaf = self._new(addr, plen, node)
            if (addr >> (top - common)) & 1:
                node.right = leaf
            else:
                node.left = leaf
        elif common == plen:  # the key sits between ``parent`` and ``node``
            leaf = self._new(addr, plen, parent)
            self._replace_child(parent, node, leaf)
            if (node.addr >> (top - plen)) & 1:
                leaf.right = node
            else:
                leaf.left = node
            node.parent = leaf
        else:  # key and ``node`` diverge at bit ``common``: a glue node joins them
            glue = self._new((addr >> (bits - common)) << (bits - common), common, parent)
            self._replace_child(parent, node, glue)
            leaf = self._new(addr, plen, glue)
            node.parent = glue
            if (addr >> (top - common)) & 1:
                glue.left, glue.right = node, leaf
            else:
                glue.left, glue.right = leaf, node
        leaf.full, leaf.value = True, value
        self._len += 1
        self._version += 1

    def delete(self, key: int) -> V | None:
        """Remove ``key``; return its value, or None when it was not stored."""
        node = self._find(key)
        if node is None or not node.full:
            return None
        self._version += 1
        value = node.value
        node.full = False
        node.value = None
        self._len -= 1
        if node.left is not None and node.right is not None:
            return value  # stays as a glue node
        parent = node.parent
        only = node.left if node.left is not None else node.right
        self._replace_child(parent, node, only)
        self._release(node)
        # a glue parent that just lost a child has one left: splice it out too
        if only is None and parent is not None and not parent.full:
            rest = parent.left if parent.left is not None else parent.right
            self._replace_child(parent.parent, parent, rest)
            self._release(parent)
        return value

    def clear(self) -> None:
        """Drop every entry (nodes are not recycled)."""
        self._version += 1
        self._root = None
        self._len = 0
        self._nodes = 0
        self._free.clear()

    # ---- lookup ---------------------------------------------------------------

    def _find(self, key: int) -> _Node[V] | None:
        """The node holding exactly ``key`` (valued or glue), or None."""
        addr = key >> 8
        plen = key & 0xFF
        top = self._bits - 1
        node = self._root
        while node is not None:
            nplen = node.plen
            if nplen >= plen:
                if nplen == plen and node.addr == addr:
                    return node
                return None
            node = node.right if (addr >> (top - nplen)) & 1 else node.left
        return None

    def get(self, key: int) -> V | None:
        node = self._find(key)
        return node.value if node is not None else None

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        node = self._find(key)
        return node is not None and node.full

    def covering(self, key: int) -> list[tuple[int, V]]:
        """Stored prefixes that contain ``key`` (including ``key`` itself), shortest first."""
        addr = key >> 8
        plen = key & 0xFF
        top = self._bits - 1
        # descend without prefix checks, remembering valued nodes; the nodes on the way
        # are nested, so exactly those no longer than the bits the deepest one shares
        # with the key contain it
        seen: list[_Node[V]] = []
        last = None
        node = self._root
        while node is not None and node.plen <= plen:
            if node.full:
                seen.append(node)
            last = node
            if node.plen == plen:
                break
            node = node.right if (addr >> (top - node.plen)) & 1 else node.left
        if last is None:
            return []
        common = top + 1 - (addr ^ last.addr).bit_length()
        return [((n.addr << 8) | n.plen, cast(V, n.value)) for n in seen if n.plen <= common]

    def longest_match(self, key: int) -> tuple[int, V] | None:
        """The most specific stored prefix containing ``key``, or None."""
        found = self.covering(key)
        return found[-1] if found else None

    def longer(self, key: int) -> Iterator[tuple[int, V]]:
        """Stored prefixes inside ``key`` (including ``key`` itself), in key order."""
        addr = key >> 8
        plen = key & 0xFF
        bits = self._bits
        node = self._root
        while node is not None:
            nplen = node.plen
            span = nplen if nplen < plen else plen
            if span and (addr ^ node.addr) >> (bits - span):
                return iter(())
            if nplen >= plen:
                return self._walk(node)
            node = node.right if (addr >> (bits - 1 - nplen)) & 1 else node.left
        return iter(())

    def items(self) -> Iterator[tuple[int, V]]:
        """All ``(key, value)`` pairs in key order (address, then length)."""
        return self._walk(self._root)

    def keys(self) -> Iterator[int]:
        for key, _ in self.items():
            yield key

    def __iter__(self) -> Iterator[int]:
        return self.keys()

    def _walk(self, top: _Node[V] | None) -> Iterator[tuple[int, V]]:
        # pre-order, left before right, is key order: a prefix sorts before everything
        # inside it, and its 0-branch sorts before its 1-branch.
        if top is None:
            return
        version = self._version
        stack = [top]
        pop = stack.pop
        push = stack.append
        while stack:
            node = pop()
            if node.full:
                yield (node.addr << 8) | node.plen, cast(V, node.value)
                if self._version != version:
                    raise RuntimeError("RadixTrie changed during iteration")
            if node.right is not None:
                push(node.right)
            if node.left is not None:
                push(node.left)
