//! A policy that attacks the host in the way its settings name, in the
//! stage they name (default `detect-failure`). Stages before the attack
//! answer "failed, eligible" and return an action, so a test can check that
//! nothing of an attacked evaluation is executed.
//!
//! Settings: `{"attack": "<name>", "stage": "<stage>"}`; attacks: `none`,
//! `loop`, `host-call-loop`, `log-flood`, `memory`, `recursion`, `panic`,
//! `read-file`, `env`, `clock`, `random`, `remember` (reports what earlier
//! evaluations left in its memory: a static counter and a heap marker; a
//! fresh instance must show none). Attacks by answer, made in
//! select-release whatever the stage: `huge-reason`, `many-actions`,
//! `deep-patch`, `foreign-namespace`, `outside-tree`, `cluster-scoped`,
//! `rename-target`, `touch-uid`, and the writes a rollback does not need
//! (`image-patch`, `host-path`, `host-network`, `service-account`,
//! `selector`, `scale-to-zero`, `pause`, `labels`, `forge-last-applied`,
//! `delete-history`, `delete-serving-pods`, `rollback-twice`,
//! `delete-before-rollback`, `noop-rollback-delete-serving`,
//! `noop-rollback-mark`, `pod-status`), those no grant
//! opens (`finalizers`, `deletion-timestamp`, `resource-version`,
//! `managed-fields`, `status-through-main`, `mark-by-patch`) and a malformed version
//! (`bad-version`). It declares one grant, `patch:Deployment:/spec/replicas`,
//! so `scale-to-zero` passes where an operator gives it. `flip-from-detect`
//! rolls back to the previous release from detect-failure, on a rollout it
//! calls healthy.

// The policy is exported only in the wasm32 build.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use rewind_sdk::{
    Action, Eligibility, FailureReport, Health, LogLevel, MergePatch, ObjectKey, Rules, Selection, Snapshot,
    Subresource, act, host,
};
use serde_json::Value;
use std::hint::black_box;

struct Hostile;

rewind_sdk::needs!["patch:Deployment:/spec/replicas"];
rewind_sdk::export!(Hostile);

fn setting(snapshot: &Snapshot, key: &str, default: &str) -> String {
    serde_json::from_str::<Value>(&snapshot.settings)
        .ok()
        .and_then(|v| v.get(key)?.as_str().map(str::to_string))
        .unwrap_or_else(|| default.to_string())
}

/// Runs the attack if `stage` is the configured one; returns only for
/// attacks that fail to escape (which then report what they saw).
fn maybe_attack(snapshot: &Snapshot, stage: &str) -> Result<(), String> {
    if setting(snapshot, "stage", "detect-failure") != stage {
        return Ok(());
    }
    match setting(snapshot, "attack", "none").as_str() {
        "none" | "flip-from-detect" => Ok(()),
        "loop" => {
            let mut n: u64 = 0;
            loop {
                n = black_box(n.wrapping_add(1));
            }
        }
        "host-call-loop" => loop {
            black_box(host::get_object(0));
        },
        "log-flood" => loop {
            rewind_sdk::log(LogLevel::Info, "flood");
        },
        "memory" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                black_box(&hoard);
            }
        }
        "recursion" => Err(format!("depth {}", recurse(black_box(0)))),
        "panic" => panic!("hostile policy panics on purpose"),
        "read-file" => Err(format!("read: {:?}", std::fs::read_to_string("/etc/passwd").map(|s| s.len()))),
        "env" => Err(format!("env: {:?}", std::env::var("HOME"))),
        "clock" => Err(format!("clock: {:?}", std::time::SystemTime::now())),
        "remember" => Err(remembered()),
        "random" => {
            let mut map = std::collections::HashMap::new();
            map.insert(1, 2);
            Err(format!("random: {}", map.len()))
        }
        other if hostile_answer(snapshot, other).is_some() => Ok(()),
        other => Err(format!("unknown attack {other:?}")),
    }
}

/// Counts the evaluations this instance's memory has seen, in static data
/// and in a heap block at an address that repeats from one fresh instance to
/// the next (the allocator is deterministic). Any count above 1 means state
/// survived between evaluations.
fn remembered() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static EVALUATIONS: AtomicU32 = AtomicU32::new(0);
    const MARK: u32 = 0x5EED_0000;
    let statics = EVALUATIONS.fetch_add(1, Ordering::Relaxed) + 1;
    // Not zeroed on purpose: a hostile policy reads whatever the memory
    // holds. In a fresh instance that is zero; a marker here was written by
    // an earlier evaluation in this same memory. The block is freed again,
    // so a later call on the same instance gets it back.
    let words = 1 << 16;
    let layout = std::alloc::Layout::array::<u32>(words).expect("a valid layout");
    let block = unsafe { std::alloc::alloc(layout) } as *mut u32;
    let marks = (0..words).filter(|&i| unsafe { block.add(i).read_volatile() } & 0xFFFF_0000 == MARK).count() as u32;
    let heap = marks + 1;
    // Mid-block, clear of the allocator's bookkeeping in a freed block.
    unsafe { block.add(words / 2).write_volatile(MARK | heap) };
    unsafe { std::alloc::dealloc(block as *mut u8, layout) };
    format!("remembered: statics={statics} heap={heap} at {block:p}")
}

fn key(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectKey {
    ObjectKey {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: namespace.map(str::to_string),
        name: name.into(),
    }
}

/// Answers that try to get past the host's checks on results and actions.
fn hostile_answer(snapshot: &Snapshot, attack: &str) -> Option<Selection> {
    let namespace = snapshot.target.namespace.as_str();
    let patch = |object, json: &str| vec![act::merge_patch(object, &serde_json::from_str(json).unwrap())];
    let actions = match attack {
        "huge-reason" => {
            return Some(Selection { release: None, reason: "x".repeat(4 << 20), error: None, actions: vec![] });
        }
        "many-actions" => (0..5_000).map(|_| act::remove_annotation("a")).collect(),
        "deep-patch" => {
            let deep = format!("{}1{}", r#"{"a":"#.repeat(100), "}".repeat(100));
            vec![Action::MergePatch(MergePatch {
                object: act::target_key(snapshot),
                subresource: Subresource::Main,
                patch: deep,
            })]
        }
        "foreign-namespace" => vec![act::delete(key("v1", "Pod", Some("kube-system"), "kube-apiserver-0"))],
        "outside-tree" => vec![act::delete(key("v1", "Pod", Some(namespace), "debug-web"))],
        "cluster-scoped" => patch(key("v1", "Node", None, "worker-1"), r#"{"spec": {"unschedulable": true}}"#),
        "rename-target" => patch(act::target_key(snapshot), r#"{"metadata": {"name": "hijacked"}}"#),
        "touch-uid" => patch(act::target_key(snapshot), r#"{"metadata": {"uid": "00000000"}}"#),
        _ => beyond_a_rollback(snapshot, attack)?,
    };
    // A harmless action first: it must not run either.
    let mut all = vec![act::normal("HostileSelected", "before the attack")];
    all.extend(actions);
    Some(Selection { release: Some("1".into()), reason: format!("attack {attack}"), error: None, actions: all })
}

/// Writes a "rollback" policy could try once in scope: the target's pod
/// template, identity and server fields, its history, its serving pods.
fn beyond_a_rollback(snapshot: &Snapshot, attack: &str) -> Option<Vec<Action>> {
    let target = || act::target_key(snapshot);
    let patch = |json: &str| vec![act::merge_patch(target(), &serde_json::from_str(json).unwrap())];
    let template = |spec: &str| patch(&format!(r#"{{"spec": {{"template": {{"spec": {spec}}}}}}}"#));
    let current = snapshot.current_release();
    let actions = match attack {
        "image-patch" => template(r#"{"containers": [{"name": "app", "image": "attacker/miner:latest"}]}"#),
        "host-path" => template(r#"{"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}"#),
        "host-network" => template(r#"{"hostNetwork": true, "hostPID": true}"#),
        "service-account" => template(r#"{"serviceAccountName": "cluster-admin"}"#),
        "selector" => patch(r#"{"spec": {"selector": {"matchLabels": {"app": "stolen"}}}}"#),
        "scale-to-zero" => patch(r#"{"spec": {"replicas": 0}}"#),
        "pause" => patch(r#"{"spec": {"paused": true}}"#),
        "labels" => patch(r#"{"metadata": {"labels": {"app": "stolen"}}}"#),
        "finalizers" => patch(r#"{"metadata": {"finalizers": ["attacker.example/never"]}}"#),
        "deletion-timestamp" => patch(r#"{"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}"#),
        "resource-version" => patch(r#"{"metadata": {"resourceVersion": "1"}}"#),
        "managed-fields" => patch(r#"{"metadata": {"managedFields": []}}"#),
        "status-through-main" => patch(r#"{"status": {"readyReplicas": 3, "availableReplicas": 3}}"#),
        "forge-last-applied" => {
            vec![act::set_annotation("kubectl.kubernetes.io/last-applied-configuration", r#"{"spec":{}}"#)]
        }
        "delete-history" => snapshot
            .releases
            .iter()
            .filter_map(|r| snapshot.object(r.object?))
            .map(|o| act::delete(act::object_key(snapshot, o)))
            .collect(),
        "delete-serving-pods" => serving_pods(snapshot, current?),
        "pod-status" => {
            let pod = snapshot.pods.first().and_then(|p| snapshot.object(p.object))?;
            let ready = serde_json::json!({"conditions": [{"type": "Ready", "status": "True"}]});
            vec![act::status_patch(act::object_key(snapshot, pod), &ready)]
        }
        // Pods of the release that stays, deleted beside a rollback: after
        // rolling back and forth, or before a rollback that may fail.
        "rollback-twice" => {
            let (previous, now) = (snapshot.previous_release()?.revision?, current?.revision?);
            let mut actions = vec![act::rollback(previous), act::rollback(now)];
            actions.extend(serving_pods(snapshot, current?));
            actions
        }
        // A rollback to the release already running restores nothing, so
        // it must open nothing a rollback opens.
        "noop-rollback-delete-serving" => {
            let mut actions = vec![act::rollback(current?.revision?)];
            actions.extend(serving_pods(snapshot, current?));
            actions
        }
        "noop-rollback-mark" => {
            vec![act::rollback(current?.revision?), act::set_annotation("rewind.dev/rolled-back-from", &current?.id)]
        }
        "mark-by-patch" => patch(r#"{"metadata": {"annotations": {"rewind.dev/rolled-back-from": "1"}}}"#),
        "delete-before-rollback" => {
            let mut actions = serving_pods(snapshot, current?);
            actions.push(act::rollback(snapshot.previous_release()?.revision?));
            actions
        }
        "bad-version" => {
            let mut key = act::object_key(snapshot, snapshot.object(current?.object?)?);
            key.api_version = "apps/..".into();
            vec![act::delete(key)]
        }
        _ => return None,
    };
    Some(actions)
}

fn serving_pods(snapshot: &Snapshot, release: &rewind_sdk::Release) -> Vec<Action> {
    let pods = snapshot.pods_of(release);
    pods.filter_map(|p| snapshot.object(p.object)).map(|o| act::delete(act::object_key(snapshot, o))).collect()
}

fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    if black_box(true) { recurse(depth + 1) + frame[3] } else { depth }
}

impl Rules for Hostile {
    type Settings = Value;

    fn detect_failure(snapshot: &Snapshot, _: &Value) -> Result<FailureReport, String> {
        maybe_attack(snapshot, "detect-failure")?;
        // Rolls back to the newest release that is not current, from
        // detect-failure, on a healthy rollout with nothing selected: every
        // evaluation flips the workload, unless the flap guard counts such
        // rollbacks too.
        let other = snapshot.releases.iter().filter(|r| !r.current).filter_map(|r| r.revision).max();
        if setting(snapshot, "attack", "none") == "flip-from-detect"
            && let Some(other) = other
        {
            let actions = vec![act::rollback(other)];
            let state = Health::Healthy;
            return Ok(FailureReport {
                state,
                findings: Vec::new(),
                manual_request: false,
                recheck_after: None,
                actions,
            });
        }
        Ok(FailureReport {
            state: Health::Failed,
            findings: Vec::new(),
            manual_request: false,
            recheck_after: None,
            actions: vec![act::normal("HostileDetected", "detect-failure ran")],
        })
    }

    fn check_eligibility(snapshot: &Snapshot, _: &Value, _: &FailureReport) -> Result<Eligibility, String> {
        maybe_attack(snapshot, "check-eligibility")?;
        Ok(Eligibility { eligible: true, reason: "hostile policies are always eligible".into(), actions: Vec::new() })
    }

    fn select_release(snapshot: &Snapshot, _: &Value, _: &FailureReport) -> Result<Selection, String> {
        maybe_attack(snapshot, "select-release")?;
        if let Some(answer) = hostile_answer(snapshot, &setting(snapshot, "attack", "none")) {
            return Ok(answer);
        }
        Ok(Selection {
            release: None,
            reason: "no release".into(),
            error: None,
            actions: vec![act::normal("HostileSelected", "select-release ran")],
        })
    }
}
