"""Pure routing tables: radix trie, attribute interning, paths and best-path selection."""
