//! `cargo xtask release [--execute] [--allow-dirty]`: checks a release end to end, and with
//! `--execute` publishes it.
//!
//! Steps, each printed with its outcome; the first failing step stops the run:
//!
//! 1. **versions**: the workspace version, every publishable crate's version and every
//!    requirement on a publishable member (in `[workspace.dependencies]` and in the crates' own
//!    tables) agree. Crates with `publish = false` are skipped.
//! 2. **changelogs**: each publishable crate's `CHANGELOG.md` has a heading naming the version.
//! 3. **git**: the working tree is clean (unless `--allow-dirty`: `cargo package` packages what
//!    git has) and the tag `v<version>` does not exist yet.
//! 4. **package**: one `cargo package -p …` of all publishable crates, which cargo (≥ 1.90)
//!    packages in dependency order and verifies against each other through a local registry
//!    overlay, so a crate needing a not-yet-published sibling still verifies. It runs in its own
//!    target folder (`target/release-check/package-target`), from which, as from cargo's
//!    unpacked-source cache, this version's copies of the crates are removed first: cargo takes
//!    registry crates as immutable and would verify against an earlier run's.
//! 5. **packaged crates build and test**: the `.crate` files are unpacked into a scratch
//!    workspace (`target/release-check/workspace`, whose `[patch.crates-io]` points the
//!    internal dependencies at the unpacked copies), then `cargo build`, `cargo test --lib` and
//!    the `mlx` doc tests run there, so a file missing from a package fails here; the build must
//!    not modify the unpacked sources. Its target folder, `target/release-check/target`, is kept
//!    between runs.
//! 6. **crates.io**: what the index says of each name and version (a version already there, or
//!    a name held by another project, fails), then `cargo publish --dry-run --no-verify` (step 5
//!    built the same files). A crate whose members are not on crates.io yet is reported as
//!    skipped, as is an index that cannot be reached: neither counts as a pass.
//! 7. With `--execute` only, after steps 1–6 passed (with a clean tree and a dated changelog
//!    entry): `cargo publish -p <crate>` in dependency order, waiting until the index shows each
//!    version before the next, then `git tag -a v<version>` (not pushed).
//!
//! Each command's output goes to `target/release-check/logs/`; a failure prints its tail.

mod manifest;
mod packaged;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use manifest::{Action, RegistryState, Workspace};

use crate::root;

/// Steps of a dry run (`--execute` adds a seventh).
const STEPS: usize = 6;

pub fn run(args: &[String]) -> Result<(), String> {
    let mut execute = false;
    let mut allow_dirty = false;
    for a in args {
        match a.as_str() {
            "--execute" => execute = true,
            "--allow-dirty" => allow_dirty = true,
            "-h" | "--help" => {
                println!("usage: cargo xtask release [--execute] [--allow-dirty]");
                return Ok(());
            }
            other => return Err(format!("release: unknown argument `{other}`")),
        }
    }
    if execute && allow_dirty {
        return Err("release: --execute publishes only a clean, committed tree".into());
    }
    let started = Instant::now();
    let mut r = Release::new(allow_dirty)?;
    println!(
        "release {} of {} ({})",
        r.version,
        r.order.join(", "),
        if execute { "EXECUTE" } else { "dry run" }
    );
    let result = r
        .check(execute)
        .and_then(|()| if execute { r.execute() } else { Ok(()) });
    let secs = started.elapsed().as_secs_f64();
    match result {
        Ok(()) => {
            if execute {
                println!("released {} in {secs:.0}s", r.version);
            } else {
                println!(
                    "dry run passed in {secs:.0}s{}",
                    if r.skips.is_empty() {
                        String::new()
                    } else {
                        format!(" (skipped: {})", r.skips.join("; "))
                    }
                );
            }
            Ok(())
        }
        Err(e) => Err(format!("release stopped after {secs:.0}s: {e}")),
    }
}

struct Release {
    root: PathBuf,
    target: PathBuf,
    logs: PathBuf,
    ws: Workspace,
    /// The version being released (step 1 fills it; the first publishable crate's until then).
    version: String,
    order: Vec<String>,
    repository: String,
    allow_dirty: bool,
    /// What step 6 learned of each crate on crates.io.
    registry: BTreeMap<String, RegistryState>,
    /// Step 6's skips, for the summary (and for --execute, which accepts only some).
    skips: Vec<String>,
    /// Changelog headings still marked unreleased.
    undated: Vec<String>,
}

impl Release {
    fn new(allow_dirty: bool) -> Result<Self, String> {
        let root = root();
        let ws = manifest::load(&root)?;
        let order = manifest::publish_order(&ws)?;
        let version = ws
            .version
            .clone()
            .or_else(|| ws.publishable().find_map(|c| c.version.clone()))
            .unwrap_or_default();
        let target = match std::env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => root.join(dir),
            None => root.join("target"),
        };
        let logs = target.join("release-check/logs");
        fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
        let repository = workspace_repository(&root)?;
        Ok(Release {
            root,
            target,
            logs,
            ws,
            version,
            order,
            repository,
            allow_dirty,
            registry: BTreeMap::new(),
            skips: Vec::new(),
            undated: Vec::new(),
        })
    }

    /// Steps 1 to 6.
    fn check(&mut self, execute: bool) -> Result<(), String> {
        step(1, "versions agree", || self.versions())?;
        step(2, "changelog entries", || self.changelogs())?;
        step(3, "git state", || self.git())?;
        step(4, "cargo package", || self.package())?;
        step(5, "packaged crates build and test", || {
            self.build_packaged()
        })?;
        step(6, "crates.io", || self.registry_checks())?;
        if execute {
            if !self.undated.is_empty() {
                return Err(format!(
                    "changelog entries still marked unreleased: {}",
                    self.undated.join(", ")
                ));
            }
            let blocking: Vec<&String> = self
                .skips
                .iter()
                .filter(|s| !s.contains("depends on unpublished"))
                .collect();
            if !blocking.is_empty() {
                return Err(format!(
                    "step 6 could not check everything, so nothing is published: {blocking:?}"
                ));
            }
        }
        Ok(())
    }

    fn versions(&mut self) -> Result<String, String> {
        let version = manifest::check_versions(&self.ws)
            .map_err(|problems| format!("versions disagree:\n    {}", problems.join("\n    ")))?;
        self.version = version;
        let skipped: Vec<&str> = self
            .ws
            .crates
            .iter()
            .filter(|c| !c.publish)
            .map(|c| c.name.as_str())
            .collect();
        let reqs = self
            .ws
            .crates
            .iter()
            .flat_map(|c| &c.internal_deps)
            .filter(|d| d.version.is_some())
            .count();
        Ok(format!(
            "{} for {} and {reqs} requirements on them; publish = false, skipped: {}",
            self.version,
            self.order.join(", "),
            skipped.join(", ")
        ))
    }

    fn changelogs(&mut self) -> Result<String, String> {
        let mut missing = Vec::new();
        let mut found = Vec::new();
        for name in &self.order {
            let dir = &self.ws.get(name).unwrap().dir;
            let path = self.root.join(dir).join("CHANGELOG.md");
            let rel = format!("{dir}/CHANGELOG.md");
            match fs::read_to_string(&path) {
                Err(_) => missing.push(format!("{rel} is missing")),
                Ok(text) => match manifest::changelog_entry(&text, &self.version) {
                    None => missing.push(format!("{rel} has no heading naming {}", self.version)),
                    Some(heading) => {
                        if manifest::marked_unreleased(heading) {
                            self.undated.push(format!("{rel} `{heading}`"));
                        }
                        found.push(format!("{name}: `{heading}`"));
                    }
                },
            }
        }
        if !missing.is_empty() {
            return Err(missing.join("; "));
        }
        let mut out = found.join(", ");
        if !self.undated.is_empty() {
            out.push_str("\n    note: still marked unreleased; date the entries before --execute");
        }
        Ok(out)
    }

    fn git(&mut self) -> Result<String, String> {
        let status = capture(
            Command::new("git")
                .args(["status", "--porcelain"])
                .current_dir(&self.root),
        )?;
        let tag = format!("v{}", self.version);
        let tags = capture(
            Command::new("git")
                .args(["tag", "--list", &tag])
                .current_dir(&self.root),
        )?;
        if !tags.trim().is_empty() {
            return Err(format!(
                "tag {tag} exists already: this version was released"
            ));
        }
        let dirty = status.lines().count();
        if dirty == 0 {
            Ok(format!("clean; tag {tag} is free"))
        } else if self.allow_dirty {
            Ok(format!(
                "{dirty} uncommitted paths, allowed by --allow-dirty; tag {tag} is free"
            ))
        } else {
            Err(format!(
                "the working tree has {dirty} uncommitted paths (commit them, or pass \
                 --allow-dirty for a dry run):\n{status}"
            ))
        }
    }

    /// Step 6: the index's view of each crate, then `cargo publish --dry-run`.
    fn registry_checks(&mut self) -> Result<String, String> {
        let mut lines = Vec::new();
        let mut failures = 0;
        for name in self.order.clone() {
            let state = match lookup(&name, &self.version) {
                Ok(s) => s,
                Err(reason) => {
                    let skip = format!("{name}: crates.io index not reachable ({reason})");
                    lines.push(format!("skipped: {skip}"));
                    self.skips.push(skip);
                    continue;
                }
            };
            let mut verdicts = Vec::new();
            match &state {
                RegistryState::Absent => verdicts.push("name free".to_string()),
                RegistryState::NameOnly { latest, repository } => match repository {
                    Some(r) if !manifest::same_repository(r, &self.repository) => {
                        failures += 1;
                        verdicts.push(format!(
                            "FAILED: {}",
                            manifest::foreign_name(&name, latest, r)
                        ))
                    }
                    Some(_) => verdicts.push(format!("ours, latest {latest}")),
                    None => verdicts.push(format!(
                        "name exists (latest {latest}; no repository shown to tell whose)"
                    )),
                },
                RegistryState::Published { repository } => match repository {
                    Some(r) if manifest::same_repository(r, &self.repository) => verdicts.push(
                        format!("{} already published: --execute skips it", self.version),
                    ),
                    r => {
                        failures += 1;
                        verdicts.push(format!(
                            "FAILED: {name} {} is already on crates.io{}",
                            self.version,
                            r.as_ref()
                                .map(|r| format!(" (from {r})"))
                                .unwrap_or_default()
                        ))
                    }
                },
            }
            self.registry.insert(name.clone(), state);
            // Members it needs from the registry that the registry does not have from us yet.
            let unpublished: Vec<String> = self
                .ws
                .get(&name)
                .unwrap()
                .internal_deps
                .iter()
                .filter(|d| d.kind != manifest::DepKind::Dev || d.version.is_some())
                .filter(|d| d.name != name && self.order.contains(&d.name))
                .filter(|d| {
                    !matches!(self.registry.get(&d.name),
                        Some(RegistryState::Published { repository: Some(r) })
                            if manifest::same_repository(r, &self.repository))
                })
                .map(|d| d.name.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let skipped = if !unpublished.is_empty() {
                Some(format!("depends on unpublished {}", unpublished.join(", ")))
            } else {
                let mut args: Vec<String> = ["publish", "--dry-run", "--no-verify", "-p", &name]
                    .map(String::from)
                    .to_vec();
                if self.allow_dirty {
                    args.push("--allow-dirty".into());
                }
                let log = format!("6-publish-dry-run-{name}");
                match self.cargo_logged(&log, &self.root, &args, &[]) {
                    Ok(out) => {
                        // Cargo's own warnings (a version already in the index, say).
                        let warnings: Vec<&str> = out
                            .lines()
                            .filter_map(|l| l.strip_prefix("warning: "))
                            .filter(|w| !w.contains("due to dry run"))
                            .collect();
                        verdicts.push(if warnings.is_empty() {
                            "publish --dry-run ok".to_string()
                        } else {
                            format!("publish --dry-run ok, warning: {}", warnings.join("; "))
                        });
                        None
                    }
                    Err(e) if is_network_error(&e) => Some("the index could not be reached".into()),
                    Err(e) => {
                        failures += 1;
                        verdicts.push(format!("FAILED: publish --dry-run: {e}"));
                        None
                    }
                }
            };
            if let Some(reason) = skipped {
                verdicts.push(format!("publish --dry-run skipped: {reason}"));
                self.skips
                    .push(format!("{name}: publish --dry-run skipped: {reason}"));
            }
            lines.push(format!("{name}: {}", verdicts.join("; ")));
        }
        let report = lines.join("\n    ");
        if failures > 0 {
            Err(format!(
                "crates.io would not take this release:\n    {report}"
            ))
        } else {
            Ok(format!("\n    {report}"))
        }
    }

    /// Step 7: publish in order, waiting for each, then tag.
    fn execute(&mut self) -> Result<(), String> {
        let plan =
            manifest::publish_plan(&self.order, &self.version, &self.repository, &self.registry)?;
        println!("[7] publish: {plan:?}");
        for action in plan {
            match action {
                Action::AlreadyPublished(name) => {
                    println!("    {name} {}: already on crates.io, skipped", self.version)
                }
                Action::Publish(name) => {
                    let t = Instant::now();
                    println!("    cargo publish -p {name} …");
                    let args = ["publish", "-p", &name].map(String::from);
                    self.cargo_logged(&format!("7-publish-{name}"), &self.root, &args, &[])?;
                    wait_until_published(&name, &self.version)?;
                    println!(
                        "    {name} {} published and visible ({:.0}s)",
                        self.version,
                        t.elapsed().as_secs_f64()
                    );
                }
                Action::Tag(tag) => {
                    run_quiet(
                        Command::new("git")
                            .args(["tag", "-a", &tag, "-m"])
                            .arg(format!("Release {}", self.version))
                            .current_dir(&self.root),
                    )?;
                    println!("    tagged {tag}; push it with `git push origin {tag}`");
                }
            }
        }
        Ok(())
    }

    /// Runs cargo with its output in a log file; on failure, the error carries the log's tail.
    /// Returns the output.
    fn cargo_logged(
        &self,
        log: &str,
        dir: &Path,
        args: &[String],
        env: &[(&str, PathBuf)],
    ) -> Result<String, String> {
        let path = self.logs.join(format!("{log}.log"));
        let file = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let shown = path.strip_prefix(&self.root).unwrap_or(&path);
        println!("    cargo {} (log: {})", args.join(" "), shown.display());
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(cargo_exe());
        cmd.args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        let out = fs::read_to_string(&path).unwrap_or_default();
        if status.success() {
            Ok(out)
        } else {
            let tail: Vec<&str> = out.lines().rev().take(25).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(format!(
                "`cargo {}` failed (log: {}):\n{}",
                args.join(" "),
                path.display(),
                tail.join("\n")
            ))
        }
    }
}

/// Runs a step, printing its title, outcome and duration.
fn step(n: usize, title: &str, f: impl FnOnce() -> Result<String, String>) -> Result<(), String> {
    println!("[{n}/{STEPS}] {title} …");
    let t = Instant::now();
    let result = f();
    let secs = t.elapsed().as_secs_f64();
    match result {
        Ok(detail) => {
            println!("    ok ({secs:.1}s): {detail}");
            Ok(())
        }
        Err(e) => {
            println!("    FAILED ({secs:.1}s)");
            Err(format!("step {n} ({title}) failed: {e}"))
        }
    }
}

fn cargo_exe() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn capture(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    if !out.status.success() {
        return Err(format!(
            "{:?} failed: {}",
            cmd.get_program(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run_quiet(cmd: &mut Command) -> Result<(), String> {
    capture(cmd).map(|_| ())
}

/// `[workspace.package] repository`, which each published crate inherits.
fn workspace_repository(root: &Path) -> Result<String, String> {
    let text = fs::read_to_string(root.join("Cargo.toml")).map_err(|e| e.to_string())?;
    let t: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
    t.get("workspace")
        .and_then(|w| w.get("package"))
        .and_then(|p| p.get("repository"))
        .and_then(|r| r.as_str())
        .map(String::from)
        .ok_or_else(|| "[workspace.package] has no repository".into())
}

/// What the crates.io index says of `name` and `version`, through `cargo info` (run outside the
/// workspace, so that it looks at the registry and not at the local package). `Err`: the index
/// could not be asked.
fn lookup(name: &str, version: &str) -> Result<RegistryState, String> {
    let info = |spec: &str| -> Result<Option<(String, Option<String>, String)>, String> {
        let out = Command::new(cargo_exe())
            .args(["info", "--registry", "crates-io", spec])
            .current_dir(std::env::temp_dir())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run cargo info: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if stderr.contains("could not find") {
                return Ok(None);
            }
            let last = stderr.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
            return Err(last.trim().to_string());
        }
        let field = |key: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
        };
        // `version: 0.1.0 (latest 0.7.0)` or `version: 0.1.2`.
        let version_line = field("version:").ok_or("cargo info printed no version")?;
        let shown = version_line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        let latest = version_line
            .split("(latest ")
            .nth(1)
            .map(|s| s.trim_end_matches(')').to_string())
            .unwrap_or_else(|| shown.clone());
        Ok(Some((shown, field("repository:"), latest)))
    };
    let Some((_, repository, latest)) = info(name)? else {
        return Ok(RegistryState::Absent);
    };
    match info(&format!("{name}@{version}"))? {
        Some((shown, repository, _)) if shown == version => {
            Ok(RegistryState::Published { repository })
        }
        _ => Ok(RegistryState::NameOnly { latest, repository }),
    }
}

/// Polls the index until it shows `name` `version` (cargo publish waits too, but only a minute).
fn wait_until_published(name: &str, version: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Ok(RegistryState::Published { .. }) = lookup(name, version) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{name} {version} was published but the index does not show it after 10 \
                 minutes; rerun `cargo xtask release --execute` later (it skips published crates)"
            ));
        }
        std::thread::sleep(Duration::from_secs(15));
    }
}

fn is_network_error(message: &str) -> bool {
    [
        "failed to query replaced source",
        "failed to get successful HTTP response",
        "Couldn't resolve host",
        "failed to download",
        "network failure",
        "spurious network error",
        "failed to update registry",
        "Could not resolve host",
        "timed out",
    ]
    .iter()
    .any(|m| message.contains(m))
}
