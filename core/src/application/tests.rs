use super::*;
use crate::answers::{Eligibility, FailureReport, Health, Selection};
use crate::executor::Outcome;
use crate::fixtures::*;
use crate::objects::ObjectKey;
use serde_json::Value;

/// `object` as the same object of a workload named `api`.
fn api(object: Value) -> Value {
    let text =
        object.to_string().replace("web", "api").replace("uid-rs-", "uid-api-rs-").replace("uid-pod-", "uid-api-pod-");
    serde_json::from_str(&text).unwrap()
}

fn part_of(mut workload: Value, application: &str) -> Value {
    workload["metadata"]["labels"] = serde_json::json!({ PART_OF: application });
    workload
}

/// `web` and `api`, both of `shop`, each on revision 3 with a revision 2
/// to return to; a ReplicaSet carrying the label too (templates copy it).
fn shop() -> ObjectSet {
    let mut labelled_rs = replica_set("3", "web:3");
    labelled_rs["metadata"]["labels"][PART_OF] = "shop".into();
    set_of([
        part_of(deployment("web:3"), "shop"),
        replica_set("2", "web:2"),
        labelled_rs,
        part_of(api(deployment("api:3")), "shop"),
        api(replica_set("2", "api:2")),
        api(replica_set("3", "api:3")),
        api(pod("3", "a", Some("CrashLoopBackOff"))),
    ])
}

fn spec(members: Members) -> ApplicationSpec {
    ApplicationSpec { namespace: NAMESPACE.into(), name: "shop".into(), members }
}

fn listed(names: &[&str]) -> Members {
    Members::Listed(names.iter().map(|n| TargetSpec::parse(n, NAMESPACE).unwrap()).collect())
}

#[test]
fn part_of_finds_the_labelled_workloads_by_kind_then_name_and_a_list_keeps_its_order() {
    let found = spec(Members::PartOf).find_members(&shop()).unwrap();
    let names: Vec<&str> = found.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["api", "web"], "the labelled ReplicaSet is not a member");
    let found = spec(listed(&["Deployment/web", "Deployment/api"])).find_members(&shop()).unwrap();
    assert_eq!(found[0].name, "web");
}

#[test]
fn an_application_without_members_or_listing_one_twice_is_an_error() {
    let other = ApplicationSpec { name: "other".into(), ..spec(Members::PartOf) };
    let error = other.find_members(&shop()).unwrap_err().to_string();
    assert!(
        error.contains("no Deployment, StatefulSet or DaemonSet is labelled app.kubernetes.io/part-of=other"),
        "{error}"
    );
    let error = spec(listed(&["Deployment/web", "Deployment/web"])).find_members(&shop()).unwrap_err().to_string();
    assert!(error.contains("member 2 lists Deployment/web again"), "{error}");
    let error = spec(listed(&["Deployment/gone"])).find_members(&shop()).map(|m| {
        PreparedApplication::new(
            &shop(),
            &spec(Members::Listed(m)),
            0,
            "{}",
            &crate::snapshot::NoViews,
            &Default::default(),
        )
        .err()
        .map(|e| e.to_string())
    });
    assert!(error.unwrap().unwrap().contains("Deployment/gone in namespace shop is not in the cluster dump"));
}

#[test]
fn the_snapshot_is_member_0_with_every_member_in_its_application_section() {
    let prepared = PreparedApplication::new(
        &shop(),
        &spec(Members::PartOf),
        0,
        "{}",
        &crate::snapshot::NoViews,
        &Default::default(),
    )
    .unwrap();
    assert_eq!(prepared.snapshot.target.name, "api");
    let application = prepared.snapshot.application.as_ref().unwrap();
    assert_eq!(application.name, "shop");
    let names: Vec<&str> = application.members.iter().map(|m| m.target.name.as_str()).collect();
    assert_eq!(names, ["api", "web"]);
    assert!(application.members.iter().all(|m| m.application.is_none() && m.releases.len() == 2));
    assert_eq!(application.member("Deployment", "web").map(|(i, _)| i), Some(1));
}

/// Answers "failed, eligible" and selects with `actions`.
struct Answering(Vec<PolicyAction>);

impl PolicyStages for Answering {
    type Error = String;
    fn detect_failure(&mut self, _: &crate::Snapshot) -> Result<FailureReport, String> {
        Ok(FailureReport {
            state: Health::Failed,
            findings: vec![],
            manual_request: false,
            recheck_after: None,
            actions: vec![],
        })
    }
    fn check_eligibility(&mut self, _: &crate::Snapshot, _: &FailureReport) -> Result<Eligibility, String> {
        Ok(Eligibility { eligible: true, reason: String::new(), actions: vec![] })
    }
    fn select_release(&mut self, _: &crate::Snapshot, _: &FailureReport) -> Result<Selection, String> {
        Ok(Selection { release: None, reason: String::new(), error: None, actions: self.0.clone() })
    }
}

fn run(actions: Vec<PolicyAction>, objects: &mut ObjectSet) -> Evaluated {
    let prepared = PreparedApplication::new(
        objects,
        &spec(Members::PartOf),
        0,
        "{}",
        &crate::snapshot::NoViews,
        &Default::default(),
    )
    .unwrap();
    evaluate_application(Ok(&mut Answering(actions)), &prepared, objects, "p", &[], &EvalOptions::offline(0, vec![]))
}

fn image_of(objects: &ObjectSet, name: &str) -> String {
    let id = objects.find_by_kind_name("Deployment", NAMESPACE, name)[0];
    objects.get(id).unwrap().pointer("/spec/template/spec/containers/0/image").unwrap().as_str().unwrap().to_string()
}

fn member(member: u32, action: PolicyAction) -> PolicyAction {
    PolicyAction::ForMember { member, action: Box::new(action) }
}

const ROLLBACK_2: PolicyAction = PolicyAction::Rollback { revision: 2, deployment_only: false };

#[test]
fn one_answer_rolls_back_several_members_each_checked_against_its_own_scope() {
    let mut objects = shop();
    let evaluated = run(vec![ROLLBACK_2, member(1, ROLLBACK_2)], &mut objects);
    assert!(!evaluated.fatal && evaluated.problems.is_empty(), "{evaluated:?}");
    let web =
        ObjectKey::of(objects.get(objects.find_by_kind_name("Deployment", NAMESPACE, "web")[0]).unwrap()).unwrap();
    assert_eq!(
        evaluated.actions,
        [
            Action::Rollback { revision: 2 },
            Action::Member { member: web, action: Box::new(Action::Rollback { revision: 2 }) }
        ]
    );
    assert!(matches!(evaluated.outcomes[..], [Outcome::Applied(_), Outcome::Applied(_)]));
    assert_eq!((image_of(&objects, "api"), image_of(&objects, "web")), ("api:2".into(), "web:2".into()));
}

#[test]
fn a_member_the_application_lacks_or_another_member_s_pod_refuses_the_whole_answer() {
    let mut objects = shop();
    let evaluated = run(vec![ROLLBACK_2, member(2, ROLLBACK_2)], &mut objects);
    assert!(evaluated.fatal && evaluated.actions.is_empty(), "{evaluated:?}");
    assert!(
        evaluated.problems[0]
            .contains("action 2 (member): the application has 2 members (0 to 1); there is no member 2"),
        "{:?}",
        evaluated.problems
    );
    assert_eq!(image_of(&objects, "api"), "api:3", "nothing ran");

    let api_pod = ObjectKey::of(&api(pod("3", "a", Some("CrashLoopBackOff")))).unwrap();
    let evaluated = run(vec![member(1, ROLLBACK_2), member(1, PolicyAction::DeleteObject(api_pod))], &mut objects);
    assert!(evaluated.fatal, "{evaluated:?}");
    assert!(
        evaluated.problems[0].contains("action 2 (delete-object): on member 1 (Deployment"),
        "{:?}",
        evaluated.problems
    );
    assert_eq!(image_of(&objects, "web"), "web:3", "nothing ran");
}

#[test]
fn a_member_action_nested_or_on_a_workload_evaluated_alone_is_refused() {
    let mut objects = shop();
    let evaluated = run(vec![member(1, member(0, ROLLBACK_2))], &mut objects);
    assert!(
        evaluated.problems[0].contains("a member action is for a RolloutPolicy that targets an application"),
        "{:?}",
        evaluated.problems
    );
    let alone = crate::evaluation::Prepared::new(
        &objects,
        &TargetSpec::parse("Deployment/web", NAMESPACE).unwrap(),
        0,
        "{}",
        &crate::snapshot::NoViews,
        &Default::default(),
    )
    .unwrap();
    let options = EvalOptions::offline(0, vec![]);
    let evaluated = crate::evaluation::evaluate(
        Ok(&mut Answering(vec![member(0, ROLLBACK_2)])),
        &alone,
        &mut objects,
        "p",
        &[],
        &options,
    );
    assert!(evaluated.fatal && evaluated.problems[0].contains("action 1 (member)"), "{:?}", evaluated.problems);
}
