"""A throwaway Postfix instance in a temporary folder: its own main.cf and a
minimal master.cf (no chroot), its smtpd on 127.0.0.1:PORT, its queue and log
inside the folder. Used by the integration tests (Postfix as the sender and
as the destination of the relay) and by bench/relay_bench (Postfix as the
forwarder to compare with).

Root only: the master runs as root and its services as the postfix user.
Nothing here sends anywhere but where the caller's main.cf says; callers
point every transport at 127.0.0.1 and turn DNS off.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

BASE_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
message_size_limit = 52428800
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
"""

# service type private unpriv chroot wakeup maxproc command
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
local unix - n n - - local
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def why_not_available():
    """Why a Postfix instance cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "Postfix needs root to start"
    if not os.path.exists("/usr/sbin/postfix"):
        return "postfix is not installed"
    return None


class PostfixInstance:
    def __init__(self, port, main_cf, files=None, join_cgroup=None):
        """`main_cf`: lines added to BASE_MAIN_CF; "{root}" in either becomes
        the instance's folder (nothing else is substituted, so Postfix's own
        braces, as in inline:{ ... }, are written as they are);
        `files`: name -> text, written into the folder first (lookup tables);
        `join_cgroup`: a cgroup v1 tasks file the master is started in."""
        self.port = port
        # Its own folder, open to the postfix user (a private one would lock it out).
        self.root = tempfile.mkdtemp(prefix="emailroute-postfix-")
        os.chmod(self.root, 0o755)
        os.makedirs(os.path.join(self.root, "queue"))  # postfix start fills it in
        os.makedirs(os.path.join(self.root, "data"))
        shutil.chown(os.path.join(self.root, "data"), "postfix")
        with open(os.path.join(self.root, "main.cf"), "w") as f:
            f.write((BASE_MAIN_CF + main_cf).replace("{root}", self.root))
        with open(os.path.join(self.root, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=port))
        for name, text in (files or {}).items():
            with open(os.path.join(self.root, name), "w") as f:
                f.write(text)

        def join():  # in the child, before exec: the master and its children stay in the group
            with open(join_cgroup, "w") as t:
                t.write(str(os.getpid()))

        started = subprocess.run(["/usr/sbin/postfix", "-c", self.root, "start"],
                                 preexec_fn=join if join_cgroup else None, capture_output=True, timeout=60)
        if started.returncode != 0:
            raise RuntimeError("postfix start failed (%d): %s\n%s" % (
                started.returncode, started.stderr.decode(errors="replace")[-2000:], self.log()[-2000:]))

    def log(self):
        try:
            with open(os.path.join(self.root, "maillog")) as f:
                return f.read()
        except OSError:
            return ""

    def count(self, pattern):
        return len(re.findall(pattern, self.log()))

    def queue_empty(self):
        queue = os.path.join(self.root, "queue")
        return not any(files for d in ("maildrop", "incoming", "active", "deferred")
                       for _, _, files in os.walk(os.path.join(queue, d)))

    def wait_queue_empty(self, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue_empty():
                return True
            time.sleep(0.1)
        return False

    def master_running(self, pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False

    def stop(self):
        try:
            with open(os.path.join(self.root, "queue", "pid", "master.pid")) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            pid = 0
        subprocess.run(["/usr/sbin/postfix", "-c", self.root, "stop"], capture_output=True, timeout=60)
        for _ in range(100):  # the master takes its services down before it goes
            if not pid or not self.master_running(pid):
                break
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
