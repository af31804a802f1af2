//! The `rewind` binary as a user runs it.

mod common;
use common::*;

fn rewind(args: &[&str]) -> (i32, String, String) {
    run_rewind(args, &[])
}

/// `rewind eval` of the Deployment policy on an example dump of `web`.
fn eval_web(dump: &str, now: &str, extra: &[&str]) -> (i32, String, String) {
    let policy = component("plugins/deployment");
    let cluster = format!("examples/deployment/{dump}");
    let mut args = vec!["eval", "--policy", policy.to_str().unwrap(), "--cluster", &cluster];
    args.extend_from_slice(&["--target", "Deployment/web", "--namespace", "shop", "--now", now]);
    args.extend_from_slice(extra);
    rewind(&args)
}

#[test]
fn every_example_suite_passes() {
    let (code, stdout, stderr) = rewind(&["test", "examples/"]);
    for suite in ["deployment", "bluegreen", "bookkeeper", "rollback-on-crash", "analysis"] {
        assert!(stdout.contains(&format!("{suite}.suite.yaml")), "{suite} suite not run: {stdout}");
    }
    assert_eq!(code, 0, "{stdout}{stderr}");
    let summary = stdout.lines().last().unwrap();
    assert!(summary.ends_with("passed, 0 failed"), "{summary}");
}

#[test]
fn a_wrong_expectation_fails_the_run_with_a_diff() {
    let (code, stdout, _) = rewind(&["test", "tests/fixtures/wrong-expectation"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains(r#"selected release: expected "1", got "2""#), "{stdout}");
    assert!(stdout.contains("no action matches"), "{stdout}");
    assert!(stdout.trim_end().ends_with("1 passed, 1 failed"), "{stdout}");
}

#[test]
fn eval_prints_the_json_contract_and_exits_one_on_a_failed_rollout() {
    let (code, stdout, stderr) = eval_web("image-pull-backoff.yaml", "2024-11-06T14:34:00Z", &["--output", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["selection"]["release"], "2");
    assert_eq!(json["actions"][0], serde_json::json!({"type": "rollback", "revision": 2}));
}

#[test]
fn eval_errors_name_what_is_wrong_and_exit_non_zero() {
    let policy = component("plugins/deployment");
    let policy = policy.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--cluster", "examples/deployment/healthy.yaml", "--target", "Deployment/api"],
            "Deployment/api in namespace shop is not in the cluster dump",
        ),
        (&["--cluster", "no/such.yaml", "--target", "Deployment/web"], "no/such.yaml"),
        (&["--cluster", "examples/deployment/healthy.yaml", "--target", "web"], "not of the form Kind/name"),
    ];
    for (args, message) in cases {
        let mut all = vec!["eval", "--policy", policy, "-n", "shop", "--now", "2024-11-06T14:34:00Z"];
        all.extend_from_slice(args);
        let (code, _, stderr) = rewind(&all);
        assert_ne!(code, 0);
        assert!(stderr.contains(message), "expected {message:?} in {stderr}");
    }
}

#[test]
fn text_output_shows_stages_and_limits() {
    let (code, stdout, _) = eval_web("image-pull-backoff.yaml", "2024-11-06T14:31:00Z", &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains("failure:     progressing"), "{stdout}");
    assert!(stdout.contains("eligibility: not asked"), "{stdout}");
    assert!(stdout.contains("limits:      250 ms, 64 MiB memory"), "{stdout}");
}

/// `rewind new` as a user runs it: the crate it creates builds with
/// `rewind build` and passes its own suite with `rewind test`.
#[test]
fn a_new_policy_builds_and_passes_its_suite_as_created() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().to_str().unwrap();
    let (code, stdout, stderr) = rewind(&["new", "rollback-on-oom", "--dir", dir]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let created = parent.path().join("rollback-on-oom");
    assert!(created.join("src/lib.rs").is_file() && created.join("rollback-on-oom.suite.yaml").is_file());

    // The workspace's target directory already holds the SDK's dependencies
    // built for the guest; a user's first build compiles them once.
    let target = workspace().join("target");
    let shared = [("CARGO_TARGET_DIR", target.as_path())];
    let (code, stdout, stderr) = run_rewind(&["build", created.to_str().unwrap()], &shared);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.trim().ends_with("rollback_on_oom.wasm"), "{stdout}");
    assert!(std::path::Path::new(stdout.trim()).is_file());

    let (code, stdout, stderr) = run_rewind(&["test", created.to_str().unwrap()], &shared);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.trim().ends_with("3 passed, 0 failed"), "{stdout}");

    let (code, _, stderr) = rewind(&["new", "rollback-on-oom", "--dir", dir]);
    assert_eq!(code, 2);
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, stdout, stderr) = rewind(&["completions", shell]);
        assert_eq!(code, 0, "{stderr}");
        for subcommand in ["eval", "test", "new", "build"] {
            assert!(stdout.contains(subcommand), "{shell} completions lack {subcommand}: {stdout}");
        }
    }
}

/// Two real policies over the example timeline: the Deployment policy calls
/// the rollout progressing within its grace period where the example policy
/// sees nothing; both roll back at 14:34.
#[test]
fn backtest_reports_first_failure_and_where_policies_differ() {
    let deployment = component("plugins/deployment");
    let example = component("examples/policies/rollback-on-crash");
    let (code, stdout, stderr) = rewind(&[
        "backtest",
        "--policy",
        deployment.to_str().unwrap(),
        "--policy",
        example.to_str().unwrap(),
        "--timeline",
        "examples/timeline/web",
        "--target",
        "Deployment/web",
        "-n",
        "shop",
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let differs: Vec<bool> = report["steps"].as_array().unwrap().iter().map(|s| s["differs"] == true).collect();
    assert_eq!(differs, [false, true, false]);
    assert_eq!(report["steps"][1]["verdicts"][0]["state"], "progressing");
    assert_eq!(report["steps"][1]["verdicts"][1]["state"], "healthy");
    for policy in report["policies"].as_array().unwrap() {
        let first = policy["firstAction"].as_str().unwrap();
        assert!(first.starts_with("2024-11-06T14:34:00Z") && first.contains("release 2"), "{first}");
    }

    let (code, _, stderr) = rewind(&[
        "backtest",
        "--policy",
        deployment.to_str().unwrap(),
        "--timeline",
        "examples",
        "--target",
        "Deployment/web",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not named by a time"), "{stderr}");
}

/// examples/timeline/web-metrics was captured with its query results
/// (scripts/capture-metrics-timeline.sh): revision 2's error rate turns to
/// 0.2 at 14:32:39, so a check asking for one breaching sample fails there
/// and one asking for two a moment later. At 14:32:09 the release has one
/// sample of its own: too few for two consecutive ones, so that check waits
/// (the samples from before it started are not its).
#[test]
fn a_backtest_replays_recorded_metrics_and_shows_where_analysis_settings_differ() {
    let eager = workspace().join("target/cli-analysis-eager.yaml");
    std::fs::write(&eager, "analysis: [{metric: error-rate, failWhen: {above: 0.05}}]\n").unwrap();
    let policy = component("plugins/deployment");
    let policy = policy.to_str().unwrap();
    let (code, stdout, stderr) = rewind(&[
        "backtest",
        "--policy",
        policy,
        "--policy",
        policy,
        "--settings",
        eager.to_str().unwrap(),
        "--settings",
        "examples/timeline/web-metrics.settings.yaml",
        "--timeline",
        "examples/timeline/web-metrics",
        "--target",
        "Deployment/web",
        "-n",
        "shop",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("A: first failure 2026-12-01T14:32:39Z (failed [MetricFailed]"), "{stdout}");
    assert!(stdout.contains("B: first failure 2026-12-01T14:32:54Z (failed [MetricFailed]"), "{stdout}");
    assert!(
        stdout
            .contains("the policies decide differently at 2 of 4 moments: 2026-12-01T14:32:09Z, 2026-12-01T14:32:39Z"),
        "{stdout}"
    );
    assert!(stdout.contains("B: progressing [MetricInconclusive]"), "{stdout}");
}
