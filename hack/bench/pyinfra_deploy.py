"""pyinfra's side of hack/bench/ssh: the same work as mixed.yml or loop.yml (hack/bench/generate-ssh),
leaving the same files with the same contents and modes under /tmp/srplay-bench/<host>/.

Run as `pyinfra -y --parallel N INVENTORY hack/bench/pyinfra_deploy.py --data playbook=mixed`.
pyinfra has no `register`: a command's output is not available to later operations, so the
deploy runs the same commands and computes in Python what mixed.yml computes from their output
(the length of `cat rN.txt` is the length of what the copy wrote). Debug and set_fact have no
remote step, and neither has the task mixed.yml skips with `when`.
"""

from io import StringIO

from pyinfra import host, inventory
from pyinfra.operations import files, server

ROUNDS = 7  # as in hack/bench/generate-ssh
base = f"/tmp/srplay-bench/{host.name}"


def hosts_conf():
    """hosts.conf.j2 rendered: every peer with its address, this host marked."""
    lines = [f"# peers of {host.name}"]
    for peer in inventory.get_group("rig"):
        self_mark = " self" if peer.name == host.name else ""
        lines.append(f"{peer.name} {peer.data.ssh_hostname}{self_mark}")
    return "\n".join(lines) + "\n"


def mixed():
    files.directory(name="base dir", path=base, mode="755")
    files.put(name="hosts.conf", src=StringIO(hosts_conf()), dest=f"{base}/hosts.conf")
    server.shell(name="stat hosts.conf", commands=[f"stat -c %s {base}/hosts.conf"])
    lengths = []
    for i in range(1, ROUNDS + 1):
        content = f"round {i} {host.name}\n"
        files.put(name=f"r{i}.txt", src=StringIO(content), dest=f"{base}/r{i}.txt")
        files.line(name=f"log round {i}", path=f"{base}/log.txt", line=f"round {i}")
        server.shell(name=f"cat r{i}", commands=[f"cat {base}/r{i}.txt"])
        server.shell(
            name=f"len{i}",
            commands=[f"test -e {base}/len{i}.txt || wc -c < {base}/r{i}.txt > {base}/len{i}.txt"],
        )
        files.file(name=f"r{i}.txt mode", path=f"{base}/r{i}.txt", mode="640")
        # Ansible's `stdout` has the trailing newline stripped.
        lengths.append(len(content.rstrip("\n")))
    summary = f"host={host.name} peers={len(inventory.get_group('rig'))}\n" + "".join(
        f"round{i}={n}\n" for i, n in enumerate(lengths, start=1)
    )
    files.put(name="summary.txt", src=StringIO(summary), dest=f"{base}/summary.txt")
    server.shell(name="stat log.txt", commands=[f"stat -c %s {base}/log.txt"])


def loop():
    files.directory(name="base dir", path=base, mode="755")
    for i in range(1, 101):
        files.line(name=f"item {i}", path=f"{base}/loop.txt", line=f"item {i}")


{"mixed": mixed, "loop": loop}[host.data.get("playbook", "mixed")]()
