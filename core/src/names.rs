//! Kubernetes' rules for names: DNS subdomains (API groups, annotation key
//! prefixes), qualified names (annotation keys, condition types) and
//! `apiVersion`s. Grants and action validation both check against them.

/// A DNS-1123 subdomain, as Kubernetes checks one: at most 253 characters,
/// dot-separated labels of lowercase alphanumerics and '-', none empty or
/// starting or ending with '-'.
pub(crate) fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Kubernetes' qualified-name rule for annotation keys: an optional DNS
/// subdomain prefix and `/`, then a name of at most 63 characters.
pub(crate) fn check_annotation_key(key: &str) -> Result<(), String> {
    let shown: String = key.chars().take(64).collect();
    let bad = |why: &str| Err(format!("annotation key {shown:?} is invalid: {why}"));
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if prefix.is_some_and(|prefix| !is_dns_subdomain(prefix)) {
        return bad("the prefix must be a lowercase DNS subdomain");
    }
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| alnum(b) || b"-_.".contains(&b))
        && name.bytes().next().is_some_and(alnum)
        && name.bytes().last().is_some_and(alnum);
    if !ok {
        return bad("the name must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric");
    }
    Ok(())
}

/// A condition type is a qualified name, as an annotation key is.
pub(crate) fn check_qualified_name(what: &str, name: &str) -> Result<(), String> {
    check_annotation_key(name).map_err(|e| e.replacen("annotation key", what, 1))
}

/// `v1`, or a DNS-subdomain group and a Kubernetes version (`apps/v1`,
/// `example.com/v1beta2`).
pub(crate) fn check_api_version(api_version: &str) -> Result<(), String> {
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (Some(group), version),
        None => (None, api_version),
    };
    let group_ok = group.is_none_or(|group| is_dns_subdomain(group) && group.split('.').all(|label| label.len() <= 63));
    let version_ok = version.strip_prefix('v').is_some_and(|rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let tail = &rest[digits..];
        let stage = tail.strip_prefix("alpha").or_else(|| tail.strip_prefix("beta"));
        digits > 0
            && !rest.starts_with('0')
            && (tail.is_empty()
                || stage.is_some_and(|n| !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
    });
    if group_ok && version_ok {
        Ok(())
    } else {
        let shown: String = api_version.chars().take(64).collect();
        Err(format!("apiVersion {shown:?} is not a Kubernetes group and version (e.g. apps/v1)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_keys_follow_the_qualified_name_rule() {
        assert!(check_annotation_key("rewind.dev/rollback-to").is_ok());
        assert!(check_annotation_key("simple").is_ok());
        for bad in ["", "Bad.Prefix/x", "a/", "/x", "x/-y", &"n".repeat(64)] {
            assert!(check_annotation_key(bad).is_err(), "{bad:?} accepted");
        }
    }
}
