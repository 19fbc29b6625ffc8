# SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
# Test glue for policyd-service: a NOTIFY_SOCKET listener, like systemd's.
#   python3 policyd-notify.py SOCKET OUTFILE
# Binds a datagram socket and appends each message to OUTFILE, one
# notification per line, until killed.
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        msg = s.recv(4096).decode()
        for line in msg.split("\n"):
            if line:
                out.write(line + "\n")
        out.flush()
