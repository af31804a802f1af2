use super::*;

fn pod(reason: &str) -> Pod<'static> {
    Pod {
        object: 2,
        phase: PodPhase::Pending,
        reason: None,
        message: Some(Text::from("waiting for image".to_string())),
        conditions: vec![Condition {
            kind: "Ready".into(),
            status: ConditionStatus::False,
            reason: None,
            message: None,
            last_transition: Some(1_700_000_000),
        }],
        created: Some(1_699_999_000),
        started: None,
        deleting: false,
        containers: vec![Container {
            name: "app".into(),
            image: "registry/app:2".into(),
            role: ContainerRole::App,
            ready: false,
            started: Some(false),
            restart_count: 4,
            state: ContainerState::Waiting(WaitingState {
                reason: WaitingReason::parse(reason).into_owned(),
                message: None,
            }),
            last_terminated: None,
        }],
    }
}

fn snapshot() -> Snapshot<'static> {
    Snapshot {
        now: 1_700_000_100,
        target: Target {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "shop".into(),
            name: "web".into(),
            uid: "u-1".into(),
            generation: 3,
            observed_generation: Some(3),
            labels: vec![("app".into(), "web".into())],
            annotations: vec![],
            conditions: vec![],
            paused: false,
            desired_replicas: Some(2),
            ready_replicas: None,
            updated_replicas: Some(1),
            available_replicas: Some(1),
        },
        releases: vec![Release {
            id: "2".into(),
            revision: Some(2),
            object: Some(1),
            pod_template_hash: Some("abc".into()),
            images: vec!["registry/app:2".into()],
            created: None,
            replicas: 1,
            ready_replicas: 0,
            current: true,
        }],
        objects: vec![],
        pods: vec![pod("ImagePullBackOff"), pod("SomethingNew")],
        settings: "{}".into(),
    }
}

#[test]
fn a_snapshot_survives_encoding_and_decoding() {
    let original = snapshot();
    let bytes = encode(&original);
    assert_eq!(decode(&bytes).unwrap(), original);
}

#[test]
fn decoded_strings_borrow_from_the_bytes() {
    let bytes = encode(&snapshot());
    let decoded = decode(&bytes).unwrap();
    let range = bytes.as_ptr_range();
    let name = decoded.target.name.as_str();
    assert!(range.contains(&name.as_ptr()), "the target's name was copied, not borrowed");
    let ContainerState::Waiting(waiting) = &decoded.pods[1].containers[0].state else { panic!("not waiting") };
    assert_eq!(waiting.reason.as_str(), "SomethingNew");
}

#[test]
fn truncated_or_foreign_bytes_are_an_error_not_a_panic() {
    let bytes = encode(&snapshot());
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        let err = decode(&bytes[..cut]).unwrap_err().to_string();
        assert!(err.contains("do not decode"), "{err}");
    }
    assert!(decode(b"{\"now\": 1}").is_err());
}

#[test]
fn the_json_form_uses_the_wit_names() {
    let json = serde_json::to_value(snapshot()).unwrap();
    assert_eq!(json["target"]["api-version"], "apps/v1");
    assert_eq!(json["pods"][0]["containers"][0]["state"]["waiting"]["reason"], "image-pull-back-off");
    assert_eq!(json["pods"][1]["containers"][0]["state"]["waiting"]["reason"]["other"], "SomethingNew");
}

#[test]
fn known_waiting_reasons_read_and_print_as_kubernetes_writes_them() {
    for (reason, text) in &KNOWN_WAITING_REASONS {
        assert_eq!(reason.as_str(), *text);
        assert_eq!(WaitingReason::parse(text), *reason);
        assert_eq!(reason.clone().into_owned(), *reason);
    }
    assert_eq!(WaitingReason::parse("CrashLoopBackOff"), WaitingReason::CrashLoopBackOff);
    assert_eq!(WaitingReason::parse("Novel"), WaitingReason::Other("Novel".into()));
}
