//! Starting the processes of a local distributed job, with the environment each backend reads
//! (what the `mlx-launch` binary does; Python MLX's `mlx.launch` for one machine).
//!
//! ```no_run
//! use mlx::distributed::Backend;
//! use mlx::distributed::launch::{LaunchOptions, launch};
//!
//! let command = ["target/release/examples/ddp".to_string()];
//! let status = launch(&command, &LaunchOptions::new(4, Backend::Ring))?;
//! assert!(status.success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every rank's output is forwarded line by line, prefixed with `[rank]`. When a rank fails (a
//! non-zero exit or a signal) the others are stopped and the job fails with that rank's
//! status. Jobs over several machines are started the same way on each machine, with the
//! environment written by hand: see the crate README.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::Backend;

/// How to launch a job.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The number of processes.
    pub processes: usize,
    /// The backend whose environment is set: [`Backend::Ring`] (loopback addresses with free
    /// ports) or [`Backend::Nccl`] (rank 0's address and port, and one GPU per process through
    /// `CUDA_VISIBLE_DEVICES`).
    pub backend: Backend,
    /// Extra environment variables for every rank.
    pub env: Vec<(String, String)>,
    /// Print the ring backend's connection log (`MLX_RING_VERBOSE=1`).
    pub verbose: bool,
}

impl LaunchOptions {
    /// `processes` ranks over `backend`.
    pub fn new(processes: usize, backend: Backend) -> Self {
        LaunchOptions {
            processes,
            backend,
            env: Vec::new(),
            verbose: false,
        }
    }
}

/// An error starting or running a job.
#[derive(Debug)]
pub struct LaunchError(pub String);

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LaunchError {}

/// `n` ports on 127.0.0.1 that were free a moment ago (the listeners are closed before the
/// ranks bind them).
fn free_ports(n: usize) -> Result<Vec<u16>, LaunchError> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| LaunchError(format!("finding free ports on 127.0.0.1: {e}")))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| LaunchError(format!("finding free ports: {e}")))
}

/// The environment of each rank.
pub fn rank_environments(
    options: &LaunchOptions,
    hostfile: Option<&std::path::Path>,
) -> Result<Vec<Vec<(String, String)>>, LaunchError> {
    let n = options.processes;
    let mut envs = Vec::with_capacity(n);
    let nccl_port = match options.backend {
        Backend::Nccl => Some(free_ports(1)?[0]),
        _ => None,
    };
    for rank in 0..n {
        let mut env = options.env.clone();
        env.push(("MLX_RANK".into(), rank.to_string()));
        match options.backend {
            Backend::Ring => {
                if let Some(path) = hostfile {
                    env.push(("MLX_HOSTFILE".into(), path.display().to_string()));
                }
                if options.verbose {
                    env.push(("MLX_RING_VERBOSE".into(), "1".into()));
                }
            }
            Backend::Nccl => {
                env.push(("MLX_WORLD_SIZE".into(), n.to_string()));
                env.push(("NCCL_HOST_IP".into(), "127.0.0.1".into()));
                env.push(("NCCL_PORT".into(), nccl_port.unwrap_or(0).to_string()));
                env.push(("CUDA_VISIBLE_DEVICES".into(), rank.to_string()));
            }
            other => {
                return Err(LaunchError(format!(
                    "the launcher starts ring and nccl jobs, not {}",
                    other.name()
                )));
            }
        }
        envs.push(env);
    }
    Ok(envs)
}

/// The ring hostfile of `n` local ranks: one loopback address with a free port each.
pub fn ring_hostfile(n: usize) -> Result<String, LaunchError> {
    let ports = free_ports(n)?;
    let entries: Vec<String> = ports
        .iter()
        .map(|p| format!("[\"127.0.0.1:{p}\"]"))
        .collect();
    Ok(format!("[{}]", entries.join(", ")))
}

/// Runs `command` (program and arguments) as `options.processes` ranks and waits for them all;
/// returns the first failing rank's status, or success.
pub fn launch(command: &[String], options: &LaunchOptions) -> Result<ExitStatus, LaunchError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| LaunchError("no command to launch".into()))?;
    if options.processes == 0 {
        return Err(LaunchError("a job needs at least one process".into()));
    }
    let hostfile = match options.backend {
        Backend::Ring if options.processes > 1 => Some(HostFile::write(options.processes)?),
        _ => None,
    };
    let envs = rank_environments(options, hostfile.as_ref().map(|h| h.0.as_path()))?;
    let (lines, output) = mpsc::channel::<(usize, bool, String)>();
    let mut children: Vec<Child> = Vec::new();
    let mut readers = Vec::new();
    for (rank, env) in envs.into_iter().enumerate() {
        let spawned = Command::new(program)
            .args(args)
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                stop(&mut children);
                return Err(LaunchError(format!(
                    "starting rank {rank} ({program}): {e}"
                )));
            }
        };
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        readers.push(forward(rank, false, out, lines.clone()));
        readers.push(forward(rank, true, err, lines.clone()));
        children.push(child);
    }
    drop(lines);
    let printer = thread::spawn(move || {
        for (rank, is_err, line) in output {
            if is_err {
                let _ = writeln!(std::io::stderr(), "[{rank}] {line}");
            } else {
                let _ = writeln!(std::io::stdout(), "[{rank}] {line}");
            }
        }
    });
    let status = supervise(&mut children);
    for r in readers {
        let _ = r.join();
    }
    let _ = printer.join();
    drop(hostfile);
    status
}

/// Waits for every rank; on the first failure stops the others and returns its status.
fn supervise(children: &mut [Child]) -> Result<ExitStatus, LaunchError> {
    let mut done: Vec<Option<ExitStatus>> = vec![None; children.len()];
    loop {
        for (rank, child) in children.iter_mut().enumerate() {
            if done[rank].is_some() {
                continue;
            }
            let status = child
                .try_wait()
                .map_err(|e| LaunchError(format!("waiting for rank {rank}: {e}")))?;
            if let Some(status) = status {
                done[rank] = Some(status);
                if !status.success() {
                    eprintln!("[launch] rank {rank} failed ({status}); stopping the others");
                    stop(children);
                    return Ok(status);
                }
            }
        }
        if let Some(status) = done.iter().all(Option::is_some).then(|| done[0]).flatten() {
            return Ok(status);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn stop(children: &mut [Child]) {
    for c in children.iter_mut() {
        let _ = c.kill();
    }
    for c in children.iter_mut() {
        let _ = c.wait();
    }
}

fn forward(
    rank: usize,
    is_err: bool,
    stream: impl Read + Send + 'static,
    lines: mpsc::Sender<(usize, bool, String)>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(l) => {
                    if lines.send((rank, is_err, l)).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    })
}

/// A ring hostfile in the temporary folder, removed when dropped.
struct HostFile(PathBuf);

impl HostFile {
    fn write(n: usize) -> Result<HostFile, LaunchError> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "mlx-hostfile-{}-{}.json",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, ring_hostfile(n)?)
            .map_err(|e| LaunchError(format!("writing {}: {e}", path.display())))?;
        Ok(HostFile(path))
    }
}

impl Drop for HostFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
