"""The reflector pod of deploy/kubernetes, run the way a Kubernetes node's runtime runs it.

No kubelet here, so the test does the kubelet's and the CRI's part itself: an OCI bundle
made from the StatefulSet and its ConfigMap (the image's entry point and environment, the
pod's user and group, capabilities `drop: [ALL]` + `add` in the bounding, permitted and
effective sets and none ambient, as containerd's CRI does, `allowPrivilegeEscalation` as
no_new_privs, a read-only root, the ConfigMap read-only at its mount path, the hostPath
state directory owned by the pod's user, the emptyDir as a 0777 directory, the node's
address as ROUTER_IP), run by runc in a lab host's network namespace (host networking),
with three Calico nodes (BIRD 1.6) peering with it. The node range in rr.toml is the lab's.

1. The pod listens on port 179 as uid 179 through tini, the nodes converge, and the probes'
   own commands (run as `runc exec` runs an exec probe) answer: live, then ready.
2. A rollout: the pod gets SIGTERM, a new one starts on the same state directory: the
   nodes lose no kernel route, and the new pod gets ready again.
3. The same pod with no_new_privs cannot bind port 179 (why allowPrivilegeEscalation is
   true: tini holds no capability, so bgprr's file capability is not granted).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance import configs
from conformance.cluster import FABRIC4, Cluster, prefixes_of, wait_converged
from conformance.container import CAP_NET_BIND_SERVICE, ensure_image, inspect_image, listening
from conformance.container import podman as run_podman
from conformance.netns import Lab, wait_for

REPO = Path(__file__).resolve().parent.parent
REFLECTOR = REPO / "deploy" / "kubernetes" / "reflector"
CAPS = {"NET_BIND_SERVICE": "CAP_NET_BIND_SERVICE"}


def _objects() -> tuple[dict[str, Any], dict[str, Any]]:
    sts = yaml.safe_load((REFLECTOR / "statefulset.yaml").read_text())
    cm = yaml.safe_load((REFLECTOR / "configmap.yaml").read_text())
    return sts, cm


class Pod:
    """One replica of the StatefulSet as an OCI container (runc), in ``host_ns``."""

    def __init__(self, lab: Lab, rootfs: Path, host_ns: str, host_ip: str,
                 state: Path, *, no_new_privs: bool | None = None) -> None:
        sts, cm = _objects()
        self.lab = lab
        self.spec = sts["spec"]["template"]["spec"]
        (self.container,) = self.spec["containers"]
        self.bundle = lab.workdir / f"bundle-{len(list(lab.workdir.glob('bundle-*')))}"
        self.bundle.mkdir()
        self.id = f"bgprr-{os.getpid()}-{self.bundle.name}"
        self.log = lab.workdir / f"{self.bundle.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        image = inspect_image()
        cfg = self._config(image["Config"], rootfs, cm, host_ns, host_ip, state, no_new_privs)
        (self.bundle / "config.json").write_text(json.dumps(cfg, indent=1))

    def _config(self, image: dict[str, Any], rootfs: Path, cm: dict[str, Any], host_ns: str,
                host_ip: str, state: Path, no_new_privs: bool | None) -> dict[str, Any]:
        c, pod_sec = self.container, self.spec["securityContext"]
        sec = c["securityContext"]
        subprocess.run(["runc", "spec"], cwd=self.bundle, check=True)
        cfg: dict[str, Any] = json.loads((self.bundle / "config.json").read_text())
        # The container's arguments replace the image's CMD; the entry point stays.
        env = [e for e in image.get("Env", [])]
        for e in c.get("env", []):
            assert e["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
            env.append(f"{e['name']}={host_ip}")
        caps = sorted(CAPS[x] for x in sec["capabilities"]["add"])
        assert sec["capabilities"]["drop"] == ["ALL"]
        if no_new_privs is None:
            no_new_privs = not sec["allowPrivilegeEscalation"]
        cfg["process"].update({
            "terminal": False,
            "user": {"uid": pod_sec["runAsUser"], "gid": pod_sec["runAsGroup"]},
            "args": [*image["Entrypoint"], *c["args"]],
            "env": env,
            "cwd": image.get("WorkingDir") or "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": no_new_privs,
        })
        cfg["process"].pop("rlimits", None)
        cfg["root"] = {"path": str(rootfs), "readonly": sec["readOnlyRootFilesystem"]}
        cfg["hostname"] = self.id[-30:]
        cfg["mounts"] += self._volumes(cm, state)
        namespaces = [n for n in cfg["linux"]["namespaces"] if n["type"] != "network"]
        cfg["linux"]["namespaces"] = [*namespaces,
                                      {"type": "network", "path": f"/run/netns/{host_ns}"}]
        return cfg

    def _volumes(self, cm: dict[str, Any], state: Path) -> list[dict[str, Any]]:
        out = []
        volumes = {v["name"]: v for v in self.spec["volumes"]}
        for m in self.container["volumeMounts"]:
            v = volumes[m["name"]]
            src = self.bundle / f"vol-{m['name']}"
            if "configMap" in v:
                assert v["configMap"]["name"] == cm["metadata"]["name"]
                src.mkdir()
                for key, text in cm["data"].items():
                    # The lab's node range instead of the example's.
                    text = re.sub(r'prefix = "[^"]+"', f'prefix = "{FABRIC4}"', text)
                    (src / key).write_text(text)
            elif "hostPath" in v:
                assert v["hostPath"]["type"] == "Directory"
                src = state  # prepared as docs/kubernetes.md says (owner 179)
            elif "emptyDir" in v:
                src.mkdir()
                src.chmod(0o777)  # what the kubelet makes of an emptyDir
            opts = ["rbind", "ro" if m.get("readOnly") else "rw"]
            out.append({"destination": m["mountPath"], "type": "bind", "source": str(src),
                        "options": opts})
        return out

    def start(self) -> None:
        # Not through `ip netns exec`, whose private /sys hides the cgroup mounts runc
        # needs: the container's network namespace is the config's.
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                ["runc", "run", "--bundle", str(self.bundle), self.id],
                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT,
                start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def exec(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        """``argv`` in the container, as the kubelet runs an exec probe."""
        sec = self.spec["securityContext"]
        caps = [a for x in self.container["securityContext"]["capabilities"]["add"]
                for a in ("--cap", CAPS[x])]
        return subprocess.run(["runc", "exec", "--user", f"{sec['runAsUser']}:"
                               f"{sec['runAsGroup']}", *caps, self.id, *argv],
                              capture_output=True, text=True, timeout=30, check=False)

    def probe(self, which: str) -> int:
        return self.exec(self.container[which]["exec"]["command"]).returncode

    def processes(self) -> dict[str, dict[str, str]]:
        """The container's processes by command name: their /proc status fields (host view)."""
        state = json.loads(subprocess.run(["runc", "state", self.id], capture_output=True,
                                          text=True, check=True).stdout)
        out: dict[str, dict[str, str]] = {}
        todo = [int(state["pid"])]
        while todo:
            pid = todo.pop()
            status = dict(line.split(":\t", 1) for line in
                          Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            out[" ".join(x.decode() for x in cmd[:2])] = status
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            todo += [int(x) for x in children]
        return out

    def stop(self, timeout: float) -> int | None:
        """SIGTERM, as the kubelet sends it; the exit status (None: still running)."""
        subprocess.run(["runc", "kill", self.id, "TERM"], capture_output=True, check=False)
        assert self.proc is not None
        try:
            code: int | None = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.delete()
        return code

    def delete(self) -> None:
        """Kill and remove the container (and its runc process), whatever its state."""
        subprocess.run(["runc", "delete", "--force", self.id], capture_output=True,
                       check=False)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def rootfs(lab: Lab, rr_kind: str) -> Path:
    """A copy of the image's root filesystem (file capabilities kept)."""
    if rr_kind != "bgprr":
        pytest.skip("the pod runs bgprr's image")
    if shutil.which("runc") is None:
        pytest.fail("runc is not installed: run .ci/install-deps")
    image = ensure_image()
    mount = run_podman("image", "mount", image).stdout.strip()
    dest = lab.workdir / "rootfs"
    try:
        subprocess.run(["cp", "-a", "--preserve=all", f"{mount}/.", str(dest)], check=True)
    finally:
        run_podman("image", "unmount", image, check=False)
    return dest


def _state_dir(lab: Lab, name: str) -> Path:
    state = lab.workdir / name
    state.mkdir()
    sec = yaml.safe_load((REFLECTOR / "statefulset.yaml").read_text())["spec"]["template"][
        "spec"]["securityContext"]
    os.chown(state, sec["runAsUser"], sec["runAsGroup"])
    return state


def _cluster(lab: Lab) -> Cluster:
    # The nodes and the reflector's host; the reflector itself is the pod.
    return Cluster(lab, "bgprr", 3, dynamic=True)


def test_pod_runs_converges_and_rolls_without_loss(lab: Lab, rootfs: Path) -> None:
    cl = _cluster(lab)
    host = cl.rr.host
    state = _state_dir(lab, "var-lib-bgprr")
    pod = Pod(lab, rootfs, host.ns, cl.rr.address, state)
    try:
        pod.start()
        wait_for(lambda: listening(lab, host.ns) or not pod.alive(), 20, 0.1,
                 "pod listening")
        assert pod.alive(), pod.log_tail()
        procs = pod.processes()
        (init,) = [s for cmd, s in procs.items() if cmd.startswith("/usr/bin/tini")]
        (daemon,) = [s for cmd, s in procs.items() if "python3" in cmd]
        assert daemon["Uid"].split()[0] == "179" and init["Uid"].split()[0] == "179"
        assert int(daemon["CapEff"], 16) == CAP_NET_BIND_SERVICE
        assert int(init["CapEff"], 16) == 0 and int(daemon["CapAmb"], 16) == 0
        assert pod.probe("livenessProbe") == 0
        for node in cl.nodes:
            node.start()
        cl.wait_established()
        wait_converged(cl.nodes, cl.nodes, [configs.CLUSTER_ID])
        wait_for(lambda: pod.probe("readinessProbe") == 0, 30, 0.5, "pod ready")

        # A rollout: SIGTERM, then a new pod on the node's state directory.
        everything = prefixes_of(cl.nodes)
        watchers = [lab.watch_routes(n.host.ns) for n in cl.nodes]
        try:
            t0 = time.monotonic()
            grace = pod.spec["terminationGracePeriodSeconds"]
            assert pod.stop(grace) == 0, pod.log_tail()
            stopped = time.monotonic() - t0
            assert (state / "established-peers").exists()
            pod = Pod(lab, rootfs, host.ns, cl.rr.address, state)
            pod.start()
            wait_for(lambda: pod.probe("readinessProbe") == 0, 60, 0.5, "new pod ready")
            wait_converged(cl.nodes, cl.nodes, [configs.CLUSTER_ID])
            time.sleep(5)  # End-of-RIB and stale sweeps play out on every node
            for n, w in zip(cl.nodes, watchers, strict=True):
                lost = [d for d in w.deleted if d in everything]
                assert not lost, f"{n.name}: kernel route deletions in the rollout: {lost}"
            print(f"pod stopped {stopped:.2f} s after SIGTERM (grace period {grace} s)")
        finally:
            for w in watchers:
                w.close()
    finally:
        pod.delete()


def test_pod_with_no_new_privs_cannot_bind(lab: Lab, rootfs: Path) -> None:
    cl = _cluster(lab)
    pod = Pod(lab, rootfs, cl.rr.host.ns, cl.rr.address, _state_dir(lab, "state-nnp"),
              no_new_privs=True)
    try:
        pod.start()
        wait_for(lambda: not pod.alive(), 20, 0.1, "pod exits")
        assert pod.proc is not None and pod.proc.returncode != 0
        assert "Permission denied" in pod.log_tail(), pod.log_tail()
        assert not listening(lab, cl.rr.host.ns)
    finally:
        pod.delete()
