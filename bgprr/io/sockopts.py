"""Linux socket options a BGP speaker needs: TCP-MD5 (RFC 2385), TTL security (RFC 5082)."""

from __future__ import annotations

import ipaddress
import socket
import struct

TCP_MD5SIG = 14  # linux/tcp.h
TCP_MD5SIG_EXT = 32  # linux/tcp.h: with a prefix length (Linux 4.13)
TCP_MD5SIG_FLAG_PREFIX = 1
TCP_MD5SIG_MAXKEYLEN = 80
IP_MINTTL = 21  # linux/in.h
IPV6_MINHOPCOUNT = 73  # linux/in6.h


def _sockaddr_storage(address: str) -> bytes:
    """A ``struct sockaddr_storage`` (128 bytes) holding ``address`` with port 0."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        raw = struct.pack("=H", socket.AF_INET) + b"\x00\x00" + ip.packed
    else:
        raw = struct.pack("=H", socket.AF_INET6) + b"\x00\x00" + b"\x00" * 4 + ip.packed
        raw += b"\x00" * 4  # scope id
    return raw.ljust(128, b"\x00")


def md5sig_struct(address: str, password: str | None, prefixlen: int | None = None) -> bytes:
    """``struct tcp_md5sig`` for ``address`` (or, with ``prefixlen``, every address of that
    prefix: TCP_MD5SIG_EXT); an empty key removes the signature."""
    key = (password or "").encode()
    if len(key) > TCP_MD5SIG_MAXKEYLEN:
        raise ValueError(f"TCP-MD5 password longer than {TCP_MD5SIG_MAXKEYLEN} bytes")
    # sockaddr_storage, u8 flags, u8 prefixlen, u16 keylen, u32 ifindex, key[80]
    flags = 0 if prefixlen is None else TCP_MD5SIG_FLAG_PREFIX
    return _sockaddr_storage(address) + struct.pack(
        "=BBHI", flags, prefixlen or 0, len(key), 0
    ) + key.ljust(TCP_MD5SIG_MAXKEYLEN, b"\x00")


def set_md5(sock: socket.socket, address: str, password: str | None) -> None:
    """Install (or with ``None`` remove) the TCP-MD5 key for peer ``address`` on ``sock``.

    Works on listening sockets (one entry per peer) and on connecting sockets.
    """
    peer = ipaddress.ip_address(address)
    if sock.family == socket.AF_INET6 and peer.version == 4:
        address = f"::ffff:{address}"
    sock.setsockopt(socket.IPPROTO_TCP, TCP_MD5SIG, md5sig_struct(address, password))


def set_md5_prefix(sock: socket.socket, prefix: str, password: str) -> None:
    """Install the TCP-MD5 key for every peer in ``prefix`` (a dynamic-neighbor range) on a
    listening socket."""
    net = ipaddress.ip_network(prefix)
    sock.setsockopt(
        socket.IPPROTO_TCP,
        TCP_MD5SIG_EXT,
        md5sig_struct(str(net.network_address), password, net.prefixlen),
    )


def set_ttl(sock: socket.socket, ttl: int) -> None:
    """Outgoing TTL / hop limit (multihop TTL, or 255 for TTL security)."""
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)


def set_min_ttl(sock: socket.socket, min_ttl: int) -> None:
    """RFC 5082 GTSM: drop packets arriving with a TTL below ``min_ttl``."""
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_MINHOPCOUNT, min_ttl)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_MINTTL, min_ttl)


def set_nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def set_listener_md5(
    sock: socket.socket, keys: list[tuple[str, str, bool]]
) -> list[tuple[str, OSError]]:
    """Set the TCP-MD5 ``keys`` (address or prefix, password, is a prefix) of the listening
    ``sock``'s address family; returns the ones that failed, with their errors."""
    v6 = sock.family == socket.AF_INET6
    failed: list[tuple[str, OSError]] = []
    for where, password, is_range in keys:
        if (":" in where) != v6:
            continue
        try:
            if is_range:
                set_md5_prefix(sock, where, password)
            else:
                set_md5(sock, where, password)
        except OSError as exc:
            failed.append((where, exc))
    return failed
