//! The book's reference pages are generated from what they describe: the
//! CLI's argument definitions, the CRDs, the chart's values schema, the WIT
//! packages and the snapshot's JSON type. This test fails when a committed
//! page differs from what its source generates now, or when a field has no
//! description; `REWIND_BLESS=1` rewrites the pages.

mod common;
mod reference;

use common::workspace;
use reference::{cli, crds, snapshot_json, values, wit};

#[test]
fn the_generated_references_are_current() {
    let root = workspace();
    let (crd_page, crd_undocumented) = crds::page();
    let (values_page, values_undocumented) = values::page(&root.join("deploy/helm/rewind"));
    let (json_page, json_undocumented) = snapshot_json::page(&root);
    let pages = [
        ("cli.md", cli::page()),
        ("crds.md", crd_page),
        ("helm-values.md", values_page),
        ("wit.md", wit::page(&root.join("wit"))),
        ("snapshot-json.md", json_page),
    ];
    let undocumented: Vec<String> = [crd_undocumented, values_undocumented, json_undocumented].concat();
    assert!(undocumented.is_empty(), "fields without a description (add one at the source): {undocumented:#?}");

    let bless = std::env::var_os("REWIND_BLESS").is_some();
    let mut stale = Vec::new();
    for (file, generated) in pages {
        let path = root.join("docs/src/reference").join(file);
        if bless {
            std::fs::write(&path, &generated).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(format!("docs/src/reference/{file}"));
        }
    }
    assert!(
        stale.is_empty(),
        "{stale:?} differ from what their sources generate: run `REWIND_BLESS=1 cargo test -p rewind --test references` and commit the pages"
    );
}
