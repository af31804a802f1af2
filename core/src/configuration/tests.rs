use super::*;
use crate::fixtures::*;
use crate::objects::Origin;

fn config_map(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"), "resourceVersion": "7"},
           "data": {"app.conf": value}})
}

fn secret(name: &str, version: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": NAMESPACE, "uid": format!("uid-{name}"), "resourceVersion": version},
           "data": {"token": "c2VjcmV0"}})
}

/// Revision `revision`'s ReplicaSet, its template mounting `web-config`
/// and reading `web-token` into the environment.
fn release_with_config(revision: &str) -> Value {
    let mut rs = replica_set(revision, &format!("shop/web:{revision}"));
    rs["spec"]["template"]["spec"]["volumes"] = json!([{"name": "conf", "configMap": {"name": "web-config"}}]);
    rs["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "web-token", "key": "token"}}}]);
    rs
}

fn recorded(history: &Value, objects: &[Value]) -> Value {
    let found = |reference: &Reference| {
        objects
            .iter()
            .find(|o| {
                objects::name(o) == Some(reference.name.as_str()) && objects::kind(o) == Some(kind_name(reference.kind))
            })
            .map_or(Found::Absent, Found::Object)
    };
    record(history, &found, "2024-11-06T12:00:00Z").expect("a ReplicaSet with a template and uid")
}

#[test]
fn every_place_a_template_names_a_config_map_or_secret_is_a_reference() {
    let template = json!({"spec": {
        "volumes": [
            {"name": "a", "configMap": {"name": "vol-cm", "optional": true}},
            {"name": "b", "secret": {"secretName": "vol-secret"}},
            {"name": "c", "projected": {"sources": [{"configMap": {"name": "proj-cm"}}, {"secret": {"name": "proj-secret"}}]}},
        ],
        "initContainers": [{"name": "init", "envFrom": [{"configMapRef": {"name": "init-cm"}}]}],
        "containers": [{"name": "app",
            "envFrom": [{"secretRef": {"name": "env-secret"}}, {"configMapRef": {"name": "vol-cm"}}],
            "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "key-cm", "key": "x"}}},
                    {"name": "Y", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}],
        "ephemeralContainers": [{"name": "debug", "env": [{"name": "Z", "valueFrom": {"secretKeyRef": {"name": "eph-secret", "key": "z", "optional": true}}}]}],
    }});
    let found = references(&template);
    let found: Vec<(ConfigKind, &str, bool)> = found.iter().map(|r| (r.kind, r.name.as_str(), r.optional)).collect();
    assert_eq!(
        found,
        vec![
            (ConfigKind::ConfigMap, "init-cm", false),
            (ConfigKind::ConfigMap, "key-cm", false),
            (ConfigKind::ConfigMap, "proj-cm", false),
            // Optional in the volume, required through envFrom: required.
            (ConfigKind::ConfigMap, "vol-cm", false),
            (ConfigKind::Secret, "env-secret", false),
            (ConfigKind::Secret, "eph-secret", true),
            (ConfigKind::Secret, "proj-secret", false),
            (ConfigKind::Secret, "vol-secret", false),
        ]
    );
}

#[test]
fn a_record_keeps_config_map_data_and_only_the_version_of_secrets() {
    let history = release_with_config("2");
    let record = recorded(&history, &[config_map("web-config", "v=1"), secret("web-token", "11")]);
    assert_eq!(record["metadata"]["ownerReferences"][0]["uid"], "uid-rs-2");
    assert_eq!(record["spec"]["configMaps"][0]["data"], json!({"app.conf": "v=1"}));
    assert_eq!(record["spec"]["secrets"][0]["resourceVersion"], "11");
    assert!(record["spec"]["secrets"][0].get("data").is_none(), "a Secret's data is never copied");
}

#[test]
fn data_over_the_cap_is_recorded_by_hash_only() {
    let history = release_with_config("2");
    let big = "x".repeat(MAX_RECORDED_BYTES + 1);
    let record = recorded(&history, &[config_map("web-config", &big), secret("web-token", "11")]);
    let entry = &record["spec"]["configMaps"][0];
    assert!(entry.get("data").is_none());
    assert!(entry["omitted"].as_str().unwrap().contains("cap"), "{entry}");
    assert_eq!(entry["sha256"], json!(data_hash(&config_map("web-config", &big))));
}

fn set_with(objects: Vec<Value>) -> ObjectSet {
    let mut set = ObjectSet::new();
    for object in objects {
        set.insert(object, Origin("test".into())).unwrap();
    }
    set
}

fn section_of(set: &ObjectSet) -> Vec<ReleaseConfiguration<'static>> {
    let target = set.find_by_kind_name("Deployment", NAMESPACE, "web")[0];
    let tree = crate::tree::ownership_tree(set, target);
    let workload = crate::workloads::of_value(set.get(target).unwrap()).unwrap();
    let (releases, _) = workload.releases(set, &tree).unwrap();
    section(set, &tree, &releases)
}

#[test]
fn the_section_says_what_changed_since_each_release_was_recorded() {
    let old = release_with_config("2");
    let record = recorded(&old, &[config_map("web-config", "v=1"), secret("web-token", "11")]);
    let set = set_with(vec![
        deployment("shop/web:3"),
        old,
        release_with_config("3"),
        record,
        config_map("web-config", "v=2"),
        secret("web-token", "12"),
    ]);
    let section = section_of(&set);
    let sources = |release: usize| -> Vec<(&str, &Recorded, &Live)> {
        section[release].sources.iter().map(|s| (s.name.as_str(), &s.recorded, &s.live)).collect()
    };
    assert_eq!((section[0].release.as_str(), section[1].release.as_str()), ("2", "3"));
    assert_eq!(sources(0)[0], ("web-config", &Recorded::Data, &Live::Changed));
    assert!(matches!(sources(0)[1], ("web-token", Recorded::VersionOnly(_), Live::Changed)));
    assert_eq!(sources(1)[0], ("web-config", &Recorded::NotRecorded, &Live::Present));
    assert_eq!(section[1].recorded, None);
}

#[test]
fn a_config_map_not_read_is_unknown_and_one_looked_up_and_absent_is_missing() {
    let old = release_with_config("2");
    let record = recorded(&old, &[config_map("web-config", "v=1"), secret("web-token", "11")]);
    let mut set = set_with(vec![deployment("shop/web:3"), old, record]);
    let live = |set: &ObjectSet| section_of(set)[0].sources[0].live.clone();
    assert!(matches!(live(&set), Live::Unknown(why) if why.as_str().contains("not among the objects read")));
    set.insert(lookup_record(ConfigKind::ConfigMap, NAMESPACE, "web-config"), Origin("test".into())).unwrap();
    assert_eq!(live(&set), Live::Missing);
}

#[test]
fn a_record_of_another_release_or_not_owned_by_it_is_no_record() {
    let old = release_with_config("2");
    let mut forged = recorded(&old, &[config_map("web-config", "evil"), secret("web-token", "11")]);
    forged["metadata"]["ownerReferences"] = json!([]);
    let set = set_with(vec![deployment("shop/web:3"), old.clone(), forged, config_map("web-config", "v=2")]);
    assert!(find_record(&set, &old).is_none());
}

#[test]
fn a_restore_replaces_changed_data_creates_what_is_gone_and_recreates_immutable_ones() {
    let old = release_with_config("2");
    let record = recorded(&old, &[config_map("web-config", "v=1"), secret("web-token", "11")]);
    let changed =
        set_with(vec![deployment("shop/web:3"), old.clone(), record.clone(), config_map("web-config", "v=2")]);
    let (writes, left) = plan_restore(&changed, &old).unwrap();
    assert!(left.is_empty());
    let [Write::Replace { updated, .. }] = writes.as_slice() else { panic!("{writes:?}") };
    assert_eq!(updated["data"], json!({"app.conf": "v=1"}));
    assert_eq!(updated["metadata"]["resourceVersion"], "7", "replaced at the version read");

    let mut gone = set_with(vec![deployment("shop/web:3"), old.clone(), record.clone()]);
    gone.insert(lookup_record(ConfigKind::ConfigMap, NAMESPACE, "web-config"), Origin("test".into())).unwrap();
    let (writes, _) = plan_restore(&gone, &old).unwrap();
    assert!(matches!(writes.as_slice(), [Write::Create { delete_first: None, .. }]), "{writes:?}");

    let mut immutable = config_map("web-config", "v=2");
    immutable["immutable"] = json!(true);
    let frozen = set_with(vec![deployment("shop/web:3"), old.clone(), record.clone(), immutable]);
    let (writes, _) = plan_restore(&frozen, &old).unwrap();
    let [Write::Create { delete_first: Some(uid), object, .. }] = writes.as_slice() else { panic!("{writes:?}") };
    assert_eq!(uid, "uid-web-config");
    assert_eq!(object["immutable"], json!(true));

    let same = set_with(vec![deployment("shop/web:3"), old.clone(), record, config_map("web-config", "v=1")]);
    assert_eq!(plan_restore(&same, &old).unwrap().0, vec![]);
}

#[test]
fn a_restore_without_a_record_says_so() {
    let old = release_with_config("2");
    let set = set_with(vec![deployment("shop/web:3"), old.clone(), config_map("web-config", "v=2")]);
    let problem = plan_restore(&set, &old).unwrap_err();
    assert!(problem.contains("has no recorded configuration"), "{problem}");
}

fn write_for(set: &ObjectSet, healthy: bool) -> Option<RecordWrite> {
    let target = set.find_by_kind_name("Deployment", NAMESPACE, "web")[0];
    let tree = crate::tree::ownership_tree(set, target);
    let workload = crate::workloads::of_value(set.get(target).unwrap()).unwrap();
    let (releases, _) = workload.releases(set, &tree).unwrap();
    record_write(set, set.get(target).unwrap(), &tree, &releases, healthy, "2024-11-06T14:00:00Z")
}

#[test]
fn the_running_release_is_recorded_once_and_again_only_when_healthy_with_other_configuration() {
    let plain = set_with(vec![deployment("shop/web:3"), replica_set("3", "shop/web:3")]);
    assert_eq!(write_for(&plain, true), None, "a release without configuration has no record");
    let current = release_with_config("3");
    let token = secret("web-token", "11");
    let unread = set_with(vec![deployment("shop/web:3"), current.clone(), secret("web-token", "11")]);
    assert_eq!(write_for(&unread, true), None, "the ConfigMap was not read, so nothing is recorded");
    let secret_unread = set_with(vec![deployment("shop/web:3"), current.clone(), config_map("web-config", "v=2")]);
    let Some(RecordWrite::Create(without)) = write_for(&secret_unread, true) else { panic!("recorded") };
    assert_eq!(without["spec"]["secrets"], json!([]), "a Secret not read is not recorded");

    let live = vec![deployment("shop/web:3"), current.clone(), config_map("web-config", "v=2"), token.clone()];
    let Some(RecordWrite::Create(created)) = write_for(&set_with(live), false) else { panic!("a first record") };
    assert_eq!(created["spec"]["configMaps"][0]["data"]["app.conf"], "v=2");

    let mut stored = created.clone();
    stored["metadata"]["resourceVersion"] = json!("900");
    let unchanged =
        vec![deployment("shop/web:3"), current.clone(), stored.clone(), config_map("web-config", "v=2"), token.clone()];
    assert_eq!(write_for(&set_with(unchanged), true), None);

    let changed = vec![deployment("shop/web:3"), current, stored, config_map("web-config", "v=3"), token];
    assert_eq!(
        write_for(&set_with(changed.clone()), false),
        None,
        "a failing workload keeps what it last ran well with"
    );
    let Some(RecordWrite::Replace(replaced)) = write_for(&set_with(changed), true) else { panic!("replaced") };
    assert_eq!(replaced["spec"]["configMaps"][0]["data"]["app.conf"], "v=3");
    assert_eq!(replaced["metadata"]["resourceVersion"], "900");
}
