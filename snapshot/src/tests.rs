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
        metrics: vec![],
        gitops: None,
        configuration: vec![],
        application: None,
    }
}

/// [`every_case`] as member 0 of an application whose member 1 is
/// [`snapshot`].
fn an_application() -> Snapshot<'static> {
    let first = every_case();
    let application = Application { name: "shop".into(), members: vec![first.clone(), snapshot()] };
    Snapshot { application: Some(application), ..first }
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
fn each_version_s_json_has_its_fields_in_declared_order_and_keeps_non_finite_values() {
    let snapshot = every_case();
    let latest = serde_json::to_string(&snapshot.json_view(Encoding::V0_5)).unwrap();
    let fields = [
        "\"now\"",
        "\"target\"",
        "\"releases\"",
        "\"objects\"",
        "\"pods\"",
        "\"settings\"",
        "\"metrics\"",
        "\"gitops\"",
        "\"configuration\"",
    ];
    let at: Vec<usize> = fields.iter().map(|f| latest.find(f).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    assert!(latest.contains(r#"{"time":-1,"value":1.7976931348623157e+308}"#), "{latest}");
    let mut non_finite = snapshot.clone();
    non_finite.metrics[0].result = MetricResult::Samples(
        [f64::NAN, f64::INFINITY, f64::NEG_INFINITY].map(|value| Sample { time: 0, value }).to_vec(),
    );
    let json = serde_json::to_string(&non_finite.json_view(Encoding::V0_4)).unwrap();
    assert!(
        json.contains(r#"[{"time":0,"value":"NaN"},{"time":0,"value":"+Inf"},{"time":0,"value":"-Inf"}]"#),
        "{json}"
    );
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    let MetricResult::Samples(samples) = &back.metrics[0].result else { panic!("samples") };
    assert!(samples[0].value.is_nan() && samples[1].value == f64::INFINITY && samples[2].value == f64::NEG_INFINITY);
    assert!(latest.contains(r#""owner":{"found":{"confirmed":true"#), "{latest}");
    let without_owner = Snapshot { gitops: None, ..snapshot.clone() };
    let json = serde_json::to_string(&without_owner.json_view(Encoding::V0_5)).unwrap();
    assert!(json.contains(r#""gitops":null,"configuration":[{"release":"2""#), "{json}");
    let v0_4 = serde_json::to_string(&snapshot.json_view(Encoding::V0_4)).unwrap();
    assert!(
        !v0_4.contains("\"gitops\"") && !v0_4.contains("\"configuration\"") && v0_4.contains("\"metrics\""),
        "{v0_4}"
    );
    let old = serde_json::to_string(&snapshot.json_view(Encoding::V0_3)).unwrap();
    assert!(!old.contains("\"metrics\"") && old.ends_with(&format!("\"settings\":{:?}}}", snapshot.settings.as_str())));
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

/// A snapshot with every enum case, options both ways, extreme and
/// negative numbers and non-ASCII text: what the hand-written encoding
/// must agree with postcard on.
fn every_case() -> Snapshot<'static> {
    let mut snapshot = snapshot();
    snapshot.now = i64::MIN;
    snapshot.target.generation = i64::MAX;
    snapshot.target.observed_generation = Some(-1);
    snapshot.target.desired_replicas = Some(u32::MAX);
    snapshot.target.paused = true;
    snapshot.target.annotations = vec![("ünïcødé ✓".into(), "".into())];
    snapshot.target.conditions = [ConditionStatus::True, ConditionStatus::False, ConditionStatus::Unknown]
        .into_iter()
        .map(|status| Condition {
            kind: "Progressing".into(),
            status,
            reason: Some("NewReplicaSetAvailable".into()),
            message: None,
            last_transition: Some(-86_400),
        })
        .collect();
    snapshot.releases[0].revision = Some(u64::MAX);
    snapshot.releases[0].object = None;
    snapshot.objects = vec![ObjectInfo {
        api_version: "v1".into(),
        kind: "Pod".into(),
        name: "web-1".into(),
        uid: "u-2".into(),
        labels: vec![("a".into(), "b".into()), ("c".into(), "d".repeat(300).into())],
        annotations: vec![],
        owner: Some(u32::MAX),
    }];
    let states = KNOWN_WAITING_REASONS
        .iter()
        .map(|(reason, _)| reason.clone())
        .chain([WaitingReason::Other("Novel".into())])
        .map(|reason| ContainerState::Waiting(WaitingState { reason, message: Some("m".into()) }))
        .chain([
            ContainerState::Running(RunningState { started_at: Some(0) }),
            ContainerState::Running(RunningState { started_at: None }),
            ContainerState::Terminated(TerminatedState {
                reason: Some("OOMKilled".into()),
                message: None,
                exit_code: -137,
                started_at: Some(1),
                finished_at: Some(i64::MAX),
            }),
            ContainerState::Unknown,
        ]);
    let roles = [ContainerRole::App, ContainerRole::Init, ContainerRole::Sidecar].into_iter().cycle();
    let phases = [PodPhase::Pending, PodPhase::Running, PodPhase::Succeeded, PodPhase::Failed, PodPhase::Unknown]
        .into_iter()
        .cycle();
    snapshot.pods = states
        .zip(roles)
        .zip(phases)
        .enumerate()
        .map(|(i, ((state, role), phase))| {
            let mut pod = pod("ImagePullBackOff");
            pod.phase = phase;
            pod.deleting = i % 2 == 0;
            pod.reason = (i % 3 == 0).then(|| "Evicted".into());
            let container = &mut pod.containers[0];
            container.state = state;
            container.role = role;
            container.started = [None, Some(true), Some(false)][i % 3];
            container.restart_count = (i as u32) << 25;
            container.last_terminated = (i % 2 == 1).then(|| TerminatedState {
                reason: None,
                message: Some("Error".into()),
                exit_code: i32::MIN,
                started_at: None,
                finished_at: None,
            });
            pod
        })
        .collect();
    snapshot.metrics = vec![
        Metric {
            name: "error-rate".into(),
            query: "sum(rate(errors[5m]))".into(),
            result: MetricResult::Samples(vec![
                Sample { time: 1_700_000_000, value: 0.25 },
                Sample { time: -1, value: f64::MAX },
                Sample { time: 0, value: -0.0 },
            ]),
        },
        Metric { name: "latency".into(), query: "p99".into(), result: MetricResult::Error("timeout ✗".into()) },
    ];
    snapshot.gitops = Some(GitOps {
        tool: GitOpsTool::ArgoCdApplication,
        namespace: "argocd".into(),
        name: "shop".into(),
        marked_by: "argocd.argoproj.io/tracking-id".into(),
        owner: GitOpsOwner::Found(OwnerState {
            confirmed: true,
            suspended: false,
            automated: Some(true),
            self_heal: Some(false),
            revision: Some("4f2c9e1".into()),
            paused_for: Some("shop/web".into()),
        }),
    });
    let source = |kind, name: &'static str, recorded, live| ConfigSource {
        kind,
        name: name.into(),
        optional: false,
        recorded,
        live,
    };
    snapshot.configuration = vec![ReleaseConfiguration {
        release: "2".into(),
        recorded: Some(1_700_000_000),
        sources: vec![
            source(ConfigKind::ConfigMap, "web-config", Recorded::Data, Live::Changed),
            source(ConfigKind::ConfigMap, "web-static", Recorded::Data, Live::Matches),
            source(ConfigKind::ConfigMap, "web-big", Recorded::VersionOnly("over the cap".into()), Live::Missing),
            source(ConfigKind::ConfigMap, "web-new", Recorded::Absent, Live::Present),
            ConfigSource {
                optional: true,
                ..source(ConfigKind::Secret, "web-tls", Recorded::NotRecorded, Live::Unknown("forbidden ✗".into()))
            },
        ],
    }];
    snapshot
}

/// [`every_case`] with each other GitOps case: no owner, one the API server
/// does not have, one that could not be read.
fn every_gitops_case() -> Vec<Snapshot<'static>> {
    let tools = [GitOpsTool::FluxKustomization, GitOpsTool::FluxHelmRelease];
    let owners = [GitOpsOwner::Missing, GitOpsOwner::Unreadable("forbidden ✗".into())];
    let mut cases = vec![Snapshot { gitops: None, ..every_case() }];
    for (tool, owner) in tools.into_iter().zip(owners) {
        let mut snapshot = every_case();
        let gitops = snapshot.gitops.as_mut().expect("every_case has a GitOps section");
        (gitops.tool, gitops.owner) = (tool, owner);
        cases.push(snapshot);
    }
    cases
}

#[test]
fn the_encoding_is_postcard_byte_for_byte() {
    for original in [vec![snapshot(), every_case(), an_application()], every_gitops_case()].concat() {
        let bytes = encode(&original);
        assert_eq!(bytes, postcard::to_allocvec(&original).unwrap());
        assert_eq!(decode(&bytes).unwrap(), original);
        assert_eq!(postcard::from_bytes::<Snapshot>(&bytes).unwrap(), original);
    }
}

#[test]
fn the_0_3_encoding_is_the_same_bytes_without_the_metrics_section() {
    let original = an_application();
    let bytes = encode_as(&original, Encoding::V0_3);
    let Snapshot { now, target, releases, objects, pods, settings, .. } = original.clone();
    assert_eq!(bytes, postcard::to_allocvec(&(now, &target, &releases, &objects, &pods, &settings)).unwrap());
    let decoded = decode_as(&bytes, Encoding::V0_3).unwrap();
    assert_eq!(
        decoded,
        Snapshot { metrics: vec![], gitops: None, configuration: vec![], application: None, ..original }
    );
    assert!(decode(&bytes).is_err(), "0.3.0 bytes are not a 0.5.0 snapshot");
}

#[test]
fn the_0_4_encoding_is_the_same_bytes_without_the_gitops_and_configuration_sections() {
    let original = an_application();
    let bytes = encode_as(&original, Encoding::V0_4);
    let Snapshot { now, target, releases, objects, pods, settings, metrics, .. } = original.clone();
    let expected = postcard::to_allocvec(&(now, &target, &releases, &objects, &pods, &settings, &metrics)).unwrap();
    assert_eq!(bytes, expected);
    assert_eq!(
        decode_as(&bytes, Encoding::V0_4).unwrap(),
        Snapshot { gitops: None, configuration: vec![], application: None, ..original }
    );
    assert!(decode(&bytes).is_err(), "0.4.0 bytes are not a 0.5.0 snapshot");
}

#[test]
fn an_application_member_with_an_application_of_its_own_is_refused() {
    let mut nested = an_application();
    let inner = an_application();
    nested.application.as_mut().unwrap().members[1] = inner;
    // The writer asserts this in debug builds; postcard writes the same bytes.
    let bytes = postcard::to_allocvec(&nested).unwrap();
    assert_eq!(decode(&bytes).unwrap_err().problem, "an application member with an application of its own");
}

#[test]
fn an_application_s_json_gives_each_member_as_a_workload() {
    let json = serde_json::to_value(an_application().json_view(Encoding::V0_5)).unwrap();
    assert_eq!(json["application"]["name"], "shop");
    assert_eq!(json["application"]["members"][1]["target"]["name"], snapshot().target.name.as_str());
    assert!(json["application"]["members"][1].get("application").unwrap().is_null());
    let alone = serde_json::to_value(every_case().json_view(Encoding::V0_5)).unwrap();
    assert!(alone["application"].is_null());
    let old = serde_json::to_value(an_application().json_view(Encoding::V0_4)).unwrap();
    assert!(old.get("application").is_none());
}

#[test]
fn malformed_bytes_name_the_problem_and_where() {
    let bytes = encode(&snapshot());
    let problem = |bytes: &[u8]| decode(bytes).unwrap_err();

    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(problem(&trailing).problem, "bytes left over after the snapshot");
    assert_eq!(problem(&trailing).offset, bytes.len());

    // `now` is the first field: ten 0xff bytes overflow an i64.
    assert_eq!(problem(&[0xff; 11]).problem, "a number too large for its field");

    // The target's api-version is the first string, right after `now`.
    let now_len = bytes.iter().position(|b| b & 0x80 == 0).unwrap() + 1;
    let mut huge = bytes[..now_len].to_vec();
    huge.extend([0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(problem(&huge).problem, "a length longer than the bytes left");

    let mut not_utf8 = bytes.clone();
    not_utf8[now_len + 1] = 0xff;
    assert_eq!(problem(&not_utf8).problem, "a string that is not UTF-8");
    assert!(problem(&not_utf8).to_string().contains(&format!("at byte {}", now_len + 1)));
}

#[test]
fn corrupt_bytes_are_refused_or_decoded_never_a_panic() {
    let original = every_case();
    let bytes = encode(&original);
    // Corrupt each byte in turn: the decoder may read a different snapshot
    // or refuse, but never panics.
    for at in 0..bytes.len().min(400) {
        for value in [0x02, 0x7f, 0x80, 0xff] {
            let mut corrupt = bytes.clone();
            corrupt[at] = value;
            let _ = decode(&corrupt);
        }
    }
    // Where the pods start: the same snapshot without pods, settings,
    // metrics, GitOps owner, configuration or application ends with three
    // empty lengths, a none, an empty length and a none.
    let mut empty = snapshot();
    empty.pods.clear();
    empty.settings = "".into();
    let pods_at = encode(&empty).len() - 6;
    let mut bad_phase = encode(&snapshot());
    // After the pod count and the first pod's object index: its phase.
    bad_phase[pods_at + 2] = 9;
    let err = decode(&bad_phase).unwrap_err();
    assert_eq!((err.problem, err.offset), ("an unknown enum case", pods_at + 3));
}
