"""A throwaway Postfix instance that forwards like emailroute does, for the
relay benchmark's peer: sales@example.com -> alice@dest.test, everything
relayed to [127.0.0.1]:SINK_PORT (never anywhere else: no DNS, no local
delivery), listening on 127.0.0.1:PORT. Its CPU is read from a cgroup v1
cpuacct group that holds the master and every process it starts.

Root only (Postfix drops to the postfix user itself). Postfix's queue, with
its fsyncs, is part of what it costs: that is how it forwards.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

CPUACCT = "/sys/fs/cgroup/cpuacct"

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.bench.test
mydestination =
mynetworks = 127.0.0.0/8
local_transport = error:no local delivery in the benchmark
virtual_alias_domains = example.com
virtual_alias_maps = inline:{{ sales@example.com=alice@dest.test }}
relayhost = [127.0.0.1]:{sink_port}
default_transport = smtp:[127.0.0.1]:{sink_port}
smtp_dns_support_level = disabled
smtpd_recipient_restrictions = permit_mynetworks, reject
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
message_size_limit = 52428800
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
"""


def available():
    """Why this peer cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists("/usr/sbin/postfix"):
        return "postfix is not installed"
    if not os.access(CPUACCT, os.W_OK):
        return "no writable cgroup v1 cpuacct at %s" % CPUACCT
    return None


def _master_cf(port):
    """The packaged master.cf without chroot, its smtpd on 127.0.0.1:PORT."""
    out = []
    for line in open("/etc/postfix/master.cf"):
        fields = line.split()
        if line[:1].isalnum() and len(fields) >= 8:
            fields[4] = "n"  # chroot: the instance lives in a temporary folder
            if fields[0] == "smtp" and fields[1] == "inet":
                fields[0] = "127.0.0.1:%d" % port
            line = " ".join(fields) + "\n"
        out.append(line)
    return "".join(out)


class PostfixForwarder:
    def __init__(self, port, sink_port):
        # Its own folder, open to the postfix user (a private one would lock it out).
        self.root = tempfile.mkdtemp(prefix="emailroute-bench-postfix-")
        os.chmod(self.root, 0o755)
        self.port = port
        self.group = os.path.join(CPUACCT, "emailroute-bench-%d" % os.getpid())
        os.makedirs(os.path.join(self.root, "queue"))  # postfix start fills it in
        os.makedirs(os.path.join(self.root, "data"))
        shutil.chown(os.path.join(self.root, "data"), "postfix")
        with open(os.path.join(self.root, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(root=self.root, sink_port=sink_port))
        with open(os.path.join(self.root, "master.cf"), "w") as f:
            f.write(_master_cf(port))
        os.makedirs(self.group)
        tasks = os.path.join(self.group, "tasks")

        def join_group():  # in the child, before exec: master and its children stay in the group
            with open(tasks, "w") as t:
                t.write(str(os.getpid()))

        subprocess.run(["/usr/sbin/postfix", "-c", self.root, "start"], preexec_fn=join_group, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    def cpu_seconds(self):
        with open(os.path.join(self.group, "cpuacct.usage")) as f:
            return int(f.read()) / 1e9

    def delivered(self):
        """Messages Postfix's smtp client handed to the sink with status=sent."""
        try:
            return len(re.findall(r" status=sent ", open(os.path.join(self.root, "maillog")).read()))
        except OSError:
            return 0

    def wait_queue_empty(self, timeout=300):
        deadline = time.monotonic() + timeout
        queue = os.path.join(self.root, "queue")
        while time.monotonic() < deadline:
            busy = any(files for d in ("incoming", "active", "deferred")
                       for _, _, files in os.walk(os.path.join(queue, d)))
            if not busy:
                return True
            time.sleep(0.2)
        return False

    def stop(self):
        subprocess.run(["/usr/sbin/postfix", "-c", self.root, "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        for _ in range(100):  # the group can go only once its processes have
            try:
                os.rmdir(self.group)
                break
            except OSError:
                time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
