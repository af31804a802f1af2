//! A policy that attacks the host in the way its settings name, in the
//! stage they name (default `detect-failure`). Stages before the attack
//! answer "failed, eligible" and return an action, so a test can check that
//! nothing of an attacked evaluation is executed.
//!
//! Settings: `{"attack": "<name>", "stage": "<stage>"}`; attacks: `none`,
//! `loop`, `host-call-loop`, `log-flood`, `memory`, `recursion`, `panic`,
//! `read-file`, `env`, `clock`, `random`.

// The policy is exported only in the wasm32 build.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use rewind_sdk::{Eligibility, FailureReport, Health, LogLevel, Rules, Selection, Snapshot, act, host};
use serde_json::Value;
use std::hint::black_box;

struct Hostile;

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
        "none" => Ok(()),
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
        "random" => {
            let mut map = std::collections::HashMap::new();
            map.insert(1, 2);
            Err(format!("random: {}", map.len()))
        }
        other => Err(format!("unknown attack {other:?}")),
    }
}

fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth; 64]);
    if black_box(true) { recurse(depth + 1) + frame[3] } else { depth }
}

impl Rules for Hostile {
    type Settings = Value;

    fn detect_failure(snapshot: &Snapshot, _: &Value) -> Result<FailureReport, String> {
        maybe_attack(snapshot, "detect-failure")?;
        Ok(FailureReport {
            state: Health::Failed,
            findings: Vec::new(),
            manual_request: false,
            actions: vec![act::normal("HostileDetected", "detect-failure ran")],
        })
    }

    fn check_eligibility(snapshot: &Snapshot, _: &Value, _: &FailureReport) -> Result<Eligibility, String> {
        maybe_attack(snapshot, "check-eligibility")?;
        Ok(Eligibility { eligible: true, reason: "hostile policies are always eligible".into(), actions: Vec::new() })
    }

    fn select_release(snapshot: &Snapshot, _: &Value, _: &FailureReport) -> Result<Selection, String> {
        maybe_attack(snapshot, "select-release")?;
        Ok(Selection {
            release: None,
            reason: "no release".into(),
            error: None,
            actions: vec![act::normal("HostileSelected", "select-release ran")],
        })
    }
}
