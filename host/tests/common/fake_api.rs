//! An API server in memory, for controller tests that run in seconds: it
//! serves discovery for the kinds the controller touches, keeps objects by
//! path, enforces resourceVersion and uid preconditions as the real one
//! does (a stale write is a 409), applies merge and apply patches, and
//! records every request so a test can assert what the controller asked.
//! A test can make the next matching request fail with a status code.

use kube::client::Body;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

/// One request as the controller made it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Without the query.
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<String, Value>,
    version: u64,
    requests: Vec<Recorded>,
    /// (method, path suffix, code): the next matching request fails.
    failures: Vec<(String, String, u16)>,
}

#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
}

/// (group, version, kind, plural, namespaced) of every kind served.
const KINDS: [(&str, &str, &str, &str); 7] = [
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("", "v1", "Pod", "pods"),
    ("events.k8s.io", "v1", "Event", "events"),
    ("rewind.dev", "v1alpha1", "RolloutDecision", "rolloutdecisions"),
    ("rewind.dev", "v1alpha1", "RolloutPolicy", "rolloutpolicies"),
];

fn plural(kind: &str) -> &'static str {
    KINDS
        .iter()
        .find(|(_, _, k, _)| *k == kind)
        .map(|(_, _, _, p)| *p)
        .unwrap_or_else(|| panic!("unserved kind {kind}"))
}

/// The path of an object.
pub fn path_of(object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().unwrap();
    let prefix = if api_version.contains('/') { format!("/apis/{api_version}") } else { format!("/api/{api_version}") };
    let (namespace, name) =
        (object["metadata"]["namespace"].as_str().unwrap(), object["metadata"]["name"].as_str().unwrap());
    format!("{prefix}/namespaces/{namespace}/{}/{name}", plural(object["kind"].as_str().unwrap()))
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message, "code": code}),
    )
}

impl FakeApi {
    /// A kube client whose every request this fake answers.
    pub fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |request: http::Request<Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.answer(request).await) }
        });
        kube::Client::new(service, "default")
    }

    pub fn put(&self, object: Value) {
        let mut state = self.state.lock().unwrap();
        state.objects.insert(path_of(&object), object);
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// The paths of every object it holds.
    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().cloned().collect()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Writes: every request but reads and discovery.
    pub fn writes(&self) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method != "GET").collect()
    }

    pub fn forget_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// The next `method` request to a path ending in `suffix` fails with `code`.
    pub fn fail_next(&self, method: &str, suffix: &str, code: u16) {
        self.state.lock().unwrap().failures.push((method.into(), suffix.into(), code));
    }

    async fn answer(&self, request: http::Request<Body>) -> http::Response<Body> {
        let method = request.method().to_string();
        let path = request.uri().path().to_string();
        let content_type =
            request.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let (code, answer) = self.handle(&method, &path, &content_type, body);
        let mut response = http::Response::new(Body::from(serde_json::to_vec(&answer).unwrap()));
        *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
        response.headers_mut().insert("content-type", "application/json".parse().unwrap());
        response
    }

    fn handle(&self, method: &str, path: &str, content_type: &str, body: Value) -> (u16, Value) {
        let mut state = self.state.lock().unwrap();
        state.requests.push(Recorded { method: method.into(), path: path.into(), body: body.clone() });
        if let Some(i) = state.failures.iter().position(|(m, s, _)| m == method && path.ends_with(s.as_str())) {
            let (_, _, code) = state.failures.remove(i);
            return status(code, "Injected", &format!("{method} {path} refused by the test"));
        }
        if let Some(list) = discovery(path) {
            return (200, list);
        }
        let object_path = path.trim_end_matches("/status").to_string();
        match method {
            "GET" => match state.objects.get(&object_path) {
                Some(object) => (200, object.clone()),
                None if KINDS.iter().any(|(_, _, _, plural)| path.ends_with(&format!("/{plural}"))) => {
                    (200, list_at(&state.objects, path))
                }
                None => status(404, "NotFound", &format!("{object_path} not found")),
            },
            "PUT" => {
                let Some(current) = state.objects.get(&object_path) else {
                    return status(404, "NotFound", &format!("{object_path} not found"));
                };
                if body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"] {
                    return status(409, "Conflict", "the object has been modified");
                }
                store(&mut state, object_path, body)
            }
            "PATCH" => {
                let current = state.objects.get(&object_path).cloned();
                let precondition = &body["metadata"]["resourceVersion"];
                if let Some(current) = &current
                    && !precondition.is_null()
                    && *precondition != current["metadata"]["resourceVersion"]
                {
                    return status(409, "Conflict", "the object has been modified");
                }
                let patched = match (current, content_type.contains("apply-patch")) {
                    (_, true) => body,
                    (Some(mut current), false) => {
                        rewind::actions::apply_merge_patch(&mut current, &body);
                        current
                    }
                    (None, false) => return status(404, "NotFound", &format!("{object_path} not found")),
                };
                store(&mut state, object_path, patched)
            }
            "POST" => {
                let name = body["metadata"]["name"].as_str().map(str::to_string).unwrap_or_else(|| {
                    let prefix = body["metadata"]["generateName"].as_str().unwrap_or("object-");
                    format!("{prefix}{}", state.version + 1)
                });
                store(&mut state, format!("{path}/{name}"), body)
            }
            "DELETE" => {
                let Some(current) = state.objects.get(&object_path) else {
                    return status(404, "NotFound", &format!("{object_path} not found"));
                };
                let preconditions = &body["preconditions"];
                for field in ["uid", "resourceVersion"] {
                    if !preconditions[field].is_null() && preconditions[field] != current["metadata"][field] {
                        return status(409, "Conflict", &format!("precondition {field} failed"));
                    }
                }
                let gone = state.objects.remove(&object_path).unwrap();
                (200, gone)
            }
            other => status(405, "MethodNotAllowed", other),
        }
    }
}

fn store(state: &mut State, path: String, mut object: Value) -> (u16, Value) {
    state.version += 1;
    object["metadata"]["resourceVersion"] = json!(state.version.to_string());
    state.objects.insert(path, object.clone());
    (200, object)
}

fn list_at(objects: &BTreeMap<String, Value>, path: &str) -> Value {
    let items: Vec<Value> =
        objects.iter().filter(|(p, _)| p.starts_with(&format!("{path}/"))).map(|(_, o)| o.clone()).collect();
    json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// `/api/v1` and `/apis/<group>/<version>`: the resources served there.
fn discovery(path: &str) -> Option<Value> {
    let group_version = match path.strip_prefix("/apis/") {
        Some(gv) if gv.matches('/').count() == 1 => gv.to_string(),
        _ if path == "/api/v1" => "v1".to_string(),
        _ => return None,
    };
    let resources: Vec<Value> = KINDS
        .iter()
        .filter(|(g, v, _, _)| if g.is_empty() { *v == group_version } else { format!("{g}/{v}") == group_version })
        .map(|(_, _, kind, plural)| {
            json!({"name": plural, "singularName": kind.to_lowercase(), "namespaced": true, "kind": kind,
                   "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]})
        })
        .collect();
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
}
