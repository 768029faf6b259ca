"""Postfix forwarding like emailroute does, for the relay benchmark's peer:
sales@example.com -> alice@dest.test, everything relayed to
[127.0.0.1]:SINK_PORT (no DNS, no local delivery), listening on
127.0.0.1:PORT. Its CPU is read from a cgroup v1 cpuacct group that holds the
master and every process it starts. Postfix's queue, with its fsyncs, is part
of what it costs: that is how it forwards.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration", "postfix"))
from postfix_instance import PostfixInstance, why_not_available  # noqa: E402

CPUACCT = "/sys/fs/cgroup/cpuacct"

FORWARDER_CF = """\
myhostname = mx.bench.test
local_transport = error:no local delivery in the benchmark
virtual_alias_domains = example.com
virtual_alias_maps = inline:{{ sales@example.com=alice@dest.test }}
relayhost = [127.0.0.1]:{sink_port}
default_transport = smtp:[127.0.0.1]:{sink_port}
smtpd_recipient_restrictions = permit_mynetworks, reject
"""


def available():
    """Why this peer cannot run here, or None when it can."""
    why = why_not_available()
    if why is None and not os.access(CPUACCT, os.W_OK):
        why = "no writable cgroup v1 cpuacct at %s" % CPUACCT
    return why


class PostfixForwarder:
    def __init__(self, port, sink_port):
        self.port = port
        self.group = os.path.join(CPUACCT, "emailroute-bench-%d" % os.getpid())
        os.makedirs(self.group)
        cf = FORWARDER_CF.format(sink_port=sink_port)
        self.postfix = PostfixInstance(port, cf, join_cgroup=os.path.join(self.group, "tasks"))

    def cpu_seconds(self):
        with open(os.path.join(self.group, "cpuacct.usage")) as f:
            return int(f.read()) / 1e9

    def delivered(self):
        """Messages Postfix's smtp client handed to the sink."""
        return self.postfix.count(r" status=sent ")

    def wait_queue_empty(self, timeout=300):
        return self.postfix.wait_queue_empty(timeout)

    def stop(self):
        self.postfix.stop()
        for _ in range(100):  # the group can go only once its processes have
            try:
                os.rmdir(self.group)
                break
            except OSError:
                time.sleep(0.1)
