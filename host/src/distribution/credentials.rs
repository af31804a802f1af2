//! Registry credentials, each kept for the one registry it names: a Docker
//! `config.json` (`auths`, as `docker login` and `podman login` write it and
//! as a `kubernetes.io/dockerconfigjson` Secret holds it), or one user and
//! password for one registry from the environment. None is ever sent to
//! another host: not to an https module server, not to another registry,
//! not to a token realm elsewhere (`fetch`).

use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A Docker config is small; a larger file is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Registry (`host[:port]`) → user and password.
    by_registry: BTreeMap<String, (String, String)>,
}

/// Never printed: a credential in a log is a leaked credential.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("registries", &self.by_registry.keys().collect::<Vec<_>>()).finish()
    }
}

/// `https://registry:5000/v2/` and `registry:5000` name one registry.
fn registry_of(key: &str) -> String {
    let bare = key.trim().trim_start_matches("https://").trim_start_matches("http://");
    bare.split('/').next().unwrap_or_default().to_ascii_lowercase()
}

impl Credentials {
    pub fn is_empty(&self) -> bool {
        self.by_registry.is_empty()
    }

    /// The user and password for `registry` (`host[:port]`), if any.
    pub fn for_registry(&self, registry: &str) -> Option<&(String, String)> {
        self.by_registry.get(&registry_of(registry))
    }

    /// `other`'s entries replace this one's for the same registry.
    pub fn overlaid(mut self, other: Credentials) -> Credentials {
        self.by_registry.extend(other.by_registry);
        self
    }

    /// The `auths` of a Docker config document; `origin` names it in errors.
    pub fn from_docker_config(text: &str, origin: &str) -> Result<Credentials, String> {
        let document: Value =
            serde_json::from_str(text).map_err(|e| format!("{origin} is not a Docker config (JSON): {e}"))?;
        let Some(auths) = document.get("auths").and_then(Value::as_object) else {
            return Err(format!("{origin} has no `auths` object"));
        };
        let mut by_registry = BTreeMap::new();
        for (key, entry) in auths {
            let text = |field: &str| entry.get(field).and_then(Value::as_str).filter(|s| !s.is_empty());
            let pair = match (text("username"), text("password"), text("auth")) {
                (Some(user), Some(password), _) => (user.to_string(), password.to_string()),
                (_, _, Some(auth)) => {
                    let decoded = base64::engine::general_purpose::STANDARD
                        .decode(auth.trim())
                        .ok()
                        .and_then(|bytes| String::from_utf8(bytes).ok())
                        .ok_or_else(|| format!("{origin}: the `auth` of {key:?} is not base64 of user:password"))?;
                    let (user, password) = decoded
                        .split_once(':')
                        .ok_or_else(|| format!("{origin}: the `auth` of {key:?} is not user:password"))?;
                    (user.to_string(), password.to_string())
                }
                // A credential helper's entry, or an empty one: nothing to send.
                _ => continue,
            };
            let registry = registry_of(key);
            if registry.is_empty() {
                return Err(format!("{origin}: {key:?} names no registry"));
            }
            by_registry.insert(registry, pair);
        }
        Ok(Credentials { by_registry })
    }

    /// A Docker config file.
    pub fn from_file(path: &Path) -> Result<Credentials, String> {
        use std::io::Read;
        let shown = path.display();
        let file = std::fs::File::open(path).map_err(|e| format!("cannot read registry credentials {shown}: {e}"))?;
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read registry credentials {shown}: {e}"))?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(format!("registry credentials {shown} are larger than {MAX_CONFIG_BYTES} bytes"));
        }
        Credentials::from_docker_config(&text, &shown.to_string())
    }

    /// What the environment gives: the Docker config at
    /// `REWIND_REGISTRY_AUTH_FILE`, overlaid by `REWIND_REGISTRY_USER` and
    /// `REWIND_REGISTRY_PASSWORD` for the one registry `REWIND_REGISTRY_HOST`
    /// names (required with them).
    pub fn from_env() -> Result<Credentials, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut credentials = match var("REWIND_REGISTRY_AUTH_FILE") {
            Some(path) => Credentials::from_file(Path::new(&path))?,
            None => Credentials::default(),
        };
        match (var("REWIND_REGISTRY_USER"), var("REWIND_REGISTRY_PASSWORD"), var("REWIND_REGISTRY_HOST")) {
            (None, None, _) => {}
            (Some(user), Some(password), Some(host)) => {
                credentials.by_registry.insert(registry_of(&host), (user, password));
            }
            (Some(_), Some(_), None) => {
                return Err("REWIND_REGISTRY_USER is set without REWIND_REGISTRY_HOST: name the registry \
                            (host[:port]) the credentials are for"
                    .into());
            }
            _ => return Err("REWIND_REGISTRY_USER and REWIND_REGISTRY_PASSWORD go together".into()),
        }
        Ok(credentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_docker_config_gives_each_registry_its_own_credentials() {
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cret");
        let config = format!(
            r#"{{"auths": {{"https://Registry.example:5000/v2/": {{"auth": "{auth}"}},
                "other.example": {{"username": "u", "password": "p"}},
                "helper.example": {{}}}}, "credHelpers": {{"x": "y"}}}}"#
        );
        let credentials = Credentials::from_docker_config(&config, "config.json").unwrap();
        assert_eq!(credentials.for_registry("registry.example:5000"), Some(&("robot".into(), "s3cret".into())));
        assert_eq!(credentials.for_registry("other.example"), Some(&("u".into(), "p".into())));
        assert_eq!(credentials.for_registry("registry.example"), None, "another port is another registry");
        assert_eq!(credentials.for_registry("helper.example"), None);
        assert!(!format!("{credentials:?}").contains("s3cret"), "never printed");
    }

    #[test]
    fn malformed_configs_are_refused_naming_the_entry() {
        let bad = Credentials::from_docker_config(r#"{"auths": {"r.example": {"auth": "%%%"}}}"#, "secret shop/pull")
            .unwrap_err();
        assert!(bad.contains("secret shop/pull") && bad.contains("\"r.example\"") && bad.contains("base64"), "{bad}");
        assert!(Credentials::from_docker_config("{}", "f").unwrap_err().contains("no `auths`"));
        assert!(Credentials::from_docker_config("nope", "f").unwrap_err().contains("not a Docker config"));
    }
}
