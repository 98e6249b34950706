#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The far end of a remote libvirt connection, without a network or a daemon.

libvirt's remote driver runs a command for the ssh and ext transports
(ssh HOST sh -c 'virt-ssh-helper URI', or the ext URI's command) and speaks
its RPC protocol over that command's stdin and stdout. A fake ssh (or the
ext command) execs this script, which answers as a libvirt 9.0 daemon would
as far as a connection and a node-device detach or reattach go, so that
virConnectOpen() really succeeds and virConnectGetURI() gives the remote
URI back. Every call is logged by procedure number and name to LOG; a call
it does not serve gets a libvirt error reply.

Usage: fake-remote-libvirtd.py LOG
"""
import struct
import sys

PROGRAM = 0x20008086  # REMOTE_PROGRAM
CALL, REPLY = 0, 1
OK, ERROR = 0, 1

# Procedure numbers of libvirt's remote_protocol.x (stable: they are wire
# ABI). Calls that only open, probe or close a connection are "connection";
# the rest act on the remote host.
CONNECTION = {1: "CONNECT_OPEN", 2: "CONNECT_CLOSE", 60: "CONNECT_SUPPORTS_FEATURE", 66: "AUTH_LIST"}
ACTING = {113: "NODE_DEVICE_LOOKUP_BY_NAME", 119: "NODE_DEVICE_RE_ATTACH",
          157: "CONNECT_GET_LIB_VERSION", 301: "NODE_DEVICE_DETACH_FLAGS"}


def xdr_string(text):
    data = text.encode()
    return struct.pack(">I", len(data)) + data + b"\0" * (-len(data) % 4)


def reply_body(proc, args):
    """The XDR reply to PROC with ARGS, or None for an error reply."""
    if proc in (1, 2, 119, 301):  # void
        return b""
    if proc == 60:  # no feature: no keepalive, no close callback
        return struct.pack(">i", 0)
    if proc == 66:  # no authentication
        return struct.pack(">I", 0)
    if proc == 113:  # the device is there: its name, as asked
        return args
    if proc == 157:  # libvirt 9.0.0
        return struct.pack(">Q", 9000000)
    return None


def error_body(proc):
    # remote_error: code, domain, message (a remote_string), level, dom,
    # str1, str2, str3, int1, int2, net.
    message = "the fake remote daemon does not serve procedure %d" % proc
    return (struct.pack(">ii", 3, 7) + struct.pack(">I", 1) + xdr_string(message) +
            struct.pack(">i", 2) + struct.pack(">IIIIiiI", 0, 0, 0, 0, 0, 0, 0))


def read_exactly(stream, size):
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main():
    log = open(sys.argv[1], "a", encoding="utf-8")
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        length = read_exactly(stdin, 4)
        if length is None:
            return
        message = read_exactly(stdin, struct.unpack(">I", length)[0] - 4)
        if message is None:
            return
        program, version, proc, kind, serial, _status = struct.unpack(">IIiiIi", message[:24])
        if program != PROGRAM or kind != CALL:
            continue  # keepalive and streams: nothing to answer
        name = CONNECTION.get(proc) or ACTING.get(proc) or "UNKNOWN"
        print("%s %d %s" % ("connection" if proc in CONNECTION else "acting", proc, name), file=log, flush=True)
        body = reply_body(proc, message[24:])
        status = OK if body is not None else ERROR
        if body is None:
            body = error_body(proc)
        header = struct.pack(">IIiiIi", program, version, proc, REPLY, serial, status)
        stdout.write(struct.pack(">I", 4 + len(header) + len(body)) + header + body)
        stdout.flush()


if __name__ == "__main__":
    main()
