//! What a policy may change beyond a rollback: grants.
//!
//! Without any grant a policy may do what a rollback needs: restore a
//! recorded release of its target, delete pods of releases other than the
//! one that stays, set and remove the target's annotations (except those
//! Kubernetes reserves), set its conditions and emit events. Anything else
//! is a grant:
//!
//! A grant names a kind alone for the core group and `apps`, where a
//! workload's tree lives (`Pod`, `Deployment`, `ReplicaSet`), and
//! `<Kind>.<group>` in any other group (`MetadataServices.e6data.io`), so a
//! grant on a built-in kind opens no custom resource that shares its name.
//!
//! - `patch:<Kind>:<path>`: merge patches of objects of that kind may write
//!   the fields at and under `<path>`, a JSON pointer whose `*` segments
//!   match any key (not the first). A merge patch replaces an array whole,
//!   so a grant names the array's field (`/spec/template/spec/containers`).
//!   A path under `/status` is written through the status subresource.
//! - `delete:<Kind>`: objects of that kind in the target's ownership tree
//!   may be deleted.
//!
//! A policy declares the grants it needs (in its component); an action is
//! allowed only when the policy declares the grant and the operator gives
//! it (a RolloutPolicy's `spec.grants`, the CLI's `--grant`, a suite's
//! `grants`). Identity and server-owned fields are never writable.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    Patch { kind: String, path: Vec<String> },
    Delete { kind: String },
}

/// Fields no grant opens: who the object is, who owns it, and what the API
/// server keeps for itself.
const NEVER_WRITABLE: &[&[&str]] = &[
    &["apiVersion"],
    &["kind"],
    &["metadata", "name"],
    &["metadata", "namespace"],
    &["metadata", "generateName"],
    &["metadata", "uid"],
    &["metadata", "resourceVersion"],
    &["metadata", "generation"],
    &["metadata", "creationTimestamp"],
    &["metadata", "deletionTimestamp"],
    &["metadata", "deletionGracePeriodSeconds"],
    &["metadata", "managedFields"],
    &["metadata", "ownerReferences"],
    &["metadata", "finalizers"],
    &["metadata", "selfLink"],
];

/// Why a field can never be written, if it cannot.
pub fn never_writable(path: &[String]) -> Option<String> {
    if path.len() == 1 && path[0] == "metadata" {
        return Some("`metadata` as a whole holds the object's identity".into());
    }
    NEVER_WRITABLE
        .iter()
        .find(|fixed| path.len() >= fixed.len() && fixed.iter().zip(path).all(|(a, b)| a == b))
        .map(|fixed| format!("`{}` is the object's identity or the API server's", pointer(fixed)))
}

/// The component that reads annotations of `key`'s prefix and acts on them,
/// so that writing one is not the policy's own business: Kubernetes
/// (`kubernetes.io/`, `k8s.io/` and their subdomains: `kubectl`'s
/// last-applied configuration, a Deployment's revision), Flux
/// (`fluxcd.io` subdomains: `kustomize.toolkit.fluxcd.io/reconcile:
/// disabled` stops Flux applying the object) and Argo CD (`argoproj.io`
/// subdomains).
pub fn annotation_owner(key: &str) -> Option<&'static str> {
    let (prefix, _) = key.split_once('/')?;
    // Keys are case-sensitive but their prefixes are DNS names: compared
    // as such, so `Kubernetes.IO/` is no way around the rule.
    let prefix = prefix.to_ascii_lowercase();
    let under = |domain: &str| prefix == domain || prefix.ends_with(&format!(".{domain}"));
    [("kubernetes.io", "Kubernetes"), ("k8s.io", "Kubernetes"), ("fluxcd.io", "Flux"), ("argoproj.io", "Argo CD")]
        .into_iter()
        .find(|(domain, _)| under(domain))
        .map(|(_, owner)| owner)
}

/// Annotation keys a policy writes on its target only with a grant
/// ([`annotation_owner`]).
pub fn reserved_annotation(key: &str) -> bool {
    annotation_owner(key).is_some()
}

/// A JSON pointer of `segments`, escaped as RFC 6901 says.
pub fn pointer<S: AsRef<str>>(segments: &[S]) -> String {
    segments.iter().map(|s| format!("/{}", s.as_ref().replace('~', "~0").replace('/', "~1"))).collect()
}

fn parse_pointer(text: &str) -> Result<Vec<String>, String> {
    let Some(rest) = text.strip_prefix('/') else {
        return Err(format!("the path {text:?} is not a JSON pointer (it must start with '/')"));
    };
    if rest.is_empty() {
        return Err("the path `/` would grant the whole object; name the fields".into());
    }
    rest.split('/')
        .map(|segment| {
            if segment.is_empty() {
                return Err(format!("the path {text:?} has an empty segment"));
            }
            let mut out = String::new();
            let mut chars = segment.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, false) => out.push(c),
                    (_, true) => match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(format!("the path {text:?} has a '~' that is not ~0 or ~1")),
                    },
                }
            }
            Ok(out)
        })
        .collect()
}

/// The groups whose kinds a grant names without a group.
const UNQUALIFIED_GROUPS: [&str; 2] = ["", "apps"];

/// How a grant names the kind `kind` of API group `group`.
pub fn grant_kind(kind: &str, group: &str) -> String {
    if UNQUALIFIED_GROUPS.contains(&group) { kind.to_string() } else { format!("{kind}.{group}") }
}

/// A grant's `<Kind>` or `<Kind>.<group>`, in the form [`grant_kind`] gives
/// (`Deployment.apps` is `Deployment`).
fn parse_kind(text: &str, grant: &str) -> Result<String, String> {
    let (kind, group) = text.split_once('.').unwrap_or((text, ""));
    let kind_ok = kind.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && kind.len() <= 63
        && kind.bytes().all(|b| b.is_ascii_alphanumeric());
    if !kind_ok {
        return Err(format!(
            "grant {grant:?}: {text:?} is not a Kubernetes kind (e.g. Deployment, or MetadataServices.e6data.io \
             for a kind of another group than the core group and apps)"
        ));
    }
    if !group.is_empty() && !crate::names::is_dns_subdomain(group) {
        return Err(format!("grant {grant:?}: {group:?} is not an API group (a lowercase DNS name)"));
    }
    Ok(grant_kind(kind, group))
}

/// The most grants one policy may declare or one RolloutPolicy give.
pub const MAX_GRANTS: usize = 256;

/// The longest grant, in characters. The longest that means something is
/// about 430: `patch:` and a kind (63) and
/// `:/spec/template/metadata/annotations/` and an annotation key (a
/// 253-character prefix, `~1` for its `/`, a 63-character name). A longer
/// one would only be repeated in every report that names it.
pub const MAX_GRANT_CHARS: usize = 512;

/// How much of a refused grant its error repeats.
const SHOWN_CHARS: usize = 200;

impl Grant {
    pub fn parse(text: &str) -> Result<Grant, String> {
        let length = text.chars().count();
        let shown: String = if length > SHOWN_CHARS {
            text.chars().take(SHOWN_CHARS).chain(['…']).collect()
        } else {
            text.to_string()
        };
        if length > MAX_GRANT_CHARS {
            return Err(format!("grant {shown:?} is {length} characters long; at most {MAX_GRANT_CHARS} are allowed"));
        }
        let text = text.trim();
        if let Some(kind) = text.strip_prefix("delete:") {
            return Ok(Grant::Delete { kind: parse_kind(kind, &shown)? });
        }
        if let Some(rest) = text.strip_prefix("patch:") {
            let Some((kind, path)) = rest.split_once(':') else {
                return Err(format!("grant {shown:?}: a patch grant is `patch:<Kind>:<path>`"));
            };
            let kind = parse_kind(kind, &shown)?;
            let path = parse_pointer(path).map_err(|e| format!("grant {shown:?}: {e}"))?;
            if path[0] == "*" {
                return Err(format!("grant {shown:?} would grant every field; name the top-level one (spec, status)"));
            }
            if let Some(why) = never_writable(&path) {
                return Err(format!("grant {shown:?} cannot be given: {why}"));
            }
            return Ok(Grant::Patch { kind, path });
        }
        Err(format!("grant {shown:?} is neither `patch:<Kind>:<path>` nor `delete:<Kind>`"))
    }

    /// Parses a list, refusing more than [`MAX_GRANTS`].
    pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Result<Vec<Grant>, String> {
        if texts.len() > MAX_GRANTS {
            return Err(format!("{} grants; at most {MAX_GRANTS} are allowed", texts.len()));
        }
        texts.iter().map(|t| Grant::parse(t.as_ref())).collect()
    }

    /// Whether this grant allows writing `path` of an object of `kind`.
    fn covers_write(&self, kind: &str, path: &[String]) -> bool {
        match self {
            Grant::Patch { kind: k, path: granted } => {
                k == kind && granted.len() <= path.len() && granted.iter().zip(path).all(|(g, p)| g == "*" || g == p)
            }
            Grant::Delete { .. } => false,
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Patch { kind, path } => write!(f, "patch:{kind}:{}", pointer(path)),
            Grant::Delete { kind } => write!(f, "delete:{kind}"),
        }
    }
}

/// What a policy declared it needs and what its operator gave it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Grants {
    pub declared: Vec<Grant>,
    pub granted: Vec<Grant>,
}

/// What an action needs beyond the default; `kind` as [`grant_kind`]
/// names it.
pub enum Need<'a> {
    Write { kind: &'a str, path: &'a [String] },
    Delete { kind: &'a str },
}

impl Grants {
    /// The grants both declared and given: what the policy may use.
    pub fn effective(&self) -> Vec<&Grant> {
        self.declared.iter().filter(|d| self.granted.iter().any(|g| g.includes(d))).collect()
    }

    /// Declared grants the operator did not give, for the report.
    pub fn missing(&self) -> Vec<&Grant> {
        self.declared.iter().filter(|d| !self.granted.iter().any(|g| g.includes(d))).collect()
    }

    /// Allows `need`, or says which grant it lacks and who must give it.
    pub fn allow(&self, need: &Need) -> Result<(), String> {
        let wanted = match need {
            Need::Write { kind, path } => Grant::Patch { kind: kind.to_string(), path: path.to_vec() },
            Need::Delete { kind } => Grant::Delete { kind: kind.to_string() },
        };
        let covers = |g: &Grant| g.includes(&wanted);
        let declared = self.declared.iter().any(&covers);
        let granted = self.granted.iter().any(&covers);
        match (declared, granted) {
            (true, true) => Ok(()),
            (false, _) => Err(format!(
                "it needs the grant `{wanted}`, which the policy does not declare (a policy declares its grants \
                 in its component)"
            )),
            (true, false) => Err(format!(
                "it needs the grant `{wanted}`, which the policy declares but is not given (give it in the \
                 RolloutPolicy's spec.grants, a suite's grants or with --grant)"
            )),
        }
    }
}

impl Grant {
    /// Whether everything `other` allows, this allows too.
    pub fn includes(&self, other: &Grant) -> bool {
        match other {
            Grant::Patch { kind, path } => self.covers_write(kind, path),
            Grant::Delete { kind } => matches!(self, Grant::Delete { kind: k } if k == kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(declared: &[&str], granted: &[&str]) -> Grants {
        Grants { declared: Grant::parse_all(declared).unwrap(), granted: Grant::parse_all(granted).unwrap() }
    }

    fn path(p: &str) -> Vec<String> {
        parse_pointer(p).unwrap()
    }

    #[test]
    fn a_grant_round_trips_and_escapes_its_path() {
        for text in ["patch:Deployment:/spec/replicas", "patch:Pod:/metadata/annotations/a~1b", "delete:ReplicaSet"] {
            assert_eq!(Grant::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(path("/metadata/annotations/a~1b~0c"), ["metadata", "annotations", "a/b~c"]);
    }

    #[test]
    fn malformed_and_never_writable_grants_are_refused_with_the_reason() {
        for (text, why) in [
            ("patch:Deployment:spec", "must start with '/'"),
            ("patch:Deployment:/", "whole object"),
            ("patch:deployment:/spec", "not a Kubernetes kind"),
            ("patch:Deployment", "patch:<Kind>:<path>"),
            ("patch:Deployment:/metadata/finalizers", "identity or the API server's"),
            ("patch:Deployment:/metadata", "identity"),
            ("patch:Deployment:/a//b", "empty segment"),
            ("patch:Deployment:/a~2", "~0 or ~1"),
            ("patch:Deployment:/*/x", "every field"),
            ("write:Deployment", "neither"),
        ] {
            let error = Grant::parse(text).unwrap_err();
            assert!(error.contains(why), "{text}: {error}");
        }
        let many: Vec<String> = (0..=MAX_GRANTS).map(|_| "delete:Pod".to_string()).collect();
        assert!(Grant::parse_all(&many).unwrap_err().contains("at most 256"));
    }

    /// A 60,000-character grant was accepted and repeated in every report;
    /// the longest meaningful one (an annotation key of the most characters
    /// Kubernetes allows, under a pod template) is still accepted.
    #[test]
    fn a_grant_longer_than_the_bound_is_refused_without_repeating_it_whole() {
        let key = format!("{}/{}", "a".repeat(253), "b".repeat(63));
        let longest =
            format!("patch:{}:/spec/template/metadata/annotations/{}", "K".repeat(63), key.replace('/', "~1"));
        assert!(longest.len() <= MAX_GRANT_CHARS, "{}", longest.len());
        assert_eq!(Grant::parse(&longest).unwrap().to_string(), longest);

        let huge = format!("patch:Deployment:/spec/{}", "x".repeat(60_000));
        let error = Grant::parse(&huge).unwrap_err();
        assert!(error.contains("is 60023 characters long; at most 512 are allowed"), "{error}");
        assert!(error.len() < 400, "the grant is cut in the error: {} bytes", error.len());
        let just_over = format!("delete:{}", "P".repeat(MAX_GRANT_CHARS - 6));
        assert!(Grant::parse(&just_over).unwrap_err().contains("at most 512"));
    }

    #[test]
    fn a_write_needs_a_grant_declared_and_given_covering_its_path() {
        let replicas = path("/spec/replicas");
        let label = path("/spec/template/metadata/labels/version");
        let need = |p| Need::Write { kind: "Deployment", path: p };
        let both = grants(&["patch:Deployment:/spec/replicas"], &["patch:Deployment:/spec"]);
        assert!(both.allow(&need(&replicas)).is_ok());
        let refused = both.allow(&need(&label)).unwrap_err();
        assert!(refused.contains("`patch:Deployment:/spec/template/metadata/labels/version`"), "{refused}");
        assert!(refused.contains("does not declare"), "{refused}");
        let wildcard = grants(&["patch:Deployment:/spec/template/metadata/labels/*"], &[]);
        let refused = wildcard.allow(&need(&label)).unwrap_err();
        assert!(refused.contains("is not given"), "{refused}");
        let given = grants(
            &["patch:Deployment:/spec/template/metadata/labels/*"],
            &["patch:Deployment:/spec/template/metadata/labels/*"],
        );
        assert!(given.allow(&need(&label)).is_ok());
        assert!(given.allow(&Need::Write { kind: "StatefulSet", path: &label }).is_err(), "another kind");
        assert!(given.allow(&need(&path("/spec/template/metadata/labels"))).is_err(), "a wider write");
    }

    #[test]
    fn effective_grants_are_those_declared_and_given() {
        let g = grants(&["patch:Deployment:/spec/replicas", "delete:ReplicaSet"], &["patch:Deployment:/spec"]);
        let shown = |list: Vec<&Grant>| list.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(shown(g.effective()), ["patch:Deployment:/spec/replicas"]);
        assert_eq!(shown(g.missing()), ["delete:ReplicaSet"]);
        assert!(g.allow(&Need::Delete { kind: "ReplicaSet" }).unwrap_err().contains("is not given"));
    }

    #[test]
    fn reserved_annotations_are_kubernetes_own() {
        assert!(reserved_annotation("kubectl.kubernetes.io/last-applied-configuration"));
        assert!(reserved_annotation("deployment.kubernetes.io/revision"));
        assert!(reserved_annotation("k8s.io/x"));
        assert!(!reserved_annotation("rewind.dev/rolled-back-from"));
        assert!(!reserved_annotation("notkubernetes.io/x"));
        assert!(!reserved_annotation("plain"));
        assert!(reserved_annotation("Kubectl.Kubernetes.IO/last-applied-configuration"));
        assert_eq!(annotation_owner("kustomize.toolkit.fluxcd.io/reconcile"), Some("Flux"));
        assert_eq!(annotation_owner("helm.toolkit.fluxcd.io/driftDetection"), Some("Flux"));
        assert_eq!(annotation_owner("argocd.argoproj.io/sync-options"), Some("Argo CD"));
        assert_eq!(annotation_owner("notfluxcd.io/x"), None);
    }
}
