"""The README's example policy (examples/policies/rollback-on-crash) in Python.

Roll a Deployment back to its previous revision when pods of the current one
keep failing past a grace period. Built with componentize-py against the same
WIT package; it reads the snapshot as JSON through `host.snapshot-json` and
passes the Rust policy's suite (scripts/build-python-policy.sh builds it).
"""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, types

# Waiting reasons that mean the container will not start by itself, as the
# snapshot's JSON names them.
FAILING_WAITS = {
    "image-pull-back-off",
    "err-image-pull",
    "crash-loop-back-off",
    "create-container-error",
    "create-container-config-error",
    "run-container-error",
    "invalid-image-name",
}


# Termination reasons that say no more than that a container exited; any
# other (OOMKilled, StartError, ...) is a crash loop's most specific reason.
GENERIC_TERMINATIONS = {"Error", "Completed", "Unknown", ""}


def kubernetes_name(kebab):
    """`crash-loop-back-off` as Kubernetes writes it: `CrashLoopBackOff`."""
    return "".join(part.capitalize() for part in kebab.split("-"))


def parse_settings(text):
    settings = json.loads(text or "{}")
    if not isinstance(settings, dict):
        raise Err("settings must be a JSON object")
    unknown = sorted(set(settings) - {"graceSeconds"})
    if unknown:
        raise Err(f"invalid settings: unknown field `{unknown[0]}`, expected `graceSeconds`")
    grace = settings.get("graceSeconds", 120)
    if not isinstance(grace, int) or isinstance(grace, bool):
        raise Err("invalid settings: graceSeconds must be a whole number of seconds")
    if grace < 0:
        raise Err(f"invalid settings: graceSeconds must not be negative (got {grace})")
    return grace


def is_reason(text):
    """Whether text has the shape of a Kubernetes reason (a short CamelCase word)."""
    return bool(text) and len(text) <= 64 and text[0].isascii() and text[0].isalpha() \
        and all(c.isascii() and c.isalnum() for c in text)


def condition(conditions, kind):
    return next((c for c in conditions if c["kind"] == kind), None)


class Snapshot:
    """The parts of the snapshot this policy reads."""

    def __init__(self, data):
        self.data = data
        self.now = data["now"]
        self.objects = data["objects"]

    def current_release(self):
        return next((r for r in self.data["releases"] if r["current"]), None)

    def previous_release(self):
        current = self.current_release()
        if current is None or current["revision"] is None:
            return None
        older = [r for r in self.data["releases"] if r["revision"] is not None and r["revision"] < current["revision"]]
        return max(older, key=lambda r: r["revision"], default=None)

    def descends_from(self, index, ancestor):
        for _ in range(len(self.objects) + 1):
            if index is None:
                return False
            if index == ancestor:
                return True
            index = self.objects[index]["owner"]
        return False

    def pods_under(self, ancestor):
        return [p for p in self.data["pods"] if self.descends_from(p["object"], ancestor)]

    def pod_name(self, pod):
        return self.objects[pod["object"]]["name"]


def not_ready_since(pod):
    ready = condition(pod["conditions"], "Ready")
    if ready is not None and ready["status"] != "true" and ready["last-transition"] is not None:
        return ready["last-transition"]
    return pod["started"] if pod["started"] is not None else pod["created"]


def pod_problems(pod):
    """(reason, message, container, since) for everything wrong with a pod."""
    if pod["deleting"]:
        return []
    if pod["phase"] == "failed":
        return [(pod["reason"] or "PodFailed", pod["message"] or "the pod failed", None, not_ready_since(pod))]
    problems = []
    for container in pod["containers"]:
        state = container["state"]
        waiting = state.get("waiting") if isinstance(state, dict) else None
        if waiting is None or not isinstance(waiting["reason"], str) or waiting["reason"] not in FAILING_WAITS:
            continue
        reason = kubernetes_name(waiting["reason"])
        message = f"container {container['name']} ({container['image']}) is waiting: {reason}"
        if waiting["message"]:
            message += f": {waiting['message']}"
        last = container.get("last-terminated")
        if reason == "CrashLoopBackOff" and last and (last.get("reason") or "") not in GENERIC_TERMINATIONS:
            reason = last["reason"]
        problems.append((reason, message, container["name"], not_ready_since(pod)))
    if problems:
        return problems
    if pod["phase"] == "pending":
        scheduled = condition(pod["conditions"], "PodScheduled")
        if scheduled is not None and scheduled["status"] == "false":
            since = scheduled["last-transition"] if scheduled["last-transition"] is not None else pod["created"]
            return [(scheduled["reason"] or "Unschedulable", scheduled["message"] or "the pod cannot be scheduled", None, since)]
        return [("Pending", "the pod has not started", None, pod["created"])]
    if pod["phase"] == "running":
        ready = condition(pod["conditions"], "Ready")
        serving = [c for c in pod["containers"] if c["role"] != "init"]
        if (ready is not None and ready["status"] == "true") or (ready is None and all(c["ready"] for c in serving)):
            return []
        not_ready = [c["name"] for c in serving if not c["ready"]]
        reason = ready["reason"] if ready is not None and is_reason(ready["reason"]) else "NotReady"
        details = [] if reason == "NotReady" else [reason]
        if not_ready:
            details.append(f"containers not ready: {', '.join(not_ready)}")
        message = "the pod is running but not Ready"
        if details:
            message += f" ({'; '.join(details)})"
        return [(reason, message, not_ready[0] if len(not_ready) == 1 else None, not_ready_since(pod))]
    return []


class Policy(exports.Policy):
    # One instance serves one evaluation: detect-failure keeps the snapshot
    # and the report it returns for the two questions that follow.
    snapshot = None
    report = None

    def validate_settings(self, settings):
        parse_settings(settings)

    def detect_failure(self, snapshot):
        Policy.snapshot = Snapshot(json.loads(host.snapshot_json()))
        s = Policy.snapshot
        grace = parse_settings(s.data["settings"])
        current = s.current_release()
        pods = s.pods_under(current["object"]) if current and current["object"] is not None else []
        failing = []
        # Seconds until the first dated problem reaches the grace period.
        recheck_after = None
        for pod in pods:
            for reason, message, container, since in pod_problems(pod):
                age = max(s.now - since, 0) if since is not None else 0
                if age >= grace:
                    failing.append(types.Finding(reason, message, s.pod_name(pod), container, since))
                elif since is not None:
                    left = grace - age
                    recheck_after = left if recheck_after is None else min(recheck_after, left)
        state = types.Health.FAILED if failing else types.Health.HEALTHY
        Policy.report = types.FailureReport(state, failing, False, recheck_after, [])
        return Policy.report

    def check_eligibility(self):
        s = Policy.snapshot
        eligible = s.previous_release() is not None and not s.data["target"]["paused"]
        reason = "a previous revision exists" if eligible else "no previous revision, or paused"
        return types.Eligibility(eligible, reason, [])

    def select_release(self):
        previous = Policy.snapshot.previous_release()
        if previous is None:
            raise Err("no previous revision")
        revision = previous["revision"]
        findings = Policy.report.findings
        cause = findings[0].reason if findings else "pods failing"
        event = types.Event(types.EventType.WARNING, "RollingBack", cause)
        return types.Selection(
            str(revision),
            f"{cause}: back to revision {revision}",
            None,
            [types.Action_Rollback(revision), types.Action_EmitEvent(event)],
        )
