//! The contract reference, from the WIT packages in `wit/` as a WIT tool
//! reads them: every interface, type and function with its documentation.

use std::fmt::Write;
use std::path::Path;
use wit_parser::{Docs, Resolve, Type, TypeDefKind, TypeId, WorldItem};

pub fn page(wit_root: &Path) -> String {
    let mut versions: Vec<_> = std::fs::read_dir(wit_root)
        .expect("wit/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_dir())
        .collect();
    // Newest first: the version new policies are written against.
    versions.sort_by_key(|path| std::cmp::Reverse(version_key(path)));
    let mut page = String::from(
        "# The WIT contract\n\nGenerated from `wit/`, one frozen package per version; the host runs components \
         built against any of them. The newest comes first.\n",
    );
    for dir in versions {
        page.push_str(&package(&dir));
    }
    page
}

fn version_key(path: &Path) -> Vec<u32> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.split('.').map(|part| part.parse().unwrap_or(0)).collect()
}

fn package(dir: &Path) -> String {
    let mut resolve = Resolve::new();
    let (id, _) = resolve.push_dir(dir).unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
    let package = &resolve.packages[id];
    let mut text = format!("\n## `{}`\n\n{}", package.name, docs(&package.docs));
    for (name, world) in &package.worlds {
        let world = &resolve.worlds[*world];
        let _ = write!(text, "\n### world `{name}`\n\n{}", docs(&world.docs));
        for (direction, items) in [("imports", &world.imports), ("exports", &world.exports)] {
            let names: Vec<String> = items
                .iter()
                .map(|(key, item)| match item {
                    WorldItem::Interface { .. } => format!("interface `{}`", resolve.name_world_key(key)),
                    WorldItem::Function(f) => format!("`{}`", signature(&resolve, &f.name, &f.params, f.result)),
                    WorldItem::Type { id, .. } => format!("type `{}`", type_name(&resolve, Type::Id(*id))),
                })
                .collect();
            if !names.is_empty() {
                let _ = writeln!(text, "- {direction}: {}", names.join(", "));
            }
        }
    }
    for (name, interface) in &package.interfaces {
        let interface = &resolve.interfaces[*interface];
        let _ = write!(text, "\n### interface `{name}`\n\n{}", docs(&interface.docs));
        for (name, ty) in &interface.types {
            text.push_str(&type_section(&resolve, name, *ty));
        }
        for (name, function) in &interface.functions {
            let _ = write!(
                text,
                "\n#### `{}`\n\n{}",
                signature(&resolve, name, &function.params, function.result),
                docs(&function.docs)
            );
        }
    }
    text
}

fn type_section(resolve: &Resolve, name: &str, id: TypeId) -> String {
    let def = &resolve.types[id];
    let mut text = format!("\n#### {} `{name}`\n\n{}", def.kind.as_str(), docs(&def.docs));
    let rows: Vec<(String, String, &Docs)> = match &def.kind {
        TypeDefKind::Record(record) => {
            record.fields.iter().map(|f| (f.name.clone(), type_name(resolve, f.ty), &f.docs)).collect()
        }
        TypeDefKind::Variant(variant) => variant
            .cases
            .iter()
            .map(|c| (c.name.clone(), c.ty.map(|t| type_name(resolve, t)).unwrap_or_default(), &c.docs))
            .collect(),
        TypeDefKind::Enum(e) => e.cases.iter().map(|c| (c.name.clone(), String::new(), &c.docs)).collect(),
        TypeDefKind::Flags(flags) => flags.flags.iter().map(|f| (f.name.clone(), String::new(), &f.docs)).collect(),
        other => {
            let _ = writeln!(text, "`{name}` = `{}`", kind_name(resolve, other));
            Vec::new()
        }
    };
    if !rows.is_empty() {
        text.push_str("| Name | Type | Description |\n|---|---|---|\n");
        for (name, ty, docs) in rows {
            let ty = if ty.is_empty() { String::new() } else { format!("`{ty}`") };
            let description = super::schema::cell(docs.contents.as_deref().unwrap_or_default());
            let _ = writeln!(text, "| `{name}` | {ty} | {description} |");
        }
    }
    text
}

fn signature(resolve: &Resolve, name: &str, params: &[wit_parser::Param], result: Option<Type>) -> String {
    let params: Vec<String> = params.iter().map(|p| format!("{}: {}", p.name, type_name(resolve, p.ty))).collect();
    let result = result.map(|t| format!(" -> {}", type_name(resolve, t))).unwrap_or_default();
    format!("{name}: func({}){result}", params.join(", "))
}

fn type_name(resolve: &Resolve, ty: Type) -> String {
    match ty {
        Type::Id(id) => {
            let def = &resolve.types[id];
            def.name.clone().unwrap_or_else(|| kind_name(resolve, &def.kind))
        }
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// An anonymous type as WIT writes it: `list<string>`, `option<u32>`.
fn kind_name(resolve: &Resolve, kind: &TypeDefKind) -> String {
    let name = |ty: &Type| type_name(resolve, *ty);
    match kind {
        TypeDefKind::Type(ty) => name(ty),
        TypeDefKind::List(ty) => format!("list<{}>", name(ty)),
        TypeDefKind::Option(ty) => format!("option<{}>", name(ty)),
        TypeDefKind::Result(r) => {
            let part = |t: &Option<Type>| t.as_ref().map_or("_".to_string(), name);
            format!("result<{}, {}>", part(&r.ok), part(&r.err))
        }
        TypeDefKind::Tuple(t) => format!("tuple<{}>", t.types.iter().map(name).collect::<Vec<_>>().join(", ")),
        other => other.as_str().to_string(),
    }
}

fn docs(docs: &Docs) -> String {
    match &docs.contents {
        Some(text) => format!("{}\n", text.trim()),
        None => String::new(),
    }
}
