//! What every version module shares: its host interface and the
//! conversion of its answers into the core's types differ only in the
//! rollback case and the failure report's extra fields, so each version
//! module expands [`conversions!`] with those two.

/// The bindings' host interface and answer conversions are the same for
/// every version but for the rollback case and the failure report's extra
/// fields, so each version module expands this with those two.
macro_rules! conversions {
    (
        contract: $contract:expr,
        rollback: $rollback:pat => $policy_action:expr,
        recheck_after: |$report:ident| $recheck_after:expr
    ) => {
        use self::rewind::policy::{host, types};
        use rewind_core::actions::EventType;
        use rewind_core::answers::{self, ConditionStatus, PolicyAction, Subresource};
        use rewind_core::objects::ObjectKey;

        impl types::Host for Sandbox {}

        impl host::Host for Sandbox {
            fn get_object(&mut self, object: u32) -> Option<String> {
                Sandbox::get_object(self, object)
            }

            fn snapshot_json(&mut self) -> String {
                Sandbox::snapshot_json(self)
            }

            fn log(&mut self, level: types::LogLevel, message: String) -> wasmtime::Result<()> {
                let level = match level {
                    types::LogLevel::Debug => "debug",
                    types::LogLevel::Info => "info",
                    types::LogLevel::Warn => "warn",
                    types::LogLevel::Error => "error",
                };
                Sandbox::log(self, level, message)
            }
        }

        pub fn add_to_linker(linker: &mut wasmtime::component::Linker<Sandbox>) -> wasmtime::Result<()> {
            RollbackPolicy::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)
        }

        fn key(key: types::ObjectKey) -> ObjectKey {
            ObjectKey { api_version: key.api_version, kind: key.kind, namespace: key.namespace, name: key.name }
        }

        fn action(action: types::Action) -> PolicyAction {
            use types::Action as A;
            match action {
                $rollback => $policy_action,
                A::MergePatch(patch) => PolicyAction::MergePatch {
                    object: key(patch.object),
                    subresource: match patch.subresource {
                        types::Subresource::Main => Subresource::Main,
                        types::Subresource::Status => Subresource::Status,
                    },
                    patch: patch.patch,
                },
                A::DeleteObject(object) => PolicyAction::DeleteObject(key(object)),
                A::SetAnnotation((key, value)) => PolicyAction::SetAnnotation { key, value },
                A::RemoveAnnotation(key) => PolicyAction::RemoveAnnotation(key),
                A::SetCondition(c) => PolicyAction::SetCondition {
                    kind: c.kind,
                    status: match c.status {
                        types::ConditionStatus::True => ConditionStatus::True,
                        types::ConditionStatus::False => ConditionStatus::False,
                        types::ConditionStatus::Unknown => ConditionStatus::Unknown,
                    },
                    reason: c.reason,
                    message: c.message,
                },
                A::EmitEvent(e) => PolicyAction::EmitEvent {
                    event_type: match e.event_type {
                        types::EventType::Normal => EventType::Normal,
                        types::EventType::Warning => EventType::Warning,
                    },
                    reason: e.reason,
                    message: e.message,
                },
            }
        }

        fn actions(actions: Vec<types::Action>) -> Vec<PolicyAction> {
            actions.into_iter().map(action).collect()
        }

        pub struct Version;

        impl super::Answers for Version {
            const CONTRACT: super::Contract = $contract;
            type Report = types::FailureReport;
            type Eligibility = types::Eligibility;
            type Selection = types::Selection;

            fn report($report: types::FailureReport) -> answers::FailureReport {
                answers::FailureReport {
                    state: match $report.state {
                        types::Health::Healthy => answers::Health::Healthy,
                        types::Health::Progressing => answers::Health::Progressing,
                        types::Health::Failed => answers::Health::Failed,
                    },
                    recheck_after: $recheck_after,
                    findings: $report
                        .findings
                        .into_iter()
                        .map(|f| answers::Finding {
                            reason: f.reason,
                            message: f.message,
                            pod: f.pod,
                            container: f.container,
                            since: f.since,
                        })
                        .collect(),
                    manual_request: $report.manual_request,
                    actions: actions($report.actions),
                }
            }

            fn eligibility(e: types::Eligibility) -> answers::Eligibility {
                answers::Eligibility { eligible: e.eligible, reason: e.reason, actions: actions(e.actions) }
            }

            fn selection(s: types::Selection) -> answers::Selection {
                answers::Selection { release: s.release, reason: s.reason, error: s.error, actions: actions(s.actions) }
            }
        }
    };
}
