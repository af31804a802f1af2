//! What a policy may import, decided in one table ([`RULES`]): each
//! interface is linked (the host implements it), trapped (linked as
//! functions that trap, because Rust's standard library references them
//! without the policy ever calling them) or refused (the component is not
//! loaded). The load-time check (`inspect`), the linker ([`base_linker`])
//! and the trapping stubs ([`stub_unlinked_imports`]) all read it, so what
//! is refused, linked and trapped cannot disagree.

use super::contracts::{self, WIT_PACKAGE};
use super::sandbox::Sandbox;
use wasmtime::component::{HasData, Linker, ResourceTable, ResourceType};

/// What happens to an import of a policy.
#[derive(Clone, Copy, Debug)]
pub enum Capability {
    /// The host provides it: the function links every interface of its rule.
    Linked(fn(&mut Linker<Sandbox>) -> wasmtime::Result<()>),
    /// Every function traps with the import's name when called.
    Trapped,
    /// The component is refused before it runs.
    Refused,
}

/// One row of the table: `interface` `None` is every interface of the
/// package not named in an earlier row.
pub struct Rule {
    package: &'static str,
    interface: Option<&'static str>,
    capability: Capability,
}

const fn rule(package: &'static str, interface: Option<&'static str>, capability: Capability) -> Rule {
    Rule { package, interface, capability }
}

/// First match wins; an import no row matches is refused. A policy has no
/// clock, randomness, files, environment or network: those WASI packages
/// only trap, and every other package (sockets, HTTP …) is refused.
pub const RULES: &[Rule] = &[
    // Every version's host interface; `inspect` checks that a policy
    // imports the one of its own version.
    rule(WIT_PACKAGE, None, Capability::Linked(contracts::add_hosts_to_linker)),
    // The output streams, so a panic message reaches the error report.
    rule("wasi:io", Some("error"), Capability::Linked(link_io_error)),
    rule("wasi:io", Some("poll"), Capability::Linked(link_io_poll)),
    rule("wasi:io", Some("streams"), Capability::Linked(link_io_streams)),
    rule("wasi:cli", Some("stdout"), Capability::Linked(link_stdout)),
    rule("wasi:cli", Some("stderr"), Capability::Linked(link_stderr)),
    rule("wasi:io", None, Capability::Trapped),
    rule("wasi:cli", None, Capability::Trapped),
    rule("wasi:clocks", None, Capability::Trapped),
    rule("wasi:random", None, Capability::Trapped),
    rule("wasi:filesystem", None, Capability::Trapped),
];

/// What happens to an import named `name` (`ns:pkg/interface@version`).
/// Versions are not compared: the linker matches semver-compatible ones (a
/// policy built against WASI 0.2.6 uses the 0.2.12 streams), and the
/// contract's version is checked on its own by `inspect`.
pub fn capability(name: &str) -> Capability {
    let (package, interface, _) = split_name(name);
    RULES
        .iter()
        .find(|r| r.package == package && r.interface.is_none_or(|i| i == interface))
        .map_or(Capability::Refused, |r| r.capability)
}

/// Splits `ns:pkg/interface@version` into its package, interface and version.
pub fn split_name(name: &str) -> (&str, &str, Option<&str>) {
    let (base, version) = match name.split_once('@') {
        Some((b, v)) => (b, Some(v)),
        None => (name, None),
    };
    let (package, interface) = base.split_once('/').unwrap_or((base, ""));
    (package, interface, version)
}

/// A linker with every [`Capability::Linked`] row of [`RULES`].
pub fn base_linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<Sandbox>> {
    let mut linker = Linker::new(engine);
    for rule in RULES {
        if let Capability::Linked(link) = rule.capability {
            link(&mut linker)?;
        }
    }
    Ok(linker)
}

/// The view of the sandbox the `wasi:io` bindings take: its resources.
struct HasIo;

impl HasData for HasIo {
    type Data<'a> = &'a mut ResourceTable;
}

fn link_io_error(l: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    wasmtime_wasi_io::bindings::wasi::io::error::add_to_linker::<Sandbox, HasIo>(l, |s| s.table())
}

fn link_io_poll(l: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::bindings::sync::io::poll::add_to_linker::<Sandbox, HasIo>(l, |s| s.table())
}

fn link_io_streams(l: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::bindings::sync::io::streams::add_to_linker::<Sandbox, HasIo>(l, |s| s.table())
}

fn link_stdout(l: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    wasmtime_wasi::p2::bindings::cli::stdout::add_to_linker::<Sandbox, WasiCli>(l, <Sandbox as WasiCliView>::cli)
}

fn link_stderr(l: &mut Linker<Sandbox>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView};
    wasmtime_wasi::p2::bindings::cli::stderr::add_to_linker::<Sandbox, WasiCli>(l, <Sandbox as WasiCliView>::cli)
}

/// Links every instance import of `component` that the table does not
/// link as functions that trap with the import's name (only trapped ones
/// reach here: `inspect` refused the rest). wasmtime's own
/// `define_unknown_imports_as_traps` compares exact names, versions
/// included, and would shadow the linked streams of another WASI 0.2.x
/// with traps.
pub fn stub_unlinked_imports(
    linker: &mut Linker<Sandbox>,
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
) -> wasmtime::Result<()> {
    use wasmtime::component::types::ComponentItem;
    let ty = component.component_type();
    let is_linked = |name: &str| matches!(capability(name), Capability::Linked(_));
    // Resources of linked interfaces (streams, pollables) reappear in
    // unlinked ones by `use`; those must stay the real types.
    let mut linked_resources = Vec::new();
    for (name, import) in ty.imports(engine) {
        if let (true, ComponentItem::ComponentInstance(instance)) = (is_linked(name), &import.ty) {
            for (_, export) in instance.exports(engine) {
                if let ComponentItem::Resource(resource) = export.ty {
                    linked_resources.push(resource);
                }
            }
        }
    }
    let mut root = linker.root();
    for (name, import) in ty.imports(engine) {
        let ComponentItem::ComponentInstance(instance) = import.ty else { continue };
        if is_linked(name) {
            continue;
        }
        let mut stubs = root.instance(name)?;
        for (item, export) in instance.exports(engine) {
            match export.ty {
                ComponentItem::ComponentFunc(_) => {
                    let full_name = format!("{name}#{item}");
                    stubs.func_new(item, move |_, _, _, _| wasmtime::bail!("unknown import: `{full_name}`"))?;
                }
                ComponentItem::Resource(resource) if !linked_resources.contains(&resource) => {
                    stubs.resource(item, ResourceType::host::<()>(), |_, _| Ok(()))?
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> &'static str {
        match capability(name) {
            Capability::Linked(_) => "linked",
            Capability::Trapped => "trapped",
            Capability::Refused => "refused",
        }
    }

    #[test]
    fn the_table_links_the_contract_and_output_traps_the_rest_of_wasi_and_refuses_all_else() {
        for name in ["rewind:policy/host@0.4.0", "rewind:policy/types@0.3.0", "wasi:io/streams@0.2.6"] {
            assert_eq!(kind(name), "linked", "{name}");
        }
        for name in ["wasi:io/error@0.2.3", "wasi:io/poll@0.2.0", "wasi:cli/stdout@0.2.0", "wasi:cli/stderr@0.2.0"] {
            assert_eq!(kind(name), "linked", "{name}");
        }
        for name in ["wasi:cli/environment@0.2.0", "wasi:cli/exit@0.2.0", "wasi:clocks/wall-clock@0.2.0"] {
            assert_eq!(kind(name), "trapped", "{name}");
        }
        for name in ["wasi:random/random@0.2.0", "wasi:filesystem/preopens@0.2.0", "wasi:cli/stdin@0.2.0"] {
            assert_eq!(kind(name), "trapped", "{name}");
        }
        for name in ["wasi:sockets/tcp@0.2.0", "wasi:http/outgoing-handler@0.2.0", "rewind:other/x", "plain"] {
            assert_eq!(kind(name), "refused", "{name}");
        }
    }

    /// A row after a wider one of its package would never match.
    #[test]
    fn no_row_is_shadowed_by_an_earlier_one() {
        for (i, later) in RULES.iter().enumerate() {
            for earlier in &RULES[..i] {
                let covers = earlier.package == later.package
                    && (earlier.interface.is_none() || earlier.interface == later.interface);
                assert!(!covers, "{}/{:?} is shadowed", later.package, later.interface);
            }
        }
    }

    /// Every linked row links without clashing with another.
    #[test]
    fn the_linker_is_made_of_the_linked_rows() {
        let engine = wasmtime::Engine::default();
        base_linker(&engine).expect("the linked rows link together");
    }

    #[test]
    fn names_split_into_package_interface_and_version() {
        assert_eq!(split_name("rewind:policy/host@0.1.0"), ("rewind:policy", "host", Some("0.1.0")));
        assert_eq!(split_name("wasi:io/streams@0.2.3"), ("wasi:io", "streams", Some("0.2.3")));
        assert_eq!(split_name("plain"), ("plain", "", None));
    }
}
