//! Downloads against a registry on loopback (plain HTTP, as rewind speaks to
//! a registry on this machine) that answers as a hostile one would.

use super::{Fetcher, PolicyRef};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The paths a test server was asked for, in order.
type Asked = Arc<Mutex<Vec<String>>>;

/// A server on loopback answering each request for a path with
/// `answer(path)`: an HTTP/1.1 status line, headers and body. Returns its
/// port and the paths asked for.
fn serve(answer: impl Fn(&str) -> String + Send + 'static) -> (u16, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked = Asked::default();
    let record = asked.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut lines = BufReader::new(stream.try_clone().unwrap()).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            // The rest of the head; requests here carry no body.
            for line in lines.by_ref() {
                if line.map_or(true, |l| l.is_empty()) {
                    break;
                }
            }
            let path = first.split(' ').nth(1).unwrap_or_default().to_string();
            // Recorded before answering, so a client that has its answer
            // finds the request recorded.
            record.lock().unwrap().push(path.clone());
            let _ = stream.write_all(answer(&path).as_bytes());
        }
    });
    (port, asked)
}

fn redirect(location: &str) -> String {
    format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

fn answer(status: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
}

/// Resolves `oci://127.0.0.1:<port>/p:1` (its manifest), returning the error
/// a tenant would read in PolicyReady.
async fn resolve(port: u16) -> Result<(), String> {
    let cache = tempfile::tempdir().unwrap();
    let PolicyRef::Oci(oci) = format!("oci://127.0.0.1:{port}/p:1").parse().unwrap() else { unreachable!() };
    Fetcher::new(cache.path()).resolve(&oci).await.map(|_| ()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_redirect_to_another_host_or_port_is_not_followed() {
    let (elsewhere, asked_elsewhere) = serve(|_| answer("200 OK", "{}"));
    let (registry, _) = serve(move |_| redirect(&format!("http://127.0.0.1:{elsewhere}/latest/meta-data/")));
    let refused = resolve(registry).await.unwrap_err();
    assert!(refused.contains(&format!("a redirect to http://127.0.0.1:{elsewhere} is not followed")), "{refused}");
    assert!(asked_elsewhere.lock().unwrap().is_empty(), "nothing was asked of the other server");

    let (registry, _) = serve(|_| redirect("http://localhost:1/v2/p/manifests/1"));
    let refused = resolve(registry).await.unwrap_err();
    assert!(refused.contains("a redirect to http://localhost:1 is not followed"), "{refused}");
}

#[tokio::test]
async fn a_redirect_within_the_registry_is_followed_a_few_times_only() {
    let manifest = r#"{"schemaVersion": 2, "layers": []}"#;
    let (registry, asked) = serve(move |path| match path {
        "/v2/p/manifests/1" => redirect("/moved/manifest"),
        _ => answer("200 OK", manifest),
    });
    resolve(registry).await.unwrap();
    assert_eq!(*asked.lock().unwrap(), ["/v2/p/manifests/1", "/moved/manifest"]);

    let (registry, asked) = serve(|path| redirect(&format!("{path}x")));
    let refused = resolve(registry).await.unwrap_err();
    assert!(refused.contains(&format!("more than {} redirects", super::http::MAX_REDIRECTS)), "{refused}");
    assert_eq!(asked.lock().unwrap().len(), 1 + super::http::MAX_REDIRECTS);
}

/// The body could be any page the controller reaches (a tenant names the
/// registry): PolicyReady says the status and its class only.
#[tokio::test]
async fn an_error_answer_is_told_by_its_status_never_its_body() {
    let (registry, _) = serve(|_| answer("404 Not Found", "internal admin page: token s3cret"));
    let refused = resolve(registry).await.unwrap_err();
    assert!(refused.ends_with("the server answered HTTP 404 (client error)"), "{refused}");
    assert!(!refused.contains("s3cret"), "{refused}");
}
