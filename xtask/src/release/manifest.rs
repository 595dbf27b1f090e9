//! The pure half of `cargo xtask release`: the workspace's manifests as data, and the checks and
//! plans computed from them (no process is run and no file is read here, except by [`load`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// One member crate of the workspace, as the release sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Crate {
    pub name: String,
    /// The member's folder, relative to the workspace root (e.g. `crates/mlx`).
    pub dir: String,
    /// Its version: its own, or the workspace's when inherited (`None`: neither is set).
    pub version: Option<String>,
    pub version_inherited: bool,
    /// False for `publish = false` (or `publish = []`).
    pub publish: bool,
    /// Its dependencies on other members of the workspace.
    pub internal_deps: Vec<Dep>,
}

/// A dependency of a member on another member.
#[derive(Debug, Clone, PartialEq)]
pub struct Dep {
    /// The package depended on (the `package = ` of a renamed dependency).
    pub name: String,
    pub kind: DepKind,
    /// Its `version = ` requirement, taken from `[workspace.dependencies]` when it says
    /// `workspace = true`.
    pub version: Option<String>,
    /// Where the requirement was written, for messages.
    pub written_in: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepKind {
    Normal,
    Build,
    Dev,
}

impl DepKind {
    fn table(self) -> &'static str {
        match self {
            DepKind::Normal => "dependencies",
            DepKind::Build => "build-dependencies",
            DepKind::Dev => "dev-dependencies",
        }
    }
}

/// The workspace: its version, its internal entries of `[workspace.dependencies]` and its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Workspace {
    pub version: Option<String>,
    /// `[workspace.dependencies]` entries naming a member: package name → `version = ` (if any).
    pub internal_deps: BTreeMap<String, Option<String>>,
    /// Members in the order of `members = [...]`.
    pub crates: Vec<Crate>,
}

impl Workspace {
    pub fn publishable(&self) -> impl Iterator<Item = &Crate> {
        self.crates.iter().filter(|c| c.publish)
    }

    pub fn get(&self, name: &str) -> Option<&Crate> {
        self.crates.iter().find(|c| c.name == name)
    }
}

/// Reads the root manifest and every member's manifest.
pub fn load(root: &Path) -> Result<Workspace, String> {
    let read = |path: &Path| -> Result<Table, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        text.parse::<Table>()
            .map_err(|e| format!("cannot parse {}: {e}", path.display()))
    };
    let root_manifest = read(&root.join("Cargo.toml"))?;
    let mut members = Vec::new();
    for dir in member_dirs(&root_manifest, root)? {
        let manifest = read(&root.join(&dir).join("Cargo.toml"))?;
        members.push((dir, manifest));
    }
    parse(&root_manifest, &members)
}

/// The `members` of `[workspace]`, with `dir/*` patterns expanded.
fn member_dirs(root_manifest: &Table, root: &Path) -> Result<Vec<String>, String> {
    let members = root_manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(Value::as_array)
        .ok_or("the root Cargo.toml has no [workspace] members")?;
    let mut dirs = Vec::new();
    for m in members {
        let m = m.as_str().ok_or("a workspace member is not a string")?;
        if let Some(parent) = m.strip_suffix("/*") {
            let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(parent))
                .map_err(|e| format!("cannot list {parent}: {e}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("Cargo.toml").exists())
                .collect();
            found.sort();
            for p in found {
                let name = p.file_name().unwrap().to_string_lossy();
                dirs.push(format!("{parent}/{name}"));
            }
        } else if m.contains(['*', '?', '[']) {
            return Err(format!("workspace member pattern `{m}` is not supported"));
        } else {
            dirs.push(m.to_string());
        }
    }
    Ok(dirs)
}

/// Builds the [`Workspace`] from parsed manifests (root, and each member's folder and manifest).
pub fn parse(root: &Table, members: &[(String, Table)]) -> Result<Workspace, String> {
    let ws = root
        .get("workspace")
        .and_then(Value::as_table)
        .ok_or("the root Cargo.toml has no [workspace] table")?;
    let ws_version = ws
        .get("package")
        .and_then(|p| p.get("version"))
        .and_then(Value::as_str)
        .map(String::from);

    let mut names = BTreeSet::new();
    let mut packages = Vec::new();
    for (dir, manifest) in members {
        let package = manifest
            .get("package")
            .and_then(Value::as_table)
            .ok_or_else(|| format!("{dir}/Cargo.toml has no [package]"))?;
        let name = package
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{dir}/Cargo.toml has no package name"))?;
        names.insert(name.to_string());
        packages.push((dir, manifest, package, name));
    }

    // `[workspace.dependencies]` entries that name a member (by `package = ` or their key).
    let mut ws_deps: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    if let Some(table) = ws.get("dependencies").and_then(Value::as_table) {
        for (key, spec) in table {
            let (package, version) = dep_spec(key, spec);
            if names.contains(&package) {
                ws_deps.insert(key.clone(), (package, version));
            }
        }
    }

    let mut crates = Vec::new();
    for (dir, manifest, package, name) in packages {
        let (version, version_inherited) = match package.get("version") {
            Some(Value::String(v)) => (Some(v.clone()), false),
            Some(Value::Table(t)) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                (ws_version.clone(), true)
            }
            Some(_) => return Err(format!("{dir}/Cargo.toml: unexpected `version` value")),
            // Cargo's default when the field is absent.
            None => (Some("0.0.0".into()), false),
        };
        let publish = match package.get("publish") {
            Some(Value::Boolean(b)) => *b,
            Some(Value::Array(registries)) => !registries.is_empty(),
            Some(Value::Table(t)) => t.get("workspace").and_then(Value::as_bool) != Some(true),
            _ => true,
        };
        let mut internal_deps = Vec::new();
        let mut tables: Vec<(String, &Table)> = vec![(String::new(), manifest)];
        if let Some(targets) = manifest.get("target").and_then(Value::as_table) {
            for (cfg, t) in targets {
                if let Some(t) = t.as_table() {
                    tables.push((format!("target.'{cfg}'."), t));
                }
            }
        }
        for (prefix, table) in tables {
            for kind in [DepKind::Normal, DepKind::Build, DepKind::Dev] {
                let Some(deps) = table.get(kind.table()).and_then(Value::as_table) else {
                    continue;
                };
                for (key, spec) in deps {
                    let inherits = spec.get("workspace").and_then(Value::as_bool) == Some(true);
                    let (package, version, written_in) = if inherits {
                        match ws_deps.get(key) {
                            Some((p, v)) => (p.clone(), v.clone(), "[workspace.dependencies]"),
                            None => continue,
                        }
                    } else {
                        let (p, v) = dep_spec(key, spec);
                        (p, v, "")
                    };
                    if !names.contains(&package) {
                        continue;
                    }
                    let written_in = if written_in.is_empty() {
                        format!("{dir}/Cargo.toml [{prefix}{}]", kind.table())
                    } else {
                        written_in.to_string()
                    };
                    internal_deps.push(Dep {
                        name: package,
                        kind,
                        version,
                        written_in,
                    });
                }
            }
        }
        crates.push(Crate {
            name: name.to_string(),
            dir: dir.clone(),
            version,
            version_inherited,
            publish,
            internal_deps,
        });
    }
    Ok(Workspace {
        version: ws_version,
        internal_deps: ws_deps.into_values().collect(),
        crates,
    })
}

/// The package a dependency entry names, and its `version = ` requirement.
fn dep_spec(key: &str, spec: &Value) -> (String, Option<String>) {
    match spec {
        Value::String(v) => (key.to_string(), Some(v.clone())),
        Value::Table(t) => (
            t.get("package")
                .and_then(Value::as_str)
                .unwrap_or(key)
                .to_string(),
            t.get("version").and_then(Value::as_str).map(String::from),
        ),
        _ => (key.to_string(), None),
    }
}

/// Step 1: the version being released, if the workspace version, every publishable crate's
/// version and every requirement on a publishable member agree; else every disagreement.
pub fn check_versions(ws: &Workspace) -> Result<String, Vec<String>> {
    let mut problems = Vec::new();
    let publishable: Vec<&Crate> = ws.publishable().collect();
    if publishable.is_empty() {
        return Err(vec!["no crate of the workspace is publishable".into()]);
    }
    let version = match (&ws.version, publishable[0].version.as_ref()) {
        (Some(v), _) => v.clone(),
        (None, Some(v)) => v.clone(),
        (None, None) => return Err(vec![format!("{} has no version", publishable[0].name)]),
    };
    let is_publishable = |name: &str| ws.get(name).is_some_and(|c| c.publish);
    for c in &publishable {
        match &c.version {
            Some(v) if *v == version => {}
            Some(v) => problems.push(format!(
                "{} is at version {v}, not {version} ({}/Cargo.toml)",
                c.name, c.dir
            )),
            None => problems.push(format!(
                "{} inherits the workspace version, which is not set",
                c.name
            )),
        }
    }
    for (name, req) in &ws.internal_deps {
        if !is_publishable(name) {
            continue;
        }
        match req {
            Some(req) if requirement_matches(req, &version) => {}
            Some(req) => problems.push(format!(
                "[workspace.dependencies] requires {name} `{req}`, not `{version}`"
            )),
            None => problems.push(format!(
                "[workspace.dependencies] gives {name} a path but no `version = \"{version}\"` \
                 (cargo package needs one)"
            )),
        }
    }
    // Every member's own requirements on publishable members: a crate that is not published
    // still builds against the released versions, so its requirements must agree too.
    let mut seen = BTreeSet::new();
    for c in &ws.crates {
        for d in &c.internal_deps {
            if d.written_in == "[workspace.dependencies]" {
                continue; // checked above
            }
            if !seen.insert((c.name.clone(), d.name.clone(), d.written_in.clone())) {
                continue;
            }
            match &d.version {
                Some(req) if is_publishable(&d.name) && !requirement_matches(req, &version) => {
                    problems.push(format!(
                        "{} requires {} `{req}`, not `{version}` ({})",
                        c.name, d.name, d.written_in
                    ))
                }
                Some(_) => {}
                // Cargo drops path-only dev-dependencies from the package; the others need a
                // version to be published.
                None if c.publish && d.kind != DepKind::Dev => problems.push(format!(
                    "{} depends on {} by path only ({}): add `version = \"{version}\"`",
                    c.name, d.name, d.written_in
                )),
                None => {}
            }
        }
    }
    // A published crate cannot depend on one that is never published.
    for c in &publishable {
        for d in &c.internal_deps {
            if d.kind != DepKind::Dev && !is_publishable(&d.name) {
                problems.push(format!(
                    "{} depends on {}, which has `publish = false`",
                    c.name, d.name
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(version)
    } else {
        Err(problems)
    }
}

/// Whether a requirement written for a member names exactly the release version (`0.1.0`,
/// `=0.1.0` or `^0.1.0`): a looser one (`0.1`) would let dependents resolve an older release.
fn requirement_matches(req: &str, version: &str) -> bool {
    let req = req.trim();
    let bare = req
        .strip_prefix('=')
        .or_else(|| req.strip_prefix('^'))
        .unwrap_or(req);
    bare.trim() == version
}

/// Step 2: the heading of the changelog entry for `version` — a Markdown heading (`#`…) that
/// names the version as a whole word (`## 0.1.0`, `## [0.1.0] - 2025-06-01`, `# v0.1.0`; not
/// `0.1.0-alpha` or `10.1.0`).
pub fn changelog_entry<'a>(changelog: &'a str, version: &str) -> Option<&'a str> {
    changelog
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .find(|l| names_version(l, version))
}

fn names_version(line: &str, version: &str) -> bool {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(pos) = line[from..].find(version) {
        let start = from + pos;
        let end = start + version.len();
        let before_ok = start == 0 || !matches!(bytes[start - 1], b'0'..=b'9' | b'.' | b'-');
        let after_ok = match bytes.get(end) {
            None => true,
            Some(b'0'..=b'9' | b'-' | b'+') => false,
            Some(b'.') => !bytes.get(end + 1).is_some_and(u8::is_ascii_digit),
            Some(_) => true,
        };
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
    }
    false
}

/// Whether a changelog heading still says the entry is unreleased.
pub fn marked_unreleased(heading: &str) -> bool {
    heading.to_ascii_lowercase().contains("unreleased")
}

/// The publishable crates in an order where each comes after the members it needs from the
/// registry (normal and build dependencies, and dev-dependencies that carry a version, which
/// the registry must also know); ties keep the order of `members`.
pub fn publish_order(ws: &Workspace) -> Result<Vec<String>, String> {
    let publishable: Vec<&Crate> = ws.publishable().collect();
    let names: BTreeSet<&str> = publishable.iter().map(|c| c.name.as_str()).collect();
    let needs = |c: &Crate| -> BTreeSet<String> {
        c.internal_deps
            .iter()
            .filter(|d| d.name != c.name && names.contains(d.name.as_str()))
            .filter(|d| d.kind != DepKind::Dev || d.version.is_some())
            .map(|d| d.name.clone())
            .collect()
    };
    let mut pending: Vec<(&str, BTreeSet<String>)> = publishable
        .iter()
        .map(|c| (c.name.as_str(), needs(c)))
        .collect();
    let mut order: Vec<String> = Vec::new();
    while !pending.is_empty() {
        let Some(i) = pending
            .iter()
            .position(|(_, deps)| deps.iter().all(|d| order.contains(d)))
        else {
            let stuck: Vec<&str> = pending.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "the dependencies between {} form a cycle",
                stuck.join(", ")
            ));
        };
        order.push(pending.remove(i).0.to_string());
    }
    Ok(order)
}

/// What crates.io knows of a crate, as far as the release cares.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryState {
    /// No crate of that name.
    Absent,
    /// The name exists, not this version. `repository` as the registry shows it.
    NameOnly {
        latest: String,
        repository: Option<String>,
    },
    /// This very version exists.
    Published { repository: Option<String> },
}

/// One action of `release --execute`.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `cargo publish -p <crate>`, then wait until the registry shows the version.
    Publish(String),
    /// Already on the registry from this repository (an interrupted earlier run): skipped.
    AlreadyPublished(String),
    /// `git tag -a v<version>`.
    Tag(String),
}

/// Whether a repository URL written by the registry is this workspace's.
pub fn same_repository(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim()
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// The actions of `--execute`: every crate in `order` is published, except versions that the
/// registry already has from `our_repository`; the tag comes last. A version or a name that the
/// registry has from another repository stops the plan, since crates.io would refuse it.
pub fn publish_plan(
    order: &[String],
    version: &str,
    our_repository: &str,
    registry: &BTreeMap<String, RegistryState>,
) -> Result<Vec<Action>, String> {
    let mut actions = Vec::new();
    for name in order {
        match registry.get(name) {
            None => return Err(format!("no registry state for {name}")),
            Some(RegistryState::Absent) => actions.push(Action::Publish(name.clone())),
            Some(RegistryState::NameOnly { repository, latest }) => {
                if let Some(repo) = repository.as_deref()
                    && !same_repository(repo, our_repository)
                {
                    return Err(foreign_name(name, latest, repo));
                }
                actions.push(Action::Publish(name.clone()));
            }
            Some(RegistryState::Published { repository }) => match repository.as_deref() {
                Some(repo) if same_repository(repo, our_repository) => {
                    actions.push(Action::AlreadyPublished(name.clone()))
                }
                repo => {
                    return Err(format!(
                        "{name} {version} is already on crates.io{}: bump the version",
                        repo.map(|r| format!(" (from {r})")).unwrap_or_default()
                    ));
                }
            },
        }
    }
    actions.push(Action::Tag(format!("v{version}")));
    Ok(actions)
}

/// The message for a crate name that crates.io holds for another project.
pub fn foreign_name(name: &str, latest: &str, repository: &str) -> String {
    format!(
        "the name {name} on crates.io belongs to another project ({repository}, latest \
         {latest}): publishing needs its owners to add you, or a new name"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = r#"
[workspace]
members = ["crates/sys", "crates/lib", "crates/macros", "crates/top", "bench"]
[workspace.package]
version = "0.3.0"
[workspace.dependencies]
sys = { path = "crates/sys", version = "0.3.0" }
lib = { path = "crates/lib", version = "0.3.0" }
macros = { path = "crates/macros", version = "=0.3.0" }
top = { path = "crates/top", version = "0.3.0" }
serde = "1"
"#;

    fn member(name: &str, extra: &str) -> String {
        format!("[package]\nname = \"{name}\"\nversion.workspace = true\n{extra}")
    }

    fn workspace(root: &str, members: &[(&str, String)]) -> Workspace {
        let members: Vec<(String, Table)> = members
            .iter()
            .map(|(dir, text)| (dir.to_string(), text.parse().unwrap()))
            .collect();
        parse(&root.parse().unwrap(), &members).unwrap()
    }

    fn good() -> Vec<(&'static str, String)> {
        vec![
            (
                "crates/sys",
                member("sys", "[build-dependencies]\ncc = \"1\""),
            ),
            (
                "crates/lib",
                member(
                    "lib",
                    "[dependencies]\nsys.workspace = true\nmacros = { workspace = true }",
                ),
            ),
            ("crates/macros", member("macros", "")),
            (
                "crates/top",
                member(
                    "top",
                    "[dependencies]\nlib.workspace = true\n[dev-dependencies]\ntop = { path = \".\" }",
                ),
            ),
            (
                "bench",
                member(
                    "bench",
                    "publish = false\n[dependencies]\ntop = { path = \"../crates/top\" }",
                ),
            ),
        ]
    }

    #[test]
    fn reads_members_versions_and_internal_deps() {
        let ws = workspace(ROOT, &good());
        assert_eq!(ws.version.as_deref(), Some("0.3.0"));
        let names: Vec<&str> = ws.publishable().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["sys", "lib", "macros", "top"]);
        let lib = ws.get("lib").unwrap();
        assert!(lib.version_inherited);
        assert_eq!(lib.internal_deps.len(), 2);
        assert_eq!(lib.internal_deps[1].name, "sys");
        assert_eq!(lib.internal_deps[1].version.as_deref(), Some("0.3.0"));
        assert!(!ws.get("bench").unwrap().publish);
        assert_eq!(ws.internal_deps.len(), 4);
    }

    #[test]
    fn versions_agree() {
        let ws = workspace(ROOT, &good());
        assert_eq!(check_versions(&ws), Ok("0.3.0".to_string()));
    }

    #[test]
    fn own_version_that_differs_is_reported() {
        let mut members = good();
        members[2].1 = "[package]\nname = \"macros\"\nversion = \"0.2.9\"\n".into();
        let errors = check_versions(&workspace(ROOT, &members)).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].contains("macros is at version 0.2.9"),
            "{errors:?}"
        );
    }

    #[test]
    fn stale_requirements_are_reported_wherever_written() {
        let root = ROOT.replace(
            "sys = { path = \"crates/sys\", version = \"0.3.0\" }",
            "sys = { path = \"crates/sys\", version = \"0.2\" }",
        );
        let mut members = good();
        members[3].1 = member(
            "top",
            "[target.'cfg(unix)'.dependencies]\nlib = { path = \"../lib\", version = \"0.2.0\" }",
        );
        let errors = check_versions(&workspace(&root, &members)).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("requires sys `0.2`"), "{errors:?}");
        assert!(
            errors[1].contains("top requires lib `0.2.0`")
                && errors[1].contains("target.'cfg(unix)'.dependencies"),
            "{errors:?}"
        );
    }

    #[test]
    fn path_only_and_unpublished_dependencies_are_reported() {
        let mut members = good();
        members[3].1 = member(
            "top",
            "[dependencies]\nlib = { path = \"../lib\" }\nbench = { path = \"../../bench\", version = \"0.3.0\" }",
        );
        let errors = check_versions(&workspace(ROOT, &members)).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].contains("depends on lib by path only"),
            "{errors:?}"
        );
        assert!(errors[1].contains("publish = false"), "{errors:?}");
    }

    #[test]
    fn unpublished_crates_may_have_their_own_version() {
        let mut members = good();
        members[4].1 = "[package]\nname = \"bench\"\nversion = \"9.9.9\"\npublish = false\n".into();
        assert!(check_versions(&workspace(ROOT, &members)).is_ok());
    }

    #[test]
    fn changelog_headings() {
        let log = "# Changelog\n\nText about 0.3.0 outside a heading.\n\n## 0.3.0-rc.1\n\n\
                   ## [10.3.0]\n\n## [0.3.0] - 2025-06-01\n- things\n";
        assert_eq!(
            changelog_entry(log, "0.3.0"),
            Some("## [0.3.0] - 2025-06-01")
        );
        assert_eq!(
            changelog_entry("## v0.3.0 (unreleased)", "0.3.0"),
            Some("## v0.3.0 (unreleased)")
        );
        assert!(marked_unreleased("## v0.3.0 (Unreleased)"));
        assert_eq!(changelog_entry("## 0.3.0.1\n## 0.3.01", "0.3.0"), None);
        assert_eq!(changelog_entry("## 0.3.0.", "0.3.0"), Some("## 0.3.0."));
        assert_eq!(changelog_entry("## Unreleased\n0.3.0", "0.3.0"), None);
    }

    #[test]
    fn order_puts_dependencies_first() {
        let ws = workspace(ROOT, &good());
        assert_eq!(publish_order(&ws).unwrap(), ["sys", "macros", "lib", "top"]);
    }

    #[test]
    fn order_reports_cycles() {
        let mut members = good();
        members[0].1 = member("sys", "[dependencies]\ntop.workspace = true");
        let err = publish_order(&workspace(ROOT, &members)).unwrap_err();
        assert!(err.contains("cycle") && err.contains("sys"), "{err}");
    }

    const OURS: &str = "https://github.com/us/proj";

    fn order() -> Vec<String> {
        ["sys", "macros", "lib", "top"].map(String::from).to_vec()
    }

    #[test]
    fn plan_publishes_in_order_then_tags() {
        let registry: BTreeMap<String, RegistryState> = order()
            .into_iter()
            .map(|n| (n, RegistryState::Absent))
            .collect();
        let plan = publish_plan(&order(), "0.3.0", OURS, &registry).unwrap();
        assert_eq!(
            plan,
            [
                Action::Publish("sys".into()),
                Action::Publish("macros".into()),
                Action::Publish("lib".into()),
                Action::Publish("top".into()),
                Action::Tag("v0.3.0".into()),
            ]
        );
    }

    #[test]
    fn plan_resumes_after_our_own_published_crates() {
        let mut registry: BTreeMap<String, RegistryState> = order()
            .into_iter()
            .map(|n| {
                let state = RegistryState::NameOnly {
                    latest: "0.2.0".into(),
                    repository: Some(format!("{OURS}.git")),
                };
                (n, state)
            })
            .collect();
        registry.insert(
            "sys".into(),
            RegistryState::Published {
                repository: Some(OURS.into()),
            },
        );
        let plan = publish_plan(&order(), "0.3.0", OURS, &registry).unwrap();
        assert_eq!(plan[0], Action::AlreadyPublished("sys".into()));
        assert_eq!(plan[1], Action::Publish("macros".into()));
        assert_eq!(plan.last(), Some(&Action::Tag("v0.3.0".into())));
    }

    #[test]
    fn plan_refuses_names_and_versions_of_other_projects() {
        let mut registry: BTreeMap<String, RegistryState> = order()
            .into_iter()
            .map(|n| (n, RegistryState::Absent))
            .collect();
        registry.insert(
            "lib".into(),
            RegistryState::NameOnly {
                latest: "1.0.0".into(),
                repository: Some("https://github.com/someone/else".into()),
            },
        );
        let err = publish_plan(&order(), "0.3.0", OURS, &registry).unwrap_err();
        assert!(
            err.contains("lib") && err.contains("another project"),
            "{err}"
        );

        registry.insert(
            "lib".into(),
            RegistryState::Published {
                repository: Some("https://github.com/someone/else".into()),
            },
        );
        let err = publish_plan(&order(), "0.3.0", OURS, &registry).unwrap_err();
        assert!(err.contains("already on crates.io"), "{err}");
    }
}
