//! `mlx-launch -n N [--backend ring|nccl] [--verbose] [--env KEY=VALUE]... -- COMMAND [ARGS]...`
//!
//! Starts N processes of a distributed MLX job on this machine with the environment the backend
//! reads (see `mlx::distributed`), forwards their output prefixed with the rank, and stops them
//! all when one fails; exits with the failing rank's status.

use mlx::distributed::Backend;
use mlx::distributed::launch::{LaunchOptions, launch};

const USAGE: &str = "usage: mlx-launch -n N [--backend ring|nccl] [--verbose] \
                     [--env KEY=VALUE]... -- COMMAND [ARGS]...";

fn parse(args: &[String]) -> Result<(LaunchOptions, Vec<String>), String> {
    let mut options = LaunchOptions::new(0, Backend::Ring);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "-n" | "--processes" => {
                options.processes = value("-n")?.parse().map_err(|e| format!("-n: {e}"))?
            }
            "--backend" => {
                options.backend = value("--backend")?
                    .parse()
                    .map_err(|e: mlx::Error| e.to_string())?
            }
            "--env" => {
                let kv = value("--env")?;
                let (k, v) = kv
                    .split_once('=')
                    .ok_or(format!("--env {kv}: expected KEY=VALUE"))?;
                options.env.push((k.to_string(), v.to_string()));
            }
            "--verbose" => options.verbose = true,
            "-h" | "--help" => return Err(USAGE.into()),
            "--" => return Ok((options, it.cloned().collect())),
            other => return Err(format!("unexpected argument `{other}`\n{USAGE}")),
        }
    }
    Err(format!("no command (give it after `--`)\n{USAGE}"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (options, command) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    match launch(&command, &options) {
        Ok(status) if status.success() => {}
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => {
            eprintln!("mlx-launch: {e}");
            std::process::exit(1);
        }
    }
}
