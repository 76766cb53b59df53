"""Prefix map: a dict for exact matches, a path-compressed radix trie for the rest.

A key is ``(addr << 8) | plen`` with ``addr`` the full-width network address (32 or 128
bits) and its host bits zero (see ``bgprr.wire.prefix``). ``RadixTrie`` holds two
structures over the same keys:

* a dict ``key -> value`` (its own, or one shared with its owner: ``index``) answers
  ``get`` / ``in`` / ``len`` and is the only structure an insert or a delete touches
  eagerly. A key that appears goes into a pending-add set, one that disappears into a
  pending-delete set; each cancels the other, so a prefix announced and withdrawn between
  two ordered queries costs the trie nothing.
* a path-compressed binary radix trie of the keys (values stay in the dict) answers the
  ordered and covering queries (``items``, ``keys``, ``longer``, ``covering``,
  ``longest_match``). Every node holds a prefix; a node either stands for a stored key or
  is a *glue* node that exists only because it has two children. Glue nodes are created
  when an insert splits an edge and collapsed when a delete leaves them with fewer than
  two children, so the trie holds at most ``2 * len - 1`` nodes; freed nodes go to a
  bounded free list and are reused. All walks are iterative (/128 depth is no problem).

Each ordered or covering query first applies the pending changes to the trie: deletes
one by one, then adds in key order; a batch that is large against the table (more than
``len / _REBUILD_DIV`` changes, e.g. the first ordered query after a bulk load) instead
rebuilds the trie from the sorted keys in one linear pass (a stack holds the rightmost
path; each key pops what does not contain it and hangs below the rest, under a glue
node where it diverges from the popped branch), reusing the old trie's nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["RadixTrie"]

V = TypeVar("V")

_FREE_MAX = 4096  # freed nodes kept for reuse, per trie
# rebuild instead of applying changes one by one when changes * this > len (0: never)
_REBUILD_DIV = 4
_PENDING_MIN = 1024  # pending changes always tracked (small tries, small bursts)


class _Node:
    """One trie node: prefix ``addr/plen``, two children, parent link (no value: the
    dict holds values, so replacing one never touches the trie)."""

    __slots__ = ("addr", "full", "left", "parent", "plen", "right")

    def __init__(self) -> None:
        self.addr = 0
        self.plen = 0
        self.full = False  # True when the node stands for a stored key (False: glue)
        self.left: _Node | None = None
        self.right: _Node | None = None
        self.parent: _Node | None = None


class RadixTrie(Generic[V]):
    """Ordered map from prefix keys to values with covering / longer-prefix queries."""

    __slots__ = (
        "_adds",
        "_bad",
        "_bits",
        "_dels",
        "_free",
        "_held",
        "_map",
        "_nodes",
        "_root",
        "_stale",
        "_version",
    )

    def __init__(self, bits: int, index: dict[int, V] | None = None) -> None:
        """``index``: a dict the trie shares with its owner instead of keeping its own.
        The owner then stores and deletes keys in it directly and reports each key that
        appears with :meth:`added` and each that goes with :meth:`removed` (no second dict
        write, no second lookup); ``insert`` / ``delete`` keep working on it too."""
        if bits not in (32, 128):
            raise ValueError(f"bits must be 32 or 128, not {bits}")
        self._bits = bits
        self._map: dict[int, V] = {} if index is None else index
        # per prefix length, the address bits a valid key leaves zero: host bits and all
        # bits above the width (a negative int: ~network mask)
        self._bad = [~(((1 << plen) - 1) << (bits - plen)) for plen in range(bits + 1)]
        self._adds: set[int] = set()  # keys stored, not yet in the trie
        self._dels: set[int] = set()  # keys in the trie, no longer stored
        # Pending changes beyond len / _REBUILD_DIV make the next sync rebuild the trie
        # from the sorted keys anyway: from then on they are not tracked (a bulk load of
        # 500,000 prefixes would otherwise hold a 500,000-key set until the first query).
        self._stale = False
        self._root: _Node | None = None
        self._held = 0  # keys in the trie (its non-glue nodes)
        self._nodes = 0  # nodes in the trie, glue included
        self._free: list[_Node] = []
        self._version = 0
        for key in list(self._map):
            self.added(key)

    # ---- size ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._map)

    @property
    def bits(self) -> int:
        return self._bits

    @property
    def node_count(self) -> int:
        """Trie nodes (keys plus glue; at most ``2 * len - 1``) once pending changes are
        applied (this applies them)."""
        self._sync()
        return self._nodes

    @property
    def free_count(self) -> int:
        """Freed nodes waiting for reuse."""
        return len(self._free)

    # ---- mutation: dict + pending sets (the hot path) ---------------------------

    def insert(self, key: int, value: V) -> None:
        """Store ``value`` under ``key``, replacing any previous value."""
        table = self._map
        if key not in table:  # a new key (replacing a value is no change of the key set)
            self.added(key)  # validates the key before it is stored
        table[key] = value

    def delete(self, key: int) -> V | None:
        """Remove ``key``; return its value, or None when it was not stored."""
        table = self._map
        if key not in table:
            return None
        value = table.pop(key)
        self.removed(key)
        return value

    def added(self, key: int) -> None:
        """``key``, not stored before, is now in the shared index (see ``__init__``).
        Raises ValueError for an invalid key (its host bits set, a length beyond the
        width)."""
        try:
            bad = (key >> 8) & self._bad[key & 0xFF]
        except IndexError:  # a length beyond the address width
            bad = 1
        if bad:
            raise ValueError(f"invalid prefix key {key:#x} for a {self._bits}-bit trie")
        self._version += 1
        if self._stale:
            return
        dels = self._dels
        if key in dels:
            dels.discard(key)
        else:
            adds = self._adds
            adds.add(key)
            if len(adds) > _PENDING_MIN and len(adds) * _REBUILD_DIV > len(self._map):
                self._go_stale()

    def removed(self, key: int) -> None:
        """``key``, stored before, is no longer in the shared index."""
        self._version += 1
        if self._stale:
            return
        adds = self._adds
        if key in adds:
            adds.discard(key)
        else:
            dels = self._dels
            dels.add(key)
            if len(dels) > _PENDING_MIN and len(dels) * _REBUILD_DIV > len(self._map):
                self._go_stale()

    def _go_stale(self) -> None:
        """Stop tracking pending changes: the next sync rebuilds from the sorted keys."""
        self._stale = True
        self._adds.clear()
        self._dels.clear()

    def clear(self) -> None:
        """Drop every entry (up to ``_FREE_MAX`` trie nodes kept for reuse)."""
        self._version += 1
        self._map.clear()
        self._adds.clear()
        self._dels.clear()
        self._stale = False
        self._recycle_all()
        del self._free[_FREE_MAX:]

    # ---- the trie: applying pending changes --------------------------------------

    def _sync(self) -> _Node | None:
        """Apply the pending adds and deletes to the trie; return its root."""
        adds = self._adds
        dels = self._dels
        if self._stale:
            self._stale = False
            self._recycle_all()
            self._build(sorted(self._map))
            del self._free[_FREE_MAX:]
        elif adds or dels:
            if self._root is None or (len(adds) + len(dels)) * _REBUILD_DIV > len(self._map):
                self._recycle_all()
                self._build(sorted(self._map))
                del self._free[_FREE_MAX:]
            else:
                for key in dels:
                    self._remove(key)
                for key in sorted(adds):
                    self._add(key)
            adds.clear()
            dels.clear()
        return self._root

    def _new(self, addr: int, plen: int, parent: _Node | None) -> _Node:
        node = self._free.pop() if self._free else _Node()
        node.addr = addr
        node.plen = plen
        node.parent = parent
        self._nodes += 1
        return node

    def _release(self, node: _Node) -> None:
        node.full = False
        node.left = node.right = node.parent = None
        self._nodes -= 1
        if len(self._free) < _FREE_MAX:
            self._free.append(node)

    def _replace_child(self, parent: _Node | None, old: _Node, new: _Node | None) -> None:
        if new is not None:
            new.parent = parent
        if parent is None:
            self._root = new
        elif parent.left is old:
            parent.left = new
        else:
            parent.right = new

    def _recycle_all(self) -> None:
        """Empty the trie, every node to the free list (for the build that follows): its
        links cleared, so what the build leaves unused is freed at once (a dropped trie
        would be reference cycles, left to the cyclic garbage collector)."""
        free = self._free
        stack = [self._root] if self._root is not None else []
        pop = stack.pop
        push = stack.append
        while stack:
            node = pop()
            if node.left is not None:
                push(node.left)
            if node.right is not None:
                push(node.right)
            node.full = False
            node.left = node.right = node.parent = None
            free.append(node)
        self._root = None
        self._held = self._nodes = 0

    def _build(self, keys: list[int]) -> None:
        """Build the (empty) trie from distinct valid ``keys`` in key order, in one pass.
        Key order is pre-order, so every node is appended to the rightmost path."""
        bits = self._bits
        top = bits - 1
        new = self._new
        path: list[_Node] = []  # the rightmost path, root first
        for key in keys:
            addr = key >> 8
            plen = key & 0xFF
            child = None  # the shallowest popped node: the branch the key leaves
            while path:
                last = path[-1]
                if last.plen <= plen and not (addr ^ last.addr) >> (bits - last.plen):
                    break  # ``last`` contains the key
                child = path.pop()
            parent = path[-1] if path else None
            leaf = new(addr, plen, parent)
            leaf.full = True
            if child is None:  # below the previous key (a leaf so far), or the first key
                if parent is None:
                    self._root = leaf
                elif (addr >> (top - parent.plen)) & 1:
                    parent.right = leaf
                else:
                    parent.left = leaf
            else:
                # the key sorts after ``child`` and neither contains the other: they
                # diverge at bit ``common`` (``child`` 0, key 1), at or below ``parent``
                common = bits - (addr ^ child.addr).bit_length()
                if parent is not None and common == parent.plen:
                    parent.right = leaf  # ``child`` is ``parent.left``
                else:
                    glue = new((addr >> (bits - common)) << (bits - common), common, parent)
                    self._replace_child(parent, child, glue)
                    glue.left = child
                    glue.right = leaf
                    child.parent = leaf.parent = glue
                    path.append(glue)
            path.append(leaf)
        self._held += len(keys)

    def _add(self, key: int) -> None:
        """Put ``key`` (valid) into the trie."""
        addr = key >> 8
        plen = key & 0xFF
        bits = self._bits
        top = bits - 1
        node = self._root
        if node is None:
            leaf = self._root = self._new(addr, plen, None)
            leaf.full = True
            self._held += 1
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
            if common == plen:  # the exact node: fill a glue node (or already there)
                if not node.full:
                    node.full = True
                    self._held += 1
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
        leaf.full = True
        self._held += 1

    def _remove(self, key: int) -> None:
        """Take ``key`` out of the trie (nothing when it is not there)."""
        node = self._find(key)
        if node is None or not node.full:
            return
        node.full = False
        self._held -= 1
        if node.left is not None and node.right is not None:
            return  # stays as a glue node
        parent = node.parent
        only = node.left if node.left is not None else node.right
        self._replace_child(parent, node, only)
        self._release(node)
        # a glue parent that just lost a child has one left: splice it out too
        if only is None and parent is not None and not parent.full:
            rest = parent.left if parent.left is not None else parent.right
            if rest is not None:
                self._replace_child(parent.parent, parent, rest)
                self._release(parent)

    def _find(self, key: int) -> _Node | None:
        """The node holding exactly ``key`` (a key or glue), or None."""
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

    # ---- lookup ---------------------------------------------------------------

    def get(self, key: int) -> V | None:
        return self._map.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._map if isinstance(key, int) else False

    def covering(self, key: int) -> list[tuple[int, V]]:
        """Stored prefixes that contain ``key`` (including ``key`` itself), shortest first."""
        addr = key >> 8
        plen = key & 0xFF
        top = self._bits - 1
        # descend without prefix checks, remembering key nodes; the nodes on the way are
        # nested, so exactly those no longer than the bits the deepest one shares with
        # the key contain it
        seen: list[_Node] = []
        last = None
        node = self._sync()
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
        table = self._map
        out: list[tuple[int, V]] = []
        for n in seen:
            if n.plen > common:
                break
            k = (n.addr << 8) | n.plen
            out.append((k, table[k]))
        return out

    def longest_match(self, key: int) -> tuple[int, V] | None:
        """The most specific stored prefix containing ``key``, or None."""
        found = self.covering(key)
        return found[-1] if found else None

    def longer(self, key: int) -> Iterator[tuple[int, V]]:
        """Stored prefixes inside ``key`` (including ``key`` itself), in key order."""
        addr = key >> 8
        plen = key & 0xFF
        bits = self._bits
        node = self._sync()
        while node is not None:
            nplen = node.plen
            span = nplen if nplen < plen else plen
            if span and (addr ^ node.addr) >> (bits - span):
                return
            if nplen >= plen:
                yield from self._walk(node)
                return
            node = node.right if (addr >> (bits - 1 - nplen)) & 1 else node.left

    def items(self) -> Iterator[tuple[int, V]]:
        """All ``(key, value)`` pairs in key order (address, then length)."""
        root = self._sync()
        if root is not None:
            yield from self._walk(root)

    def keys(self) -> Iterator[int]:
        for key, _ in self.items():
            yield key

    def __iter__(self) -> Iterator[int]:
        return self.keys()

    def _walk(self, top: _Node) -> Iterator[tuple[int, V]]:
        """Pre-order below ``top`` (left before right: key order, as a prefix sorts before
        everything inside it and its 0-branch before its 1-branch); a change of the key
        set between two steps raises RuntimeError (like a dict)."""
        version = self._version
        table = self._map
        stack = [top]
        pop = stack.pop
        push = stack.append
        while stack:
            node = pop()
            if node.full:
                k = (node.addr << 8) | node.plen
                yield k, table[k]
                if self._version != version:
                    raise RuntimeError("RadixTrie changed during iteration")
            if node.right is not None:
                push(node.right)
            if node.left is not None:
                push(node.left)
