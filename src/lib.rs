//! Carebook: a self-hostable backend for booking and running medical
//! appointments. One binary, SQLite by default, PostgreSQL in production.
//!
//! Data flows one way: [`api`] → the services ([`accounts`], [`directory`],
//! [`patients`], [`booking`], [`audit`], [`settings`]) → ([`auth`] policy,
//! [`scheduling`]) → [`db`]. [`scheduling`] is pure; [`db`] knows nothing of
//! HTTP. `ARCHITECTURE.md` says where a new area's files go.

pub mod accounts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod booking;
pub mod clinical;
pub mod clock;
pub mod config;
pub mod db;
pub mod directory;
pub mod domain;
pub mod error;
pub mod exports;
pub mod fhir;
pub mod input;
pub mod jobs;
pub mod notifications;
pub mod patients;
pub mod pharmacy;
pub mod profile_image;
pub mod reports;
pub mod request_id;
pub mod scheduling;
pub mod sealing;
pub mod seed;
pub mod server;
pub mod settings;
pub mod state;

pub use api::app;
pub use state::AppState;

#[cfg(test)]
mod layering {
    //! The one-way flow of `ARCHITECTURE.md`, checked on the source itself:
    //! no two top-level modules refer to each other through a chain of
    //! `crate::` paths, and only the HTTP layer's callers refer to `api`.

    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((path.display().to_string(), text));
            }
        }
    }

    /// Top-level module → the top-level modules its code names.
    fn graph() -> BTreeMap<String, BTreeSet<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, text) in files {
            let relative = path
                .strip_prefix(root.to_str().unwrap())
                .unwrap()
                .trim_start_matches('/');
            let module = relative.split('/').next().unwrap().trim_end_matches(".rs").to_owned();
            if module == "lib" || module == "main" {
                continue;
            }
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for (i, _) in line.match_indices("crate::") {
                    let name: String = line[i + 7..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let is_module = root.join(format!("{name}.rs")).exists() || root.join(&name).is_dir();
                    if is_module && name != module {
                        graph.entry(module.clone()).or_default().insert(name);
                    }
                }
            }
        }
        graph
    }

    fn reaches(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str, seen: &mut BTreeSet<String>) -> bool {
        graph
            .get(from)
            .into_iter()
            .flatten()
            .any(|next| next == to || (seen.insert(next.clone()) && reaches(graph, next, to, seen)))
    }

    #[test]
    fn modules_depend_on_each_other_one_way() {
        let graph = graph();
        assert!(graph.len() > 10, "the source was read: {graph:?}");
        let cycles: Vec<String> = graph
            .keys()
            .filter(|m| reaches(&graph, m, m, &mut BTreeSet::new()))
            .cloned()
            .collect();
        assert!(
            cycles.is_empty(),
            "modules on a dependency cycle: {cycles:?}\n{graph:#?}"
        );
        let http_users: Vec<&String> = graph
            .iter()
            .filter(|(m, uses)| uses.contains("api") && m.as_str() != "server")
            .map(|(m, _)| m)
            .collect();
        assert!(
            http_users.is_empty(),
            "only the server builds on the HTTP layer: {http_users:?}"
        );
    }
}
