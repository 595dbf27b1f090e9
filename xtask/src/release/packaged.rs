//! Steps 4 and 5 of the release check: `cargo package` and the build and tests of the
//! packaged crates in a scratch workspace.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use super::{Release, run_quiet};

impl Release {
    /// Step 4. Cargo verifies each crate against its packaged siblings through a local registry
    /// in the target folder, and takes what comes from a registry as immutable: a sibling
    /// unpacked (under `$CARGO_HOME/registry/src/`) or compiled by an earlier run at the same
    /// version would be used again although its files changed. So packaging gets a target
    /// folder of its own, and both leftovers of earlier runs are removed first.
    pub(super) fn package(&mut self) -> Result<String, String> {
        let target = self.package_target();
        self.forget_earlier_packages(&target)?;
        let mut args = self.on_released_crates("package", &target);
        if self.allow_dirty {
            args.push("--allow-dirty".into());
        }
        self.cargo_logged("4-package", &self.root, &args, &[])?;
        let mut sizes = Vec::new();
        for name in &self.order {
            let file = self.crate_file(name);
            let len = fs::metadata(&file)
                .map_err(|_| format!("cargo package did not write {}", file.display()))?
                .len();
            sizes.push(format!("{name} {} KiB", len.div_ceil(1024)));
        }
        Ok(format!(
            "packaged and verified in dependency order: {}",
            sizes.join(", ")
        ))
    }

    /// `cargo <subcommand> --target-dir <target> -p <crate> …` over the publishable crates.
    fn on_released_crates(&self, subcommand: &str, target: &Path) -> Vec<String> {
        let mut args = vec![
            subcommand.to_string(),
            "--target-dir".into(),
            target.display().to_string(),
        ];
        for name in &self.order {
            args.extend(["-p".into(), name.clone()]);
        }
        args
    }

    /// `cargo package`'s target folder (kept between runs: the dependencies stay compiled).
    fn package_target(&self) -> PathBuf {
        self.target.join("release-check/package-target")
    }

    /// Removes this version's compiled and unpacked copies of the packaged crates.
    fn forget_earlier_packages(&self, target: &Path) -> Result<(), String> {
        if target.exists() {
            let args = self.on_released_crates("clean", target);
            self.cargo_logged("4-clean", &self.root, &args, &[])?;
        }
        remove_unpacked_copies(
            &cargo_home().join("registry/src"),
            &self.order,
            &self.version,
        )?;
        Ok(())
    }

    fn crate_file(&self, name: &str) -> PathBuf {
        self.package_target()
            .join("package")
            .join(format!("{name}-{}.crate", self.version))
    }

    /// Step 5: unpack the `.crate` files into a scratch workspace, then build and test there.
    pub(super) fn build_packaged(&mut self) -> Result<String, String> {
        let check = self.target.join("release-check");
        let ws_dir = check.join("workspace");
        let cache = check.join("crates");
        for dir in [&ws_dir, &cache] {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut members = Vec::new();
        let mut unpacked = 0;
        for name in &self.order {
            let dir_name = format!("{name}-{}", self.version);
            let file = self.crate_file(name);
            let bytes = fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let kept = cache.join(format!("{dir_name}.crate"));
            let dest = ws_dir.join(&dir_name);
            // Unpack again only when the package changed: fresh files would rebuild mlx-sys.
            if !dest.join("Cargo.toml").exists() || fs::read(&kept).ok().as_ref() != Some(&bytes) {
                let _ = fs::remove_dir_all(&dest);
                let _ = fs::remove_file(&kept);
                // `-m`: the files get the time of unpacking, not the package's fixed one, so
                // cargo sees them as newer than an earlier build of this folder.
                run_quiet(
                    Command::new("tar")
                        .arg("-xmzf")
                        .arg(&file)
                        .arg("-C")
                        .arg(&ws_dir),
                )?;
                fs::write(&kept, &bytes).map_err(|e| format!("{}: {e}", kept.display()))?;
                unpacked += 1;
            }
            members.push((name.clone(), dir_name));
        }
        fs::write(ws_dir.join("Cargo.toml"), self.scratch_manifest(&members)?)
            .map_err(|e| format!("cannot write the scratch Cargo.toml: {e}"))?;
        // The workspace's lock file: the same dependency versions as the tests in the tree.
        fs::copy(self.root.join("Cargo.lock"), ws_dir.join("Cargo.lock"))
            .map_err(|e| format!("cannot copy Cargo.lock: {e}"))?;

        let before = snapshot(&ws_dir, &members);
        let env = [("CARGO_TARGET_DIR", check.join("target"))];
        let cmds: [(&str, &[&str]); 3] = [
            ("5-build", &["build", "--workspace"]),
            ("5-test-lib", &["test", "--workspace", "--lib"]),
            ("5-test-doc-mlx", &["test", "-p", "mlx-array", "--doc"]),
        ];
        let mut done = Vec::new();
        for (log, args) in cmds {
            let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            let t = Instant::now();
            let out = self.cargo_logged(log, &ws_dir, &args, &env)?;
            let tests = test_summary(&out);
            done.push(format!(
                "`cargo {}` {:.0}s{tests}",
                args.join(" "),
                t.elapsed().as_secs_f64()
            ));
        }
        let after = snapshot(&ws_dir, &members);
        if before != after {
            let changed: Vec<&String> = before
                .keys()
                .chain(after.keys())
                .filter(|k| before.get(*k) != after.get(*k))
                .take(10)
                .collect();
            for (_, dir) in &members {
                let _ = fs::remove_file(cache.join(format!("{dir}.crate")));
            }
            return Err(format!(
                "building modified the packaged sources (cargo publish would refuse): {changed:?}"
            ));
        }
        Ok(format!(
            "{} ({unpacked} of {} unpacked anew)\n    {}",
            ws_dir.display(),
            members.len(),
            done.join("\n    ")
        ))
    }

    /// The scratch workspace: the unpacked crates as members, each internal dependency patched
    /// to its unpacked copy, and the root manifest's profiles.
    fn scratch_manifest(&self, members: &[(String, String)]) -> Result<String, String> {
        let mut text = String::from(
            "# Written by `cargo xtask release`: the packaged crates, unpacked, as one workspace.\n\
             [workspace]\nresolver = \"3\"\nmembers = [",
        );
        let quoted: Vec<String> = members.iter().map(|(_, d)| format!("\"{d}\"")).collect();
        text.push_str(&quoted.join(", "));
        text.push_str("]\n\n[patch.crates-io]\n");
        for (name, dir) in members {
            text.push_str(&format!("{name} = {{ path = \"{dir}\" }}\n"));
        }
        let root_manifest: toml::Table = fs::read_to_string(self.root.join("Cargo.toml"))
            .map_err(|e| e.to_string())?
            .parse()
            .map_err(|e| format!("{e}"))?;
        if let Some(profile) = root_manifest.get("profile") {
            let mut t = toml::Table::new();
            t.insert("profile".into(), profile.clone());
            text.push('\n');
            text.push_str(&toml::to_string(&t).map_err(|e| e.to_string())?);
        }
        Ok(text)
    }
}

/// ` (N passed)` from cargo test's output, summed over its test binaries.
fn test_summary(out: &str) -> String {
    let mut passed = 0;
    let mut seen = false;
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("test result: ok. ") {
            seen = true;
            passed += rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    if seen {
        format!(" ({passed} tests passed)")
    } else {
        String::new()
    }
}

/// Size and modification time of every file in the unpacked crates.
fn snapshot(
    ws_dir: &Path,
    members: &[(String, String)],
) -> BTreeMap<String, (u64, Option<SystemTime>)> {
    fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, (u64, Option<SystemTime>)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                walk(&path, base, out);
            } else {
                let key = path
                    .strip_prefix(base)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                out.insert(key, (meta.len(), meta.modified().ok()));
            }
        }
    }
    let mut out = BTreeMap::new();
    for (_, dir) in members {
        walk(&ws_dir.join(dir), ws_dir, &mut out);
    }
    out
}

/// Cargo's home folder: `$CARGO_HOME`, else `~/.cargo`.
fn cargo_home() -> PathBuf {
    match std::env::var_os("CARGO_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"),
    }
}

/// Removes `<name>-<version>` of each of `names` from the local registries' folders under
/// `unpacked` (cargo's `registry/src`), returning how many it removed.
fn remove_unpacked_copies(
    unpacked: &Path,
    names: &[String],
    version: &str,
) -> Result<usize, String> {
    let mut removed = 0;
    for registry in fs::read_dir(unpacked).into_iter().flatten().flatten() {
        // A local registry's folder is `-<hash>` (a file URL has no host); those of real
        // registries (`index.crates.io-<hash>`) are left alone.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for name in names {
            let dir = registry.path().join(format!("{name}-{version}"));
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_registries_copies_of_this_version_are_removed() {
        let root = std::env::temp_dir().join(format!("xtask-unpacked-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let dirs = [
            "-1a2b/mlx-array-0.1.0",     // a local registry, this version: removed
            "-1a2b/mlx-array-0.0.9",     // another version: kept
            "-3c4d/mlx-array-sys-0.1.0", // a second local registry: removed
            "-3c4d/serde-1.0.0",         // not one of ours: kept
            "index.crates.io-5e6f/mlx-array-0.1.0", // crates.io's: kept
        ];
        for d in dirs {
            fs::create_dir_all(root.join(d).join("src")).unwrap();
        }
        let names = ["mlx-array".to_string(), "mlx-array-sys".to_string()];
        assert_eq!(remove_unpacked_copies(&root, &names, "0.1.0"), Ok(2));
        let left: Vec<bool> = dirs.iter().map(|d| root.join(d).exists()).collect();
        assert_eq!(left, [false, true, false, true, true]);
        // Nothing left to remove; a missing folder is not an error either.
        assert_eq!(remove_unpacked_copies(&root, &names, "0.1.0"), Ok(0));
        assert_eq!(
            remove_unpacked_copies(&root.join("none"), &names, "0.1.0"),
            Ok(0)
        );
        fs::remove_dir_all(&root).unwrap();
    }
}
