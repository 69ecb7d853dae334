"""A single-node SLURM cluster on this machine for the tests: munged, slurmctld and slurmd of Debian's
slurm-wlm and munge (tools/install_deb_deps.sh), with a generated slurm.conf and every state, spool,
socket and log under one temporary directory, started in the foreground as our children and stopped
by their process ids.

Settings that work in a container: proctrack/linuxproc and task/none (no cgroups), SlurmUser=root,
no accounting storage (so no sacct: utils/slurm.pl and nas.launch.slurm wait on squeue), and
SlurmdParameters=config_overrides so that the node may claim more CPUs than the machine has (three
test jobs at once on a 2-core machine).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scancel", "sinfo", "scontrol")
PARTITION = "debug"


class ClusterUnavailable(RuntimeError):
    """Why the cluster cannot run here; the tests skip with this message."""


def _which(name: str) -> Optional[str]:
    return shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)),
                                      None)


def free_ports(n: int) -> List[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _tail(path: Path, n: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return f"({path} not written)"


@dataclass
class Cluster:
    root: Path
    procs: Dict[str, subprocess.Popen] = field(default_factory=dict)
    node: str = ""

    @property
    def conf(self) -> Path:
        return self.root / "slurm.conf"

    @property
    def env(self) -> Dict[str, str]:
        """What a client command (sbatch, squeue, utils/slurm.pl) needs to find this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.env}
        p = subprocess.run(list(cmd), env=env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
        return p

    def logs(self) -> str:
        return "\n".join(f"--- {name}.log:\n{_tail(self.root / f'{name}.log')}" for name in DAEMONS)

    def queue(self) -> List[str]:
        return self.run("squeue", "-h", "-r", "-o", "%i").stdout.split()


def _write_files(c: Cluster, ctld_port: int, slurmd_port: int) -> None:
    root = c.root
    for d in ("munge", "state", "spool"):
        (root / d).mkdir(mode=0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    c.node = socket.gethostname().split(".")[0]
    c.conf.write_text("\n".join([
        "ClusterName=nastest",
        f"SlurmctldHost={c.node}(127.0.0.1)",
        f"SlurmctldPort={ctld_port}", f"SlurmdPort={slurmd_port}",
        "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={root}/munge/munge.socket",
        f"StateSaveLocation={root}/state", f"SlurmdSpoolDir={root}/spool",
        f"SlurmctldPidFile={root}/slurmctld.pid", f"SlurmdPidFile={root}/slurmd.pid",
        f"SlurmctldLogFile={root}/slurmctld.log", f"SlurmdLogFile={root}/slurmd.log",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none", "SwitchType=switch/none", "MpiDefault=none",
        "SchedulerType=sched/builtin", "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU",
        "SlurmdParameters=config_overrides", "ReturnToService=2", "MinJobAge=30", "KillWait=2",
        "InactiveLimit=0", "SlurmctldTimeout=30", "SlurmdTimeout=30", "MessageTimeout=20",
        f"NodeName={c.node} NodeAddr=127.0.0.1 CPUs=8 RealMemory=4000 State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={c.node} Default=YES MaxTime=INFINITE State=UP",
        ""]))


def _start(c: Cluster, name: str, argv: List[str]) -> None:
    log = open(c.root / f"{name}.out", "w")
    c.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **c.env},
                                     start_new_session=True)
    log.close()


def _wait_idle(c: Cluster, timeout: float) -> None:
    deadline = time.time() + timeout
    state = ""
    while time.time() < deadline:
        for name, p in c.procs.items():
            if p.poll() is not None:
                raise ClusterUnavailable(f"{name} exited with {p.returncode}: {_tail(c.root / f'{name}.out')}")
        p = c.run("sinfo", "-h", "-o", "%t", check=False)
        state = p.stdout.strip() or p.stderr.strip()
        if p.returncode == 0 and state in ("idle", "mix", "alloc"):
            return
        time.sleep(0.5)
    raise ClusterUnavailable(f"the node did not come up in {timeout:.0f} s (sinfo: {state!r})")


def start_cluster(root: Path, timeout: float = 40) -> Cluster:
    """munged, slurmctld and slurmd under `root`; raises ClusterUnavailable (with the daemons' last
    log lines) when the packages are missing or the node does not come up, after stopping what started."""
    missing = [n for n in DAEMONS + CLIENTS if _which(n) is None]
    if missing:
        raise ClusterUnavailable(f"not installed: {' '.join(missing)} (Debian's slurm-wlm and munge; "
                                 f"tools/install_deb_deps.sh installs them)")
    c = Cluster(Path(root))
    _write_files(c, *free_ports(2))
    m = c.root / "munge"
    try:
        _start(c, "munged", [_which("munged"), "--foreground", "--force", f"--key-file={m}/munge.key",
                             f"--socket={m}/munge.socket", f"--pid-file={m}/munged.pid",
                             f"--log-file={c.root}/munged.log", f"--seed-file={m}/munged.seed"])
        deadline = time.time() + 10
        while not (m / "munge.socket").exists():
            if time.time() > deadline or c.procs["munged"].poll() is not None:
                raise ClusterUnavailable(f"munged did not open its socket: {_tail(c.root / 'munged.out')}")
            time.sleep(0.1)
        _start(c, "slurmctld", [_which("slurmctld"), "-D", "-f", str(c.conf)])
        _start(c, "slurmd", [_which("slurmd"), "-D", "-f", str(c.conf), "-N", c.node])
        _wait_idle(c, timeout)
    except (ClusterUnavailable, OSError, subprocess.TimeoutExpired) as e:
        logs = c.logs()
        stop_cluster(c)
        raise ClusterUnavailable(f"{e}\n{logs}") from None
    return c


def stop_cluster(c: Cluster) -> None:
    """Cancel what is left in the queue, then stop slurmd, slurmctld and munged by their process ids."""
    if "slurmctld" in c.procs and c.procs["slurmctld"].poll() is None:
        try:
            c.run("scancel", "--full", "-u", "root", check=False, timeout=20)
            deadline = time.time() + 15
            while time.time() < deadline and c.queue():
                time.sleep(0.5)
        except (ClusterUnavailable, subprocess.TimeoutExpired):
            pass
    for name in ("slurmd", "slurmctld", "munged"):
        p = c.procs.get(name)
        if p is None or p.poll() is not None:
            continue
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
