//! A policy that tries to reach the network. Because it uses `std::net`,
//! the component imports `wasi:sockets`, which the host refuses at load,
//! before any of it runs.

// The policy is exported only in the wasm32 build.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use rewind_sdk::{Eligibility, FailureReport, Health, Rules, Selection, Snapshot};
use serde_json::Value;

struct Socket;

rewind_sdk::export!(Socket);

impl Rules for Socket {
    type Settings = Value;

    fn detect_failure(_: &Snapshot, _: &Value) -> Result<FailureReport, String> {
        let connected = std::net::TcpStream::connect("127.0.0.1:6443").is_ok();
        let state = if connected { Health::Failed } else { Health::Healthy };
        Ok(FailureReport { state, findings: vec![], manual_request: false, recheck_after: None, actions: vec![] })
    }

    fn check_eligibility(_: &Snapshot, _: &Value, _: &FailureReport) -> Result<Eligibility, String> {
        Ok(Eligibility { eligible: false, reason: String::new(), actions: vec![] })
    }

    fn select_release(_: &Snapshot, _: &Value, _: &FailureReport) -> Result<Selection, String> {
        Ok(Selection { release: None, reason: String::new(), error: None, actions: vec![] })
    }
}
