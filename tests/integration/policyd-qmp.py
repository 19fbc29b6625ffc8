# SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
# Test glue for the policyd-* integration tests: a minimal QMP client.
#   python3 policyd-qmp.py SOCKET COMMAND [JSON-ARGUMENTS]   print the return value
#   python3 policyd-qmp.py SOCKET wait-migration STATUS[,STATUS] SECONDS
#                                   poll query-migrate until one of STATUS; print it
import json
import socket
import sys
import time


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.f = self.s.makefile("rw")
        json.loads(self.f.readline())  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name, args=None):
        req = {"execute": name}
        if args is not None:
            req["arguments"] = args
        self.f.write(json.dumps(req) + "\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "event" in msg:
                continue
            if "error" in msg:
                sys.exit("qmp %s: %s" % (name, msg["error"].get("desc")))
            return msg["return"]


def main():
    q = Qmp(sys.argv[1])
    if sys.argv[2] == "wait-migration":
        want = sys.argv[3].split(",")
        deadline = time.time() + float(sys.argv[4])
        status = None
        while time.time() < deadline:
            status = q.cmd("query-migrate").get("status", "none")
            if status in want:
                print(status)
                return
            time.sleep(0.1)
        sys.exit("migration status is %s, not %s, after %s s" % (status, sys.argv[3], sys.argv[4]))
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(q.cmd(sys.argv[2], args)))


main()
