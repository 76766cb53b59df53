"""Differential tests: the same GoBGP TOML and the same announcements through gobgpd 3.10
and bgprr, and what every neighbor receives compared prefix by prefix and attribute by
attribute (docs/interop.md, "Differential tests against gobgpd")."""
