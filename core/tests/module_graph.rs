//! The modules of `rewind-core`, of the Wasm adapter (`rewind-wasm`) and of
//! the host (`rewind`) depend on each other one way: no module reaches,
//! through any chain of references, back to itself.
//!
//! The graph is read from the sources (`core/src/**/*.rs`), test code
//! included: a reference is a path that starts at `crate::`, `super::`,
//! `self::` or a child module's name, in `use` items and in code alike
//! (comments and string literals are not read). Its nodes are the top-level
//! modules (`snapshot`, `workloads`, …; a directory and its files are one
//! node) and, split finer, the files of `actions/` (`actions` for
//! `actions/mod.rs`, `actions::grants`, `actions::validate`, …). Both graphs,
//! the top-level one and the finer one, must have no cycle.
//!
//! A module's `pub use` of its own children's items is its facade for
//! outsiders, not something it uses itself: it is not an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A crate's sources, and the directory modules whose files are nodes of
/// their own.
struct Crate {
    src: &'static str,
    split: &'static [&'static str],
}

const CORE: Crate = Crate { src: "core/src", split: &["actions"] };
const WASM: Crate = Crate { src: "adapters/wasm/src", split: &["contracts"] };
const HOST: Crate = Crate { src: "host/src", split: &["controller", "queries", "distribution", "suite"] };

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// The tokens of `source` with their line numbers: identifiers, `::` and
/// single punctuation; comments, string, char and number literals dropped.
fn tokens(source: &str) -> Vec<(Token, usize)> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let newlines = |from: usize, to: usize| chars[from..to].iter().filter(|c| **c == '\n').count();
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += newlines(start, i.min(chars.len()));
        } else if c == '"' || (c == 'b' && next == Some('"')) {
            let start = i;
            i += if c == 'b' { 2 } else { 1 };
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            line += newlines(start, i.min(chars.len()));
        } else if (c == 'r' || (c == 'b' && next == Some('r'))) && {
            let after_r = i + if c == 'b' { 2 } else { 1 };
            let hashes = chars[after_r..].iter().take_while(|c| **c == '#').count();
            chars.get(after_r + hashes) == Some(&'"')
        } {
            // A raw string: r"…", r#"…"#, br"…".
            let start = i;
            let after_r = i + if c == 'b' { 2 } else { 1 };
            let hashes = chars[after_r..].iter().take_while(|c| **c == '#').count();
            i = after_r + hashes + 1;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && chars[i + 1..].iter().take(hashes).filter(|c| **c == '#').count() == hashes {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
            line += newlines(start, i.min(chars.len()));
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // `r#type`: the identifier `type`.
            let word = word.strip_prefix("r#").map(str::to_string).unwrap_or(word);
            out.push((Token::Ident(word), line));
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
        } else if c == ':' && next == Some(':') {
            out.push((Token::Path, line));
            i += 2;
        } else {
            out.push((Token::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// A path one file names, resolved to the crate root, with where it stands.
#[derive(Debug)]
struct Reference {
    target: Vec<String>,
    file: String,
    line: usize,
    /// In a `pub use` item.
    reexport: bool,
}

/// The module a file is (`src/lib.rs`: the root; `src/a/mod.rs` and
/// `src/a.rs`: `a`; `src/a/b.rs`: `a::b`).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.strip_suffix(".rs").unwrap().to_string();
    if stem != "mod" && stem != "lib" {
        parts.push(stem);
    }
    parts
}

/// Reads the paths of a use tree starting at `tokens[*at]`, each appended
/// to `prefix`, into `out`; leaves `*at` after the tree.
fn use_tree(tokens: &[(Token, usize)], at: &mut usize, prefix: Vec<String>, out: &mut Vec<(Vec<String>, usize)>) {
    let mut path = prefix;
    loop {
        match tokens.get(*at) {
            Some((Token::Ident(word), line)) => {
                let line = *line;
                if word != "self" || path.is_empty() {
                    path.push(word.clone());
                }
                *at += 1;
                if tokens.get(*at).map(|t| &t.0) == Some(&Token::Path) {
                    *at += 1;
                    continue;
                }
                if tokens.get(*at).map(|t| &t.0) == Some(&Token::Ident("as".into())) {
                    *at += 2;
                }
                out.push((path, line));
                return;
            }
            Some((Token::Punct('{'), _)) => {
                *at += 1;
                loop {
                    match tokens.get(*at).map(|t| &t.0) {
                        Some(Token::Punct('}')) => {
                            *at += 1;
                            return;
                        }
                        Some(Token::Punct(',')) => *at += 1,
                        None => return,
                        _ => use_tree(tokens, at, path.clone(), out),
                    }
                }
            }
            Some((Token::Punct('*'), line)) => {
                out.push((path, *line));
                *at += 1;
                return;
            }
            Some((_, line)) => {
                out.push((path, *line));
                return;
            }
            None => {
                out.push((path, 0));
                return;
            }
        }
    }
}

/// Every path `source` (the file `file`, module `module`) names that
/// starts at `crate`, `super`, `self` or one of `children`, resolved.
fn references(source: &str, file: &str, module: &[String], modules: &BTreeSet<Vec<String>>) -> Vec<Reference> {
    let tokens = tokens(source);
    let mut out = Vec::new();
    // The module each brace level is in: inline `mod name { … }` blocks.
    let mut scopes: Vec<(Vec<String>, usize)> = vec![(module.to_vec(), 0)];
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        let current = scopes.last().unwrap().0.clone();
        match &tokens[i].0 {
            Token::Punct('{') => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    let mut inner = current.clone();
                    inner.push(name);
                    scopes.push((inner, depth));
                }
                i += 1;
                continue;
            }
            Token::Punct('}') => {
                if scopes.len() > 1 && scopes.last().unwrap().1 == depth {
                    scopes.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            Token::Punct(';') => {
                pending_mod = None;
                i += 1;
                continue;
            }
            Token::Ident(word) if word == "mod" => {
                if let Some((Token::Ident(name), _)) = tokens.get(i + 1) {
                    pending_mod = Some(name.clone());
                }
                i += 2;
                continue;
            }
            Token::Ident(word) if word == "use" => {
                let public = i > 0
                    && (tokens[i - 1].0 == Token::Ident("pub".into())
                        || (tokens[i - 1].0 == Token::Punct(')')
                            && tokens[..i].iter().rev().take(5).any(|t| t.0 == Token::Ident("pub".into()))));
                let mut at = i + 1;
                let mut paths = Vec::new();
                use_tree(&tokens, &mut at, Vec::new(), &mut paths);
                for (path, line) in paths {
                    if let Some(target) = resolve(&path, &current, modules) {
                        out.push(Reference { target, file: file.to_string(), line, reexport: public });
                    }
                }
                i = at;
                continue;
            }
            Token::Ident(word) => {
                // A path in code: only where a path starts (not after `::`).
                let starts = i == 0 || tokens[i - 1].0 != Token::Path;
                if starts && tokens.get(i + 1).map(|t| &t.0) == Some(&Token::Path) {
                    let mut path = vec![word.clone()];
                    let mut at = i + 1;
                    while tokens.get(at).map(|t| &t.0) == Some(&Token::Path) {
                        match tokens.get(at + 1) {
                            Some((Token::Ident(next), _)) => {
                                path.push(next.clone());
                                at += 2;
                            }
                            _ => break,
                        }
                    }
                    if let Some(target) = resolve(&path, &current, modules) {
                        out.push(Reference { target, file: file.to_string(), line: tokens[i].1, reexport: false });
                    }
                    i = at;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `path` as seen from module `from`, from the crate root; none for a path
/// outside the crate (`std::…`, `serde_json::…`, a type's associated item).
fn resolve(path: &[String], from: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let first = path.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (from.to_vec(), &path[1..]),
        "super" => {
            let ups = path.iter().take_while(|p| *p == "super").count();
            (from[..from.len().saturating_sub(ups)].to_vec(), &path[ups..])
        }
        _ => {
            let mut child = from.to_vec();
            child.push(first.clone());
            if !modules.contains(&child) {
                return None;
            }
            (from.to_vec(), path)
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The node a module path (of a file, or a reference's target) belongs to.
fn node(path: &[String], modules: &BTreeSet<Vec<String>>, split: &[&str]) -> String {
    match path {
        [] => "crate".into(),
        [top, sub, ..] if split.contains(&top.as_str()) && modules.contains(&vec![top.clone(), sub.clone()]) => {
            format!("{top}::{sub}")
        }
        [top, ..] if modules.contains(std::slice::from_ref(top)) => top.clone(),
        // An item of the crate root (`crate::Snapshot`).
        _ => "crate".into(),
    }
}

fn top(node: &str) -> String {
    node.split("::").next().unwrap().to_string()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Edges `from → to`, each with the references that make it.
type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn graphs() -> (Graph, Graph) {
    graphs_of(&CORE)
}

fn graphs_of(krate: &Crate) -> (Graph, Graph) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(krate.src);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    // A binary is a crate of its own.
    files.retain(|f| !f.strip_prefix(&src).unwrap().starts_with("bin"));
    files.sort();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f.strip_prefix(&src).unwrap())).collect();
    let (mut fine, mut coarse) = (Graph::new(), Graph::new());
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = module_of(relative);
        let from = node(&module, &modules, krate.split);
        fine.entry(from.clone()).or_default();
        coarse.entry(top(&from)).or_default();
        let source = std::fs::read_to_string(file).unwrap();
        let shown = format!("{}/{}", krate.src, relative.display());
        for reference in references(&source, &shown, &module, &modules) {
            // A module's facade: re-exporting its own children's items.
            if reference.reexport && reference.target.starts_with(&module) {
                continue;
            }
            let to = node(&reference.target, &modules, krate.split);
            let why = format!("{}:{} ({})", reference.file, reference.line, reference.target.join("::"));
            if to != from && to != "crate" {
                fine.entry(from.clone()).or_default().entry(to.clone()).or_default().push(why.clone());
            }
            if top(&to) != top(&from) && to != "crate" {
                coarse.entry(top(&from)).or_default().entry(top(&to)).or_default().push(why);
            }
        }
    }
    (fine, coarse)
}

/// The strongly connected components of more than one node (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flat_map(|e| e.keys()) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

/// Each cycle with the edges inside it and the first reference behind each.
fn explain(graph: &Graph, found: &[Vec<String>]) -> String {
    let mut text = String::new();
    for component in found {
        text.push_str(&format!("cycle among {}:\n", component.join(", ")));
        for from in component {
            for (to, why) in &graph[from] {
                if component.contains(to) {
                    text.push_str(&format!("  {from} -> {to}: {} ({} references)\n", why[0], why.len()));
                }
            }
        }
    }
    text
}

fn edges(graph: &Graph) -> String {
    graph
        .iter()
        .map(|(from, to)| format!("{from} -> {}", to.keys().cloned().collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_graph_is_read() {
    let (fine, coarse) = graphs();
    println!("{}\n\n{}", edges(&coarse), edges(&fine));
    // References the core certainly makes: a reader that found none would
    // pass the tests below without reading anything.
    for (from, to) in [("snapshot", "workloads"), ("executor", "change"), ("change", "actions"), ("dump", "objects")] {
        assert!(coarse[from].contains_key(to), "{from} -> {to} not found:\n{}", edges(&coarse));
    }
    for (from, to) in [("actions::validate", "actions::grants"), ("actions::needs", "actions::grants")] {
        assert!(fine[from].contains_key(to), "{from} -> {to} not found:\n{}", edges(&fine));
    }
}

#[test]
fn top_level_modules_have_no_cycle() {
    let (_, coarse) = graphs();
    let found = cycles(&coarse);
    assert!(found.is_empty(), "{}\nall edges:\n{}", explain(&coarse, &found), edges(&coarse));
}

#[test]
fn split_modules_have_no_cycle() {
    let (fine, _) = graphs();
    let found = cycles(&fine);
    assert!(found.is_empty(), "{}\nall edges:\n{}", explain(&fine, &found), edges(&fine));
}

#[test]
fn the_wasm_adapter_and_the_host_have_no_cycle() {
    for krate in [WASM, HOST] {
        let (fine, _) = graphs_of(&krate);
        assert!(!fine.is_empty(), "{}: nothing read", krate.src);
        let found = cycles(&fine);
        assert!(found.is_empty(), "{}:\n{}\nall edges:\n{}", krate.src, explain(&fine, &found), edges(&fine));
    }
}
