//! The grants a policy declares, read from its Wasm binary: custom sections
//! named [`SECTION`], each a list of grants, one per line, in the component
//! or in any module nested in it (where a guest language's linker puts
//! them). Read without a Wasm parser (the core has no Wasm engine); every
//! length is checked against the bytes there are.

use super::grants::{Grant, MAX_GRANTS};

pub const SECTION: &str = "rewind:needs";

/// The most bytes of declarations one binary may carry.
const MAX_DECLARED_BYTES: usize = 64 * 1024;
/// Components nest modules and components; deeper than this is refused.
const MAX_NESTING: usize = 8;

const CUSTOM: u8 = 0;
/// A component's core-module and nested-component sections.
const COMPONENT_CORE_MODULE: u8 = 1;
const COMPONENT_COMPONENT: u8 = 4;

/// The grants `binary` declares, in order, without repeats.
pub fn declared_grants(binary: &[u8]) -> Result<Vec<Grant>, String> {
    let mut texts: Vec<&[u8]> = Vec::new();
    walk(binary, 0, &mut |id, content| {
        if id == CUSTOM {
            let (name_len, body) = leb_u32(content)?;
            let name_len = name_len as usize;
            if name_len > body.len() {
                return Err("a custom section's name runs past its end".into());
            }
            if &body[..name_len] == SECTION.as_bytes() {
                texts.push(&body[name_len..]);
            }
        }
        Ok(())
    })?;
    let total: usize = texts.iter().map(|t| t.len()).sum();
    if total > MAX_DECLARED_BYTES {
        return Err(format!("its {SECTION} sections hold {total} bytes; at most {MAX_DECLARED_BYTES} are allowed"));
    }
    let mut grants: Vec<Grant> = Vec::new();
    for text in texts {
        let text = std::str::from_utf8(text).map_err(|_| format!("a {SECTION} section is not UTF-8"))?;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let grant = Grant::parse(line).map_err(|e| format!("its {SECTION} section: {e}"))?;
            if !grants.contains(&grant) {
                grants.push(grant);
            }
        }
    }
    if grants.len() > MAX_GRANTS {
        return Err(format!("it declares {} grants; at most {MAX_GRANTS} are allowed", grants.len()));
    }
    Ok(grants)
}

/// Calls `visit` with each custom section's id and content, in `binary`
/// and in the modules and components nested in it.
fn walk<'a>(
    binary: &'a [u8],
    depth: usize,
    visit: &mut dyn FnMut(u8, &'a [u8]) -> Result<(), String>,
) -> Result<(), String> {
    if depth > MAX_NESTING {
        return Err(format!("it nests modules and components more than {MAX_NESTING} deep"));
    }
    if binary.len() < 8 || &binary[..4] != b"\0asm" {
        return Err("it is not a WebAssembly binary".into());
    }
    let component = binary[6..8] == [1, 0];
    let mut rest = &binary[8..];
    while !rest.is_empty() {
        let id = rest[0];
        let (size, after) = leb_u32(&rest[1..])?;
        let size = size as usize;
        if size > after.len() {
            return Err("a section runs past the end of the binary".into());
        }
        let (content, next) = after.split_at(size);
        match id {
            CUSTOM => visit(id, content)?,
            COMPONENT_CORE_MODULE | COMPONENT_COMPONENT if component => walk(content, depth + 1, visit)?,
            _ => {}
        }
        rest = next;
    }
    Ok(())
}

fn leb_u32(bytes: &[u8]) -> Result<(u32, &[u8]), String> {
    let mut value: u32 = 0;
    for (i, byte) in bytes.iter().take(5).enumerate() {
        let bits = u32::from(byte & 0x7f);
        if i == 4 && bits > 0x0f {
            return Err("a length does not fit in 32 bits".into());
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((value, &bytes[i + 1..]));
        }
    }
    Err("a length is cut short".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(id: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut out = vec![id, content.len() as u8];
        out.extend_from_slice(content);
        out
    }

    fn custom(name: &str, data: &str) -> Vec<u8> {
        let mut content = vec![name.len() as u8];
        content.extend_from_slice(name.as_bytes());
        content.extend_from_slice(data.as_bytes());
        section(CUSTOM, &content)
    }

    const MODULE: &[u8] = b"\0asm\x01\0\0\0";
    const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    #[test]
    fn declarations_are_found_in_the_component_and_its_nested_modules() {
        let mut module = MODULE.to_vec();
        module.extend(custom(SECTION, "patch:Deployment:/spec/replicas\ndelete:ReplicaSet\n"));
        let mut component = COMPONENT.to_vec();
        component.extend(custom("other", "delete:Pod"));
        component.extend(section(COMPONENT_CORE_MODULE, &module));
        component.extend(custom(SECTION, "delete:ReplicaSet"));
        let grants: Vec<String> = declared_grants(&component).unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(grants, ["patch:Deployment:/spec/replicas", "delete:ReplicaSet"]);
        assert!(declared_grants(MODULE).unwrap().is_empty());
    }

    #[test]
    fn malformed_binaries_and_declarations_are_refused() {
        let mut cut = COMPONENT.to_vec();
        cut.extend([CUSTOM, 100, 3]);
        assert!(declared_grants(&cut).unwrap_err().contains("past the end"));
        let mut bad = MODULE.to_vec();
        bad.extend(custom(SECTION, "patch:Deployment:/metadata/uid"));
        assert!(declared_grants(&bad).unwrap_err().contains("cannot be given"));
        assert!(declared_grants(b"not wasm").unwrap_err().contains("not a WebAssembly binary"));
        let mut endless = MODULE.to_vec();
        endless.extend([CUSTOM, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(declared_grants(&endless).unwrap_err().contains("32 bits"));
    }
}
