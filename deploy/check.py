#!/usr/bin/env python3
"""Checks the deployment files without a cluster (run by .ci/run).

- every kustomize shape renders (`kubectl kustomize`) and passes
  `kubernetes-validate --strict`; Route (OpenShift's, no bundled schema) and
  the rules the team deploys by are checked here: edge TLS, the Route's host
  allowed by `serve`, probes, non-root, dropped capabilities, seccomp,
  resources, and the strategy each shape needs;
- `hadolint` on the Containerfile;
- `systemd-analyze verify` on the unit, failing on anything it prints
  (it warns on stderr and still exits 0).

usage: deploy/check.py STATEBOX_BINARY
"""
import json, os, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def render(shape):
    out = run("kubectl", "kustomize", os.path.join(HERE, "openshift", shape))
    check(out.returncode == 0, f"{shape}: kubectl kustomize renders ({out.stderr.strip()})")
    docs = run(sys.executable, "-c",
               "import sys, json, yaml; json.dump(list(yaml.safe_load_all(sys.stdin)), sys.stdout)",
               input=out.stdout)
    return out.stdout, json.loads(docs.stdout)


def shape_rules(shape, docs):
    kinds = {d["kind"]: d for d in docs}
    for kind in ["Deployment", "Service", "Route"]:
        check(kind in kinds, f"{shape}: has a {kind}")
    route, deploy = kinds["Route"], kinds["Deployment"]
    check(route["spec"].get("tls", {}).get("termination") == "edge", f"{shape}: Route terminates TLS at the edge")
    spec = deploy["spec"]
    pod = spec["template"]["spec"]
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, f"{shape}: runAsNonRoot")
    check(pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault",
          f"{shape}: seccompProfile RuntimeDefault")
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c.get("securityContext", {})
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{shape}/{c['name']}: drops ALL capabilities")
        check(sc.get("allowPrivilegeEscalation") is False, f"{shape}/{c['name']}: no privilege escalation")
        res = c.get("resources", {})
        check("requests" in res and "limits" in res, f"{shape}/{c['name']}: resource requests and limits")
        check(c["image"].startswith(("quay.io/", "registry.access.redhat.com/")),
              f"{shape}/{c['name']}: image from quay.io or registry.access.redhat.com")
    main = pod["containers"][0]
    check(main["livenessProbe"]["httpGet"]["path"] == "/healthz", f"{shape}: liveness on /healthz")
    check(main["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{shape}: readiness on /readyz")
    args = main.get("args", [])
    check(f"--allowed-host={route['spec']['host']}" in args, f"{shape}: the Route's host is an allowed host")
    secrets = {e["valueFrom"]["secretKeyRef"]["key"] for e in main.get("env", []) if "valueFrom" in e}
    mounted = {i["key"] for v in pod.get("volumes", []) if "secret" in v for i in v["secret"].get("items", [])}
    check({"github-token"} <= secrets and {"bearer-token", "age-identity"} <= mounted,
          f"{shape}: GITHUB_TOKEN, bearer token and age identity come from the Secret")
    if shape == "github":
        check(spec["replicas"] == 2 and spec["strategy"]["type"] == "RollingUpdate",
              "github: 2 replicas, RollingUpdate")
        check(not any("persistentVolumeClaim" in v for v in pod.get("volumes", [])), "github: no volume")
        check(any(a.startswith("--github=") for a in args), "github: serves through the GitHub API")
    else:
        check(spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate",
              "clone: 1 replica, Recreate (a ReadWriteOnce volume has one writer)")
        check(kinds["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"], "clone: RWO volume")
        check("--remote=origin" in args, "clone: pushes every write with --remote origin")
        check(pod["initContainers"][0]["command"] == ["statebox-init-clone"], "clone: init step clones or fetches")


def main():
    binary = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        for shape in ["github", "clone"]:
            text, docs = render(shape)
            path = os.path.join(tmp, f"{shape}.yaml")
            with open(path, "w") as f:
                f.write(text)
            out = run("kubernetes-validate", "--strict", "-k", "1.33.0", path)
            bad = [l for l in (out.stdout + out.stderr).splitlines()
                   if not l.startswith("INFO") and "Couldn't find schema for kind Route" not in l]
            check(out.returncode == 0 and not bad, f"{shape}: kubernetes-validate --strict {bad}")
            shape_rules(shape, docs)
        example = os.path.join(HERE, "openshift", "common", "secret.example.yaml")
        out = run("kubernetes-validate", "--strict", "-k", "1.33.0", example)
        check(out.returncode == 0, "secret.example.yaml validates")

        out = run("hadolint", os.path.join(HERE, "Containerfile"))
        check(out.returncode == 0 and not out.stdout.strip(), f"hadolint Containerfile {out.stdout.strip()}")

        unit = os.path.join(tmp, "statebox.service")
        with open(os.path.join(HERE, "systemd", "statebox.service")) as f:
            text = f.read()
        # verify checks that ExecStart exists: point it at the binary built here.
        with open(unit, "w") as f:
            f.write(text.replace("/usr/local/bin/statebox", binary))
        out = run("systemd-analyze", "verify", unit)
        check(out.returncode == 0 and not out.stderr.strip(), f"systemd-analyze verify {out.stderr.strip()}")
        for key in ["DynamicUser=yes", "StateDirectory=statebox", "EnvironmentFile=-/etc/statebox/env",
                    "Restart=on-failure", "NoNewPrivileges=yes", "ProtectSystem=strict", "--listen 127.0.0.1:"]:
            check(key in text, f"unit has {key}")
    print(f"{len(failures)} failed" if failures else "deployment checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
