//! Where registry credentials go: each only to the registry it names, and a
//! token realm only on that registry's host. A loopback server stands in
//! for a registry and records what each request carried.

use rewind::distribution::{Credentials, Fetcher, PolicyRef};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// Answers every request with 401 and `challenge` (a Bearer challenge, or
/// none for Basic), recording each request's Authorization header.
fn registry(challenge: &'static str) -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut authorization = None;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("authorization: ") {
                    authorization = Some(value.trim().to_string());
                }
            }
            record.lock().unwrap().push(authorization);
            let header =
                if challenge.is_empty() { String::new() } else { format!("WWW-Authenticate: {challenge}\r\n") };
            let answer = format!("HTTP/1.1 401 Unauthorized\r\n{header}Content-Length: 0\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (address, seen)
}

fn docker_config(registry: &str) -> Credentials {
    let config = format!(r#"{{"auths": {{"{registry}": {{"username": "robot", "password": "s3cret"}}}}}}"#);
    Credentials::from_docker_config(&config, "config.json").unwrap()
}

async fn resolve(fetcher: &Fetcher, address: &str) -> String {
    let PolicyRef::Oci(oci) = format!("oci://{address}/policies/web:1").parse().unwrap() else { unreachable!() };
    fetcher.resolve(&oci).await.unwrap_err().to_string()
}

#[tokio::test]
async fn credentials_go_only_to_the_registry_they_name() {
    let cache = tempfile::tempdir().unwrap();
    let (address, seen) = registry("");
    let fetcher = Fetcher::new(cache.path());
    let theirs = fetcher.with_credentials(docker_config(&address));
    let refused = resolve(&theirs, &address).await;
    assert!(refused.contains(&format!("the registry refused the credentials given for {address}")), "{refused}");
    let basic = seen.lock().unwrap().pop().flatten().expect("the registry's own credentials were sent");
    assert!(basic.starts_with("basic "), "{basic}");

    let elsewhere = fetcher.with_credentials(docker_config("registry.example:5000"));
    let error = resolve(&elsewhere, &address).await;
    assert_eq!(seen.lock().unwrap().pop(), Some(None), "another registry's credentials stay home");
    assert!(error.contains(&format!("the registry wants credentials for {address}")), "{error}");
}

#[tokio::test]
async fn a_token_realm_on_another_host_gets_nothing() {
    let cache = tempfile::tempdir().unwrap();
    let (address, seen) = registry(r#"Bearer realm="https://tokens.example/token",service="registry""#);
    let fetcher = Fetcher::new(cache.path()).with_credentials(docker_config(&address));
    let error = resolve(&fetcher, &address).await;
    assert!(
        error.contains("names a token realm https://tokens.example/token that is not https on 127.0.0.1"),
        "{error}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "no request went anywhere else");
}
