//! Policies pushed to and pulled from a real registry, and downloaded over
//! https, as a user runs `rewind` (`scripts/distribution-e2e.sh` starts a
//! Docker registry and an https server on loopback and sets the variables).

mod common;
use common::*;
use rewind::distribution::sha256_hex;
use std::path::{Path, PathBuf};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/distribution-e2e.sh"))
}

/// Runs `rewind` with a download cache of its own, so every fetch is real.
fn rewind(cache: &Path, args: &[&str]) -> (i32, String, String) {
    run_rewind(args, &[("REWIND_CACHE_DIR", cache)])
}

fn sha256_of(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).unwrap())
}

/// The Deployment policy on the ImagePullBackOff example: rolls back to 2.
fn eval_release(cache: &Path, policy: &str) -> Result<String, String> {
    let cluster = workspace().join("examples/deployment/image-pull-backoff.yaml");
    let (code, stdout, stderr) = rewind(
        cache,
        &[
            "eval",
            "--policy",
            policy,
            "--cluster",
            cluster.to_str().unwrap(),
            "--target",
            "Deployment/web",
            "-n",
            "shop",
            "--now",
            "2024-11-06T14:34:00Z",
            "--output",
            "json",
        ],
    );
    // Exit status 1: the policy decided the example's rollout failed.
    if code != 1 {
        return Err(format!("{stdout}{stderr}"));
    }
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    Ok(report["selection"]["release"].as_str().unwrap_or_default().to_string())
}

fn cached_modules(cache: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache.join("modules")).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default()
}

#[test]
#[ignore = "needs a registry: scripts/distribution-e2e.sh"]
fn a_policy_pushed_to_a_registry_is_pulled_verified_and_evaluated() {
    let registry = env("REWIND_E2E_REGISTRY");
    let cache = tempfile::tempdir().unwrap();
    let deployment = component("plugins/deployment");
    let tag = format!("oci://{registry}/policies/deployment:v1");

    let (code, stdout, stderr) =
        rewind(cache.path(), &["push", deployment.to_str().unwrap(), &tag, "--annotation", "team=platform"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let pinned = stdout.trim().to_string();
    assert!(pinned.starts_with(&format!("oci://{registry}/policies/deployment@sha256:")), "{pinned}");

    let out = cache.path().join("pulled.wasm");
    let (code, stdout, stderr) = rewind(cache.path(), &["pull", &tag, "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(sha256_of(&out), sha256_of(&deployment), "the pulled module is the pushed one");
    assert!(stderr.contains("dev.rewind.policy.wit: rewind:policy@0.5.0"), "{stderr}");
    assert!(stderr.contains("team: platform"), "{stderr}");
    let cached = cached_modules(cache.path());
    assert_eq!(cached.len(), 1);
    assert!(cached[0].ends_with(format!("sha256-{}.wasm", sha256_of(&deployment))), "cached by digest: {cached:?}");

    assert_eq!(eval_release(cache.path(), &tag).unwrap(), "2");
    assert_eq!(eval_release(cache.path(), &pinned).unwrap(), "2");

    // The tag moves to another module; the pinned digest still names the first.
    let other = component("examples/policies/rollback-on-crash");
    let (code, stdout, stderr) = rewind(cache.path(), &["push", other.to_str().unwrap(), &tag]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, stdout, _) = rewind(cache.path(), &["pull", &tag]);
    assert_eq!(code, 0);
    assert_eq!(sha256_of(Path::new(stdout.trim())), sha256_of(&other));
    let (code, stdout, _) = rewind(cache.path(), &["pull", &pinned]);
    assert_eq!(code, 0);
    assert_eq!(sha256_of(Path::new(stdout.trim())), sha256_of(&deployment));

    let missing = format!("oci://{registry}/policies/deployment:no-such-tag");
    let err = eval_release(cache.path(), &missing).unwrap_err();
    assert!(err.contains("no-such-tag") && err.contains("404"), "{err}");
    let wrong_digest = format!("oci://{registry}/policies/deployment@sha256:{}", "0".repeat(64));
    assert!(eval_release(cache.path(), &wrong_digest).is_err());
}

#[test]
#[ignore = "needs an https server: scripts/distribution-e2e.sh"]
fn an_https_policy_is_used_only_when_its_digest_matches() {
    let base = env("REWIND_E2E_HTTPS");
    let served = PathBuf::from(env("REWIND_E2E_HTTPS_DIR"));
    let deployment = component("plugins/deployment");
    std::fs::copy(&deployment, served.join("deployment.wasm")).unwrap();
    let digest = sha256_of(&deployment);
    let cache = tempfile::tempdir().unwrap();

    let url = format!("{base}/deployment.wasm");
    assert_eq!(eval_release(cache.path(), &format!("{url}#sha256={digest}")).unwrap(), "2");
    assert_eq!(cached_modules(cache.path()).len(), 1);

    let wrong = "f".repeat(64);
    let err = eval_release(cache.path(), &format!("{url}#sha256={wrong}")).unwrap_err();
    assert!(err.contains(&format!("has sha256 {digest}, not {wrong}")), "{err}");
    assert_eq!(cached_modules(cache.path()).len(), 1, "a mismatching download is never cached");

    let err = eval_release(cache.path(), &url).unwrap_err();
    assert!(err.contains("#sha256="), "an unpinned URL is refused: {err}");
    let missing = format!("{base}/missing.wasm#sha256={digest}");
    // Already cached by digest: the cache answers without asking the server.
    assert_eq!(eval_release(cache.path(), &missing).unwrap(), "2");

    // Another module planted under that digest is hashed on use, removed and
    // fetched again; nothing of it runs.
    std::fs::copy(component("tests/components/hostile"), &cached_modules(cache.path())[0]).unwrap();
    assert_eq!(eval_release(cache.path(), &format!("{url}#sha256={digest}")).unwrap(), "2");
    assert_eq!(sha256_of(&cached_modules(cache.path())[0]), digest);
    std::fs::copy(component("tests/components/hostile"), &cached_modules(cache.path())[0]).unwrap();
    assert!(eval_release(cache.path(), &missing).is_err(), "not the planted module: the server has no such file");

    // A download past the limit is refused as it arrives, never cached.
    let huge = std::fs::File::create(served.join("huge.wasm")).unwrap();
    huge.set_len(65 << 20).unwrap();
    let err = eval_release(cache.path(), &format!("{base}/huge.wasm#sha256={wrong}")).unwrap_err();
    assert!(err.contains("the download is larger than 67108864 bytes"), "{err}");
    // (The planted module was removed above, and nothing was cached since.)
    assert!(cached_modules(cache.path()).is_empty());
}

/// The controller's module handling with a RolloutPolicy naming a tag: when
/// the tag moves, the new module serves; when it moves to a module that does
/// not load, the previous one keeps serving and the condition says why.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a registry: scripts/distribution-e2e.sh"]
async fn the_controller_follows_a_moving_tag_and_never_swaps_in_a_bad_module() {
    use rewind::controller::crd::{RolloutPolicy, StatusCondition};
    use rewind::controller::modules::Modules;
    use rewind::distribution::{Fetcher, PolicyRef};

    let registry = env("REWIND_E2E_REGISTRY");
    let cache = tempfile::tempdir().unwrap();
    let tag = format!("oci://{registry}/policies/controller:live");
    let PolicyRef::Oci(oci) = tag.parse().unwrap() else { panic!("an oci reference") };
    let fetcher = Fetcher::new(cache.path());
    let push = async |module: &[u8]| fetcher.push(&oci, module, &Default::default()).await.unwrap();
    let deployment = std::fs::read(component("plugins/deployment")).unwrap();
    let example = std::fs::read(component("examples/policies/rollback-on-crash")).unwrap();

    let rp: RolloutPolicy = serde_json::from_value(serde_json::json!({
        "apiVersion": "rewind.dev/v1alpha1", "kind": "RolloutPolicy",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"target": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "policy": {"module": tag}}
    }))
    .unwrap();
    let runtime = std::sync::Arc::new(
        rewind::runtime::PolicyRuntime::new(Default::default(), Some(rewind::runtime::ArtifactCache::new(cache_dir())))
            .unwrap(),
    );
    let modules =
        std::sync::Arc::new(Modules::new(runtime, Some(cache.path().to_path_buf()), std::time::Duration::ZERO));
    // Polls the module manager as reconciles would, until `done` holds.
    let settle = async |done: &dyn Fn(Option<&str>, &StatusCondition) -> bool| {
        for _ in 0..300 {
            let served = modules.policy_for(&rp).await;
            let (sha, condition) = (served.policy.map(|p| p.sha256), served.ready);
            if done(sha.as_deref(), &condition) {
                return (sha, condition);
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the module manager did not settle");
    };

    push(&deployment).await;
    // Nothing serves yet: the first load runs in the background too.
    let first = modules.policy_for(&rp).await;
    assert!(first.loading && first.policy.is_none(), "{:?}", first.ready);
    let (sha, condition) = settle(&|sha, c| sha.is_some() && c.reason == "Loaded").await;
    assert_eq!(sha, Some(sha256_hex(&deployment)), "{condition:?}");
    assert_eq!(condition.status, "True");

    // The tag moves: the loaded module serves while the new one loads.
    push(&example).await;
    let served = modules.policy_for(&rp).await;
    let (policy, condition) = (served.policy, served.ready);
    assert_eq!(policy.map(|p| p.sha256), Some(sha256_hex(&deployment)), "the loaded module decides meanwhile");
    assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("True", "Loading"), "{condition:?}");
    let (sha, _) = settle(&|sha, c| sha == Some(sha256_hex(&example).as_str()) && c.reason == "Loaded").await;
    assert_eq!(sha, Some(sha256_hex(&example)));

    // The tag moves to a module that does not load: the good one keeps serving.
    push(b"\0asm\x0d\0\x01\0 truncated").await;
    let (sha, condition) = settle(&|_, c| c.reason == "LoadFailed").await;
    assert_eq!(sha, Some(sha256_hex(&example)), "the good module keeps serving");
    assert_eq!(condition.status, "False");
    assert!(condition.message.contains("previous module keeps serving"), "{condition:?}");
}
